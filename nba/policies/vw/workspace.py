"""The Vowpal Wabbit workspace a policy owns, and the parsed examples kept with it.

:class:`Runtime` is what lives and dies with one workspace: the shared example
refilled for each decision, each action space's parsed examples, the
context columns' feature ids. :class:`WorkspaceOwner` opens it on first use
from the policy's flags, serialises every use with a lock, finishes it on
``close``/``reset`` and saves and reloads it.
"""

from __future__ import annotations

import json
import shlex
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import vowpalwabbit
from vowpalwabbit import Example, LabelType, PredictionType, Workspace

from nba.catalog import ActionSpace
from nba.features.context import Context
from nba.policies.base import Policy
from nba.policies.vw.examples import (
    ACTION_NS,
    CONTEXT_NS,
    ActionExamples,
    ContextHashes,
    action_lines,
    context_names,
)
from nba.policies.vw.flags import VWFlags

__all__ = ["MODEL_FILE", "STATE_FILE", "Runtime", "WorkspaceOwner"]

#: Model and state file names written by :meth:`VWPolicy.save`.
MODEL_FILE = "model.vw"
STATE_FILE = "vw_state.json"

#: Distinct action spaces whose parsed examples are kept.
_MAX_SPACES = 4
#: Labelled (chosen-action) examples kept for reuse per action space; VW allocates
#: ~32 kB per example, so this bounds the cache to ~8 MB.
_MAX_LABELLED = 256
#: Labels remembered per action space to tell which ones come back.
_MAX_SEEN = 8192
#: VW's reduction stacks (``Workspace.get_enabled_learners()``, bottom first) whose
#: update from a multi-line example reads only the shared example, the labelled
#: example, its position and the *number* of action examples; with ``--cb_type
#: mtr`` the other actions' examples may then be featureless placeholders (see
#: :meth:`Runtime.open`). ``cover`` is not here: it trains its cover policies on
#: every action.
_PLACEHOLDER_STACKS = frozenset(
    (
        "gd",
        "scorer-identity",
        "csoaa_ldf-rank",
        "cb_adf",
        f"cb_explore_adf_{name}",
        "shared_feature_merger",
    )
    for name in ("greedy", "squarecb", "softmax", "bag")
)
_CONTEXT_ORD = ord(CONTEXT_NS)
#: Guards the lazy creation of each policy's own lock.
_CREATE_LOCK = threading.Lock()


@dataclass
class Runtime:
    """What lives and dies with one VW workspace.

    The hot path calls the methods that ``vowpalwabbit.Workspace`` and
    ``vowpalwabbit.Example`` inherit from VW's native binding
    (``predict_multi``, ``learn_multi``, ``push_feature_list``, …) rather than
    the pure-Python conveniences layered over them, which re-check types and
    rebuild lookup tables on every call (several µs per decision).
    """

    workspace: Workspace
    label_type: LabelType
    shared: Example
    context_hash: int
    #: Whether learning may replace the unchosen actions' examples by placeholders.
    placeholders_exact: bool = False
    #: Whether VW learns from probability 1 whatever the label says, on every
    #: labelled example but the last of a multi-line example (SquareCB: see
    #: :meth:`VWPolicy._learn`); ``None`` until the first such update shows it.
    unit_probability: bool | None = False
    spaces: dict[tuple[Any, ...], ActionExamples] = field(default_factory=dict)
    last_space: ActionExamples | None = None
    hashes: ContextHashes | None = None
    placeholders: list[Example] = field(default_factory=list)
    templates: dict[int, list[Example]] = field(default_factory=dict)
    set_shared: Callable[[list[tuple[int, float]]], None] = field(init=False, repr=False)

    @classmethod
    def open(cls, ws: Workspace) -> Runtime:
        """Wrap ``ws``, and find out how it may be fed when learning.

        Placeholders are exact when VW's reduction stack is one of
        ``_PLACEHOLDER_STACKS`` with ``--cb_type mtr`` (importance-weighted
        regression, "IWR" in Bietti et al. 2021): ``cb_adf`` then updates
        from the shared and the labelled example only, weighted by
        ``1/p * event_sum/action_sum`` where ``action_sum`` counts every
        action example seen; ``greedy`` (ε), ``softmax`` and ``bag`` add
        nothing that depends on the other actions (bag draws one Poisson
        count per replicate), and ``squarecb`` only its example counter and
        the probability it writes into labels. Anything else (``cover``,
        ``--cb_type dr``/``ips``, further reductions from ``extra_flags``)
        learns from every action and gets the full examples.
        """
        label_type = ws.get_label_type()
        shared = Example(ws, None, label_type)
        shared.set_label_string("shared")
        shared.ensure_namespace_exists(CONTEXT_NS)
        shared.setup_example()
        args = ws.get_arguments().split()
        cb_type = args[args.index("--cb_type") + 1] if "--cb_type" in args[:-1] else None
        learners = tuple(ws.get_enabled_learners())
        exact = learners in _PLACEHOLDER_STACKS and cb_type == "mtr"
        unit = None if "cb_explore_adf_squarecb" in learners else False
        return cls(ws, label_type, shared, ws.hash_space(CONTEXT_NS), exact, unit)

    def template(self, m: int) -> list[Example]:
        """The shared example then ``m`` distinct placeholders (the same list on every call).

        Callers put the labelled example in place of one placeholder and
        restore it afterwards. VW needs distinct examples: it merges the
        shared features into each one while it works.
        """
        multi = self.templates.get(m)
        if multi is None:
            while len(self.placeholders) < m:
                self.placeholders.append(Example(self.workspace, f"|{ACTION_NS}", self.label_type))
            multi = self.templates[m] = [self.shared, *self.placeholders[:m]]
        return multi

    def __post_init__(self) -> None:
        ws, shared, ns, ns_hash = self.workspace, self.shared, _CONTEXT_ORD, self.context_hash
        # Bound once: looking the four methods up again for every row would
        # cost a tenth of a small update.
        unsetup, setup = ws.unsetup_example, ws.setup_example
        erase, push = shared.erase_namespace, shared.push_feature_list

        def set_shared(pairs: list[tuple[int, float]]) -> None:
            """Refill the shared example with a customer's (feature id, value) pairs.

            One shared example per workspace, refilled for each decision: VW
            allocates ~32 kB per example, so a new one would cost more than the
            prediction itself.
            """
            unsetup(shared)
            erase(ns)
            push(ws, ns, ns_hash, pairs)
            setup(shared)

        self.set_shared = set_shared

    def predict(self, actions: Sequence[Example]) -> list[float]:
        """Probabilities of ``actions``, in the order given, for the current shared example."""
        self.workspace.predict_multi([self.shared, *actions])
        return self.shared.get_action_scores()

    def close(self) -> None:
        # Drop the examples before the workspace that made them.
        self.spaces.clear()
        self.last_space = None
        self.templates.clear()
        self.placeholders.clear()
        del self.set_shared, self.shared
        self.workspace.finish()

    def action_examples(self, space: ActionSpace) -> ActionExamples:
        """The parsed examples of ``space``'s actions (parsed once per action space)."""
        cached = self.last_space
        if cached is not None and cached.space is space:
            return cached
        feats = np.ascontiguousarray(space.features, dtype=np.float64)
        key = (space.ids, tuple(space.feature_names), feats.shape, feats.tobytes())
        cached = self.spaces.get(key)
        if cached is None:
            lines = action_lines(space)
            examples = [Example(self.workspace, line, self.label_type) for line in lines]
            if len(self.spaces) >= _MAX_SPACES:
                self.spaces.pop(next(iter(self.spaces)))
            cached = self.spaces[key] = ActionExamples(space, lines, examples)
        cached.space = space
        self.last_space = cached
        return cached

    def context_hashes(self, context: Context) -> ContextHashes:
        """VW's feature ids of ``context``'s columns (hashed once per list of names)."""
        d = context.X.shape[1]
        names = context.feature_names
        cached = self.hashes
        if cached is not None and (cached.feature_names is names or cached.feature_names == names):
            if len(cached.ids) == d:
                return cached
        clean = context_names(names, d)
        ns_hash = self.workspace.hash_space(CONTEXT_NS)
        ids = np.empty(d, dtype=object)
        ids[:] = [int(self.workspace.hash_feature(n, ns_hash)) for n in clean]
        self.hashes = ContextHashes(names, clean, ids)
        return self.hashes

    def labelled(self, acts: ActionExamples, key: tuple[int, float, float, bool]) -> Example:
        """Parse the labelled example of ``key = (action, cost, probability, last)``.

        It is kept for reuse the second time its label is seen: logs often
        hold a few labels many times (uniform or rule logging policies,
        0/1 rewards), but keeping examples whose label never comes back
        would only spread VW's 32 kB allocations over cold memory.
        """
        a, cost, prob, _ = key
        example = Example(self.workspace, f"0:{cost!r}:{prob!r} {acts.lines[a]}", self.label_type)
        if key in acts.seen:
            if len(acts.labelled) >= _MAX_LABELLED:
                del acts.labelled[next(iter(acts.labelled))]
            acts.labelled[key] = example
        else:
            if len(acts.seen) >= _MAX_SEEN:
                acts.seen.clear()
            acts.seen.add(key)
        return example


class WorkspaceOwner(VWFlags, Policy):
    """Owning a VW workspace: opened on first use, finished on ``close``, saved and reloaded.

    A base of :class:`~nba.policies.vw.VWPolicy`, which holds what the
    workspace is used for (deciding and learning).
    """

    n_examples_: int
    seed_: int
    workspace_: Workspace

    def _open(self, initial_model: Path | None = None, seed: int | None = None) -> Runtime:
        args = self.vw_args()
        seed = self._resolve_seed() if seed is None else seed
        if initial_model is None:
            args += ["--random_seed", str(seed)]
        else:
            # Reductions that draw random numbers (``--bag``) save the state of
            # their generator in the model, and VW refuses a different
            # ``--random_seed`` next to it; the others draw none.
            args += ["--initial_regressor", str(initial_model)]
        try:
            ws = Workspace(arg_list=args)
        except Exception as exc:  # VW raises RuntimeError with its own message
            raise self._fail(f"Vowpal Wabbit rejected `{shlex.join(args)}`: {exc}") from None
        if ws.get_prediction_type() != PredictionType.ACTION_PROBS:
            ws.finish()
            raise self._fail(
                f"`extra_flags` {self.extra_flags!r} turn `--cb_explore_adf` into a learner "
                "that does not return action probabilities"
            )
        rt = Runtime.open(ws)
        self.workspace_ = ws
        self.seed_ = seed
        self._vw_ = rt
        return rt

    def _guard(self) -> threading.RLock:
        """The lock serialising every use of the workspace (created on first use)."""
        lock = self.__dict__.get("_lock")
        if lock is None:
            with _CREATE_LOCK:
                lock = self.__dict__.setdefault("_lock", threading.RLock())
        return lock

    def _runtime(self) -> Runtime:
        # Callers hold self._guard().
        rt: Runtime | None = self.__dict__.get("_vw_")
        return self._open() if rt is None else rt

    def _release(self) -> None:
        with self._guard():
            rt: Runtime | None = vars(self).pop("_vw_", None)
            ws = vars(self).pop("workspace_", None)
            if rt is not None:
                rt.close()
            elif ws is not None:
                ws.finish()

    def close(self) -> None:
        """Finish the VW workspace and forget what was learned (as :meth:`reset`).

        Save the policy first to keep the model.
        """
        self.reset()

    def reset(self) -> None:
        """Finish the VW workspace and drop the learned state."""
        self._release()
        super().reset()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _save_state(self, out: Path) -> None:
        """Write VW's model file and a small JSON of the policy's own state.

        The live workspace is then reopened from the file just written, so
        that this policy and any copy loaded from ``out`` go on deciding and
        learning identically: VW's model file does not hold every piece of
        learner state (``bag`` and ``cover`` keep some that it drops), and a
        reopened workspace is exactly what :func:`~nba.policies.registry.load_policy` builds.
        """
        model = out / MODEL_FILE
        with self._guard():
            rt = self._runtime()
            rt.workspace.save(model)
            state = {
                "n_examples": int(getattr(self, "n_examples_", 0)),
                "seed": self.seed_,
                "vowpalwabbit": vowpalwabbit.__version__,
                "vw_args": self.vw_args(),
            }
            (out / STATE_FILE).write_text(json.dumps(state, indent=2))
            seed = self.seed_
            self._release()
            self._open(initial_model=model, seed=seed)

    def _load_state(self, src: Path) -> None:
        model = src / MODEL_FILE
        try:
            state = json.loads((src / STATE_FILE).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise self._fail(f"{src}: not a saved VW policy ({exc})") from None
        if not model.is_file():
            raise self._fail(f"{src}: the VW model file `{MODEL_FILE}` is missing")
        with self._guard():
            self._release()
            self._open(initial_model=model, seed=int(state["seed"]))
            self.n_examples_ = int(state["n_examples"])
