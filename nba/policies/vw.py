"""Vowpal Wabbit contextual bandits: ``--cb_explore_adf`` with typed flags.

Each decision is one VW *multi-line* example: a **shared** example holding
the customer's context features (namespace ``c``, non-zero values only) and
one example per allowed action holding the action's features (namespace
``a``), with interactions between them (``-q ca`` by default) so the best
action can depend on the customer. VW learns a cost regressor over these
features (``cb_type mtr``) and turns its scores into a distribution with the
chosen exploration algorithm:

- ``squarecb`` (default): inverse-gap weighting of the regressor's scores
  (Foster & Rakhlin 2020, "Beyond UCB: optimal and efficient contextual
  bandits with regression oracles"); ``gamma_scale`` sets how fast the
  distribution concentrates on the best action;
- ``epsilon``: ε-greedy, ``epsilon`` spread uniformly (VW's default 0.05);
- ``bag``: bootstrap Thompson sampling over ``bag`` online bootstrap
  replicates (Eckles & Kaptein 2014);
- ``cover``: online cover, ``cover`` policies trained to explore where they
  disagree (Agarwal et al. 2014, "Taming the monster");
- ``softmax``: probabilities proportional to ``exp(-softmax_lambda * cost)``.

``epsilon`` also mixes uniform exploration into the other algorithms when set.
The algorithms are compared in Bietti, Agarwal & Langford 2021 ("A contextual
bandit bake-off").

Rewards become VW costs as **cost = −reward**: VW minimises cost, nba
maximises reward. The logged propensity is the label's probability, so each
row is learned as ``0:<cost>:<propensity>`` on the chosen action's line.

Speed: what costs in Python is writing and parsing VW's text format, not
VW's own work. The policy therefore parses each action's example **once per
action space** and reuses the parsed examples for every later prediction and
update, and fills each decision's shared example by pushing pre-hashed
feature ids (no text at all). This is safe: during ``predict``/``learn``
VW's ADF reduction copies the shared features into the action examples and
removes them afterwards, leaving them as parsed. The chosen action's
*labelled* example is parsed with its label and kept for reuse once that
label comes back: VW leaves the label it learns from as it was, except
SquareCB, which learns from probability 1 on every example but the last
(the position is part of the key).

Learning from logs: with VW's default ``--cb_type mtr``, an update reads
the shared and the chosen action's example, the chosen one's position and
the *number* of actions (its importance weight is ``1/p`` times
``event_sum/action_sum``, the inverse of the running mean number of
actions), not the other actions' features. For ``squarecb``, ``epsilon``,
``softmax`` and ``bag``, :meth:`VWPolicy.partial_fit` therefore gives VW
featureless placeholders for the unchosen actions; ``cover`` (whose cover
policies learn from every action) and other ``cb_type`` values get the full
example. Giving VW the chosen action alone would be cheaper still, but it
learns a different model (the weight above changes), so it is not done.

The tests check that these paths give the same probabilities and the same
learned model as VW's plain text path for every algorithm. Because the
cached examples are mutated while VW works on them, calls into one policy
are serialised with a lock.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Self

import numpy as np
import vowpalwabbit
from vowpalwabbit import Example, LabelType, PredictionType, Workspace

from nba.catalog import ActionSpace
from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.base import LoggedBatch, Policy, check_allowed, is_integer, is_real

__all__ = ["VWPolicy", "ALGOS", "sanitize_feature_name"]

logger = logging.getLogger(__name__)

#: Exploration algorithms of ``--cb_explore_adf`` that :class:`VWPolicy` builds flags for.
ALGOS: tuple[str, ...] = ("squarecb", "epsilon", "bag", "cover", "softmax")
#: Namespaces: shared (context) and per-action features.
CONTEXT_NS = "c"
ACTION_NS = "a"
_CONTEXT_ORD = ord(CONTEXT_NS)
#: Defaults when ``algo`` is ``bag`` / ``cover`` and the size is not given.
DEFAULT_BAG = 5
DEFAULT_COVER = 3

#: Model and state file names written by :meth:`VWPolicy.save`.
MODEL_FILE = "model.vw"
STATE_FILE = "vw_state.json"

#: Flags that :class:`VWPolicy` sets itself (or that would break it); not allowed in
#: ``extra_flags``.
_RESERVED_FLAGS = {
    "--cb_explore_adf": "it is always set",
    "--squarecb": "use `algo`",
    "--first": "not supported",
    "--bag": "use `algo='bag'` and `bag`",
    "--cover": "use `algo='cover'` and `cover`",
    "--softmax": "use `algo='softmax'` and `softmax_lambda`",
    "--epsilon": "use `epsilon`",
    "--gamma_scale": "use `gamma_scale`",
    "--lambda": "use `softmax_lambda`",
    "-l": "use `learning_rate`",
    "--learning_rate": "use `learning_rate`",
    "--random_seed": "use `random_state`",
    "-d": "the policy feeds VW itself",
    "--data": "the policy feeds VW itself",
    "--passes": "the policy feeds VW itself",
    "-i": "use `nba.policies.registry.load_policy`",
    "--initial_regressor": "use `nba.policies.registry.load_policy`",
    "-f": "use `VWPolicy.save`",
    "--final_regressor": "use `VWPolicy.save`",
    "-p": "predictions are returned by `predict_proba`",
    "--predictions": "predictions are returned by `predict_proba`",
}
#: Rows turned into feature lists at once while learning (bounds memory).
_CHUNK = 2048
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
#: :meth:`_Runtime.open`). ``cover`` is not here: it trains its cover policies on
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

_UNSAFE = re.compile(r"[\s:|]")
#: Guards the lazy creation of each policy's own lock.
_CREATE_LOCK = threading.Lock()


def sanitize_feature_name(name: str) -> str:
    """A feature name safe in VW's text format (no whitespace, ``:`` or ``|``).

    Examples
    --------
    >>> sanitize_feature_name("stage=new customer|a:b")
    'stage=new_customer_a_b'
    """
    return _UNSAFE.sub("_", str(name)) or "_"


def _unique_names(names: Sequence[str]) -> list[str]:
    """Sanitised names, made unique by suffixing the column index on collisions."""
    out: list[str] = []
    seen: set[str] = set()
    for j, raw in enumerate(names):
        name = sanitize_feature_name(raw)
        if name in seen:
            name = f"{name}#{j}"
        seen.add(name)
        out.append(name)
    return out


def _fmt(value: float) -> str:
    # repr is the shortest string that round-trips the float64.
    return repr(float(value))


def _label(cost: float, probability: float) -> str:
    return f"0:{_fmt(cost)}:{_fmt(probability)}"


def _context_names(feature_names: Sequence[str], d: int) -> list[str]:
    if feature_names and len(feature_names) != d:
        raise PolicyError(
            f"VWPolicy: `context.feature_names` has {len(feature_names)} names "
            f"for {d} feature columns"
        )
    return _unique_names(feature_names or [f"x{j}" for j in range(d)])


def _shared_line(names: Sequence[str], row: np.ndarray) -> str:
    """The shared (context) line of one customer: non-zero features only."""
    nz = np.flatnonzero(row)
    feats = " ".join(
        f"{names[k]}:{v!r}" for k, v in zip(nz.tolist(), row[nz].tolist(), strict=True)
    )
    return f"shared |{CONTEXT_NS} {feats}".rstrip()


def _action_lines(space: ActionSpace) -> list[str]:
    """One unlabelled line per action of ``space``: its non-zero features."""
    feats = np.asarray(space.features, dtype=np.float64)
    if feats.shape != (len(space), len(space.feature_names)):
        raise PolicyError(
            f"VWPolicy: action features: expected shape ({len(space)}, "
            f"{len(space.feature_names)}), got {feats.shape}"
        )
    if not np.isfinite(feats).all():
        raise PolicyError("VWPolicy: action features: expected finite values, got NaN or inf")
    names = _unique_names(space.feature_names)
    lines = []
    for row in feats:
        nz = np.flatnonzero(row)
        body = " ".join(
            f"{names[k]}:{v!r}" for k, v in zip(nz.tolist(), row[nz].tolist(), strict=True)
        )
        lines.append(f"|{ACTION_NS} {body}".rstrip())
    return lines


@dataclass
class _ActionExamples:
    """The parsed examples of one action space: unlabelled, and labelled ones kept for reuse.

    ``labelled`` maps ``(action, cost, probability, last)`` to a parsed
    labelled example of that action; ``last`` is whether it ends its
    multi-line example (SquareCB treats that position differently, see
    :meth:`VWPolicy.partial_fit`).
    """

    space: ActionSpace
    lines: list[str]
    examples: list[Example]
    labelled: dict[tuple[int, float, float, bool], Example] = field(default_factory=dict)
    seen: set[tuple[int, float, float, bool]] = field(default_factory=set)


@dataclass
class _ContextHashes:
    """VW feature ids of the context columns, for one list of feature names.

    ``ids`` holds Python ints (dtype object), so that picking a row's ids
    shares them instead of making new ones.
    """

    feature_names: tuple[str, ...]
    names: list[str]
    ids: np.ndarray


@dataclass
class _Runtime:
    """What lives and dies with one VW workspace (private).

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
    spaces: dict[tuple[Any, ...], _ActionExamples] = field(default_factory=dict)
    last_space: _ActionExamples | None = None
    hashes: _ContextHashes | None = None
    placeholders: list[Example] = field(default_factory=list)
    templates: dict[int, list[Example]] = field(default_factory=dict)
    set_shared: Callable[[list[tuple[int, float]]], None] = field(init=False, repr=False)

    @classmethod
    def open(cls, ws: Workspace) -> _Runtime:
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


class VWPolicy(Policy):
    """Contextual bandit on Vowpal Wabbit's ``--cb_explore_adf``.

    Parameters
    ----------
    algo
        Exploration algorithm: ``"squarecb"`` (Foster & Rakhlin 2020),
        ``"epsilon"`` (ε-greedy), ``"bag"`` (bootstrap Thompson sampling),
        ``"cover"`` (online cover, Agarwal et al. 2014) or ``"softmax"``.
    epsilon
        Uniform exploration mixed in (``--epsilon``), in [0, 1]; VW's
        default when ``None`` (0.05 for ``"epsilon"`` and ``"cover"``, 0 for
        the others).
    gamma_scale
        SquareCB's ``--gamma_scale`` (> 0; VW's default 10). Only with
        ``algo="squarecb"``.
    bag
        Number of bootstrap replicates (``--bag``, ≥ 1; default 5). Only
        with ``algo="bag"``.
    cover
        Number of cover policies (``--cover``, ≥ 1; default 3). Only with
        ``algo="cover"``.
    softmax_lambda
        Softmax inverse temperature (``--lambda``, ≥ 0; VW's default 1).
        Only with ``algo="softmax"``. (Not ``lambda_``: names ending in
        ``_`` are learned state, which ``reset`` deletes.)
    interactions
        Namespace interactions between context ``c`` and action ``a``
        features, e.g. ``"ca"`` (the default), ``"ca cc"`` or
        ``("ca", "cca")``; ``""`` for none (the best action then cannot
        depend on the customer).
    learning_rate
        VW's ``--learning_rate`` (> 0; VW's default 0.5). VW's default
        learns slowly on small problems: on the check suite's synthetic
        problem SquareCB reaches ~0.8 of the oracle after 4,000 decisions
        with 0.5 and ~0.95 with 2.
    extra_flags
        Further VW flags, e.g. ``"-b 22 --power_t 0"``. Flags the policy
        sets itself are refused.
    random_state
        Seed of VW's ``--random_seed`` (an int ≥ 0, or a
        ``numpy.random.Generator`` to draw it from); ``None`` draws a fresh
        seed. The same seed gives the same decisions and the same learning.

    Attributes
    ----------
    workspace_
        The VW workspace, created on first use; the policy owns it and
        finishes it in :meth:`close` / :meth:`reset` (or on leaving a
        ``with`` block). :meth:`save` replaces it with one reopened from
        the saved model.
    n_examples_
        Number of logged decisions learned from.
    seed_
        The ``--random_seed`` in use.

    Examples
    --------
    Customers with ``x = 1`` like action ``b``, the others like ``a``:

    >>> from nba.catalog import ActionSpace
    >>> from nba.features.context import Context
    >>> from nba.policies.base import LoggedBatch
    >>> space = ActionSpace.from_labels(["a", "b"])
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 2, size=(600, 1)).astype(float)
    >>> action = rng.integers(0, 3, size=600)
    >>> reward = (action == np.where(x[:, 0] == 1, 2, 1)).astype(float)
    >>> batch = LoggedBatch(Context(x, space, ("x",)), np.ones((600, 3), bool),
    ...                     action, np.full(600, 1 / 3), reward)
    >>> with VWPolicy(algo="epsilon", epsilon=0.1, random_state=0) as policy:
    ...     p = policy.fit(batch).predict_proba(
    ...         Context(np.array([[0.0], [1.0]]), space, ("x",)), np.ones((2, 3), bool))
    >>> p.argmax(axis=1)
    array([1, 2])
    >>> p.round(3)
    array([[0.033, 0.933, 0.033],
           [0.033, 0.033, 0.933]])
    """

    name = "vw"
    kind = "learned"

    def __init__(
        self,
        *,
        algo: str = "squarecb",
        epsilon: float | None = None,
        gamma_scale: float | None = None,
        bag: int | None = None,
        cover: int | None = None,
        softmax_lambda: float | None = None,
        interactions: str | Sequence[str] = "ca",
        learning_rate: float | None = None,
        extra_flags: str = "",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.algo = algo
        self.epsilon = epsilon
        self.gamma_scale = gamma_scale
        self.bag = bag
        self.cover = cover
        self.softmax_lambda = softmax_lambda
        self.interactions = interactions
        self.learning_rate = learning_rate
        self.extra_flags = extra_flags
        self.random_state = random_state

    # -- flags ---------------------------------------------------------------
    def _fail(self, message: str) -> PolicyError:
        return PolicyError(f"VWPolicy: {message}")

    def _check_number(self, name: str, low: float, high: float | None = None) -> str:
        value = getattr(self, name)
        strict = name in ("gamma_scale", "learning_rate")
        ok = is_real(value) and (value > low if strict else value >= low)
        if ok and high is not None:
            ok = value <= high
        if not ok:
            bound = (
                f"in [{low:g}, {high:g}]"
                if high is not None
                else (f"> {low:g}" if strict else f">= {low:g}")
            )
            raise self._fail(f"`{name}` must be a finite number {bound}, got {value!r}")
        return _fmt(value)

    def _check_count(self, name: str, default: int) -> str:
        value = getattr(self, name)
        if value is None:
            return str(default)
        if not is_integer(value) or value < 1:
            raise self._fail(f"`{name}` must be an integer >= 1, got {value!r}")
        return str(int(value))

    def _interaction_terms(self) -> list[str]:
        spec = self.interactions
        if isinstance(spec, str):
            terms = [t for t in re.split(r"[\s,]+", spec) if t]
        elif isinstance(spec, Sequence) and all(isinstance(t, str) for t in spec):
            terms = [t.strip() for t in spec if t.strip()]
        else:
            raise self._fail(
                f"`interactions` must be a string like 'ca' or a list of them, got {spec!r}"
            )
        for term in terms:
            if len(term) < 2 or set(term) - {CONTEXT_NS, ACTION_NS}:
                raise self._fail(
                    f"`interactions` term {term!r} must combine at least two of the "
                    f"namespaces '{CONTEXT_NS}' (context) and '{ACTION_NS}' (action), "
                    "e.g. 'ca'"
                )
        return terms

    def _extra_tokens(self) -> list[str]:
        if not isinstance(self.extra_flags, str):
            raise self._fail(f"`extra_flags` must be a string, got {self.extra_flags!r}")
        try:
            tokens = shlex.split(self.extra_flags)
        except ValueError as exc:
            raise self._fail(f"`extra_flags` {self.extra_flags!r}: {exc}") from None
        for token in tokens:
            flag = token.split("=", 1)[0]
            if flag in _RESERVED_FLAGS:
                raise self._fail(f"`extra_flags` may not contain `{flag}`: {_RESERVED_FLAGS[flag]}")
        return tokens

    def vw_args(self) -> list[str]:
        """The VW command line built from the hyperparameters (seed excluded).

        Returns
        -------
        The tokens passed to ``vowpalwabbit.Workspace`` (the policy appends
        ``--random_seed``).

        Raises
        ------
        PolicyError
            If a hyperparameter is invalid or does not apply to ``algo``.

        Examples
        --------
        >>> VWPolicy(algo="cover", cover=4, epsilon=0.02).vw_args()
        ['--cb_explore_adf', '--quiet', '--cover', '4', '--epsilon', '0.02', '--interactions', 'ca']
        """
        algo = self.algo
        if algo not in ALGOS:
            raise self._fail(f"`algo` must be one of {', '.join(ALGOS)}, got {algo!r}")
        only = {
            "gamma_scale": "squarecb",
            "bag": "bag",
            "cover": "cover",
            "softmax_lambda": "softmax",
        }
        for name, owner in only.items():
            if getattr(self, name) is not None and algo != owner:
                raise self._fail(f"`{name}` applies only to algo='{owner}', not algo='{algo}'")
        args = ["--cb_explore_adf", "--quiet"]
        if algo == "squarecb":
            args.append("--squarecb")
            if self.gamma_scale is not None:
                args += ["--gamma_scale", self._check_number("gamma_scale", 0.0)]
        elif algo == "bag":
            args += ["--bag", self._check_count("bag", DEFAULT_BAG)]
        elif algo == "cover":
            args += ["--cover", self._check_count("cover", DEFAULT_COVER)]
        elif algo == "softmax":
            args.append("--softmax")
            if self.softmax_lambda is not None:
                args += ["--lambda", self._check_number("softmax_lambda", 0.0)]
        if self.epsilon is not None:
            args += ["--epsilon", self._check_number("epsilon", 0.0, 1.0)]
        for term in self._interaction_terms():
            args += ["--interactions", term]
        if self.learning_rate is not None:
            args += ["--learning_rate", self._check_number("learning_rate", 0.0)]
        return args + self._extra_tokens()

    def _validate_params(self) -> None:
        """Check every hyperparameter without opening a workspace.

        :func:`~nba.policies.spec.make_policy` calls this, so that a spec such
        as ``vw:epsilon=nan`` is refused when it is built rather than when VW
        first opens. Flags that only VW itself can judge in ``extra_flags``
        are still checked when the workspace opens.

        Raises
        ------
        PolicyError
            Naming the first invalid hyperparameter and its value.
        """
        self.vw_args()
        self._check_random_state()

    def _check_random_state(self) -> None:
        rs = self.random_state
        if rs is None or isinstance(rs, np.random.Generator):
            return
        if not (is_integer(rs) and 0 <= rs < 2**63):
            raise self._fail(
                f"`random_state` must be None, an integer >= 0 or a numpy Generator, got {rs!r}"
            )

    def _resolve_seed(self) -> int:
        self._check_random_state()
        rs = self.random_state
        if rs is None:
            return int(np.random.default_rng().integers(2**31))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(2**31))
        return int(rs)

    # -- workspace ---------------------------------------------------------------
    def _open(self, initial_model: Path | None = None, seed: int | None = None) -> _Runtime:
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
        rt = _Runtime.open(ws)
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

    def _runtime(self) -> _Runtime:
        # Callers hold self._guard().
        rt: _Runtime | None = self.__dict__.get("_vw_")
        return self._open() if rt is None else rt

    def _release(self) -> None:
        with self._guard():
            rt: _Runtime | None = vars(self).pop("_vw_", None)
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

    # -- examples ------------------------------------------------------------------
    def _actions(self, rt: _Runtime, space: ActionSpace) -> _ActionExamples:
        cached = rt.last_space
        if cached is not None and cached.space is space:
            return cached
        feats = np.ascontiguousarray(space.features, dtype=np.float64)
        key = (space.ids, tuple(space.feature_names), feats.shape, feats.tobytes())
        cached = rt.spaces.get(key)
        if cached is None:
            lines = _action_lines(space)
            examples = [Example(rt.workspace, line, rt.label_type) for line in lines]
            if len(rt.spaces) >= _MAX_SPACES:
                rt.spaces.pop(next(iter(rt.spaces)))
            cached = rt.spaces[key] = _ActionExamples(space, lines, examples)
        cached.space = space
        rt.last_space = cached
        return cached

    def _hashes(self, rt: _Runtime, context: Context) -> _ContextHashes:
        d = context.X.shape[1]
        names = context.feature_names
        cached = rt.hashes
        if cached is not None and (cached.feature_names is names or cached.feature_names == names):
            if len(cached.ids) == d:
                return cached
        clean = _context_names(names, d)
        ns_hash = rt.workspace.hash_space(CONTEXT_NS)
        ids = np.empty(d, dtype=object)
        ids[:] = [int(rt.workspace.hash_feature(n, ns_hash)) for n in clean]
        rt.hashes = _ContextHashes(names, clean, ids)
        return rt.hashes

    @staticmethod
    def _rows(X: np.ndarray, ids: np.ndarray) -> Iterator[list[tuple[int, float]]]:
        """Each row's non-zero (feature id, value) pairs, made as the rows are consumed.

        The ids and values of a block of rows come from numpy at once; the
        pairs are made row by row because tens of thousands of live tuples
        would set off Python's cyclic garbage collector over and over (a
        fifth of the learning time with few actions).
        """
        if X.shape[0] == 1:  # one decision: the latency path
            (cols,) = np.nonzero(X[0])
            yield list(zip(ids[cols].tolist(), X[0, cols].tolist(), strict=True))
            return
        for start in range(0, X.shape[0], _CHUNK):
            block = X[start : start + _CHUNK]
            rows, cols = np.nonzero(block)
            pairs = zip(ids[cols].tolist(), block[rows, cols].tolist(), strict=True)
            for count in np.bincount(rows, minlength=block.shape[0]).tolist():
                yield list(islice(pairs, count))

    @staticmethod
    def _frames(
        shared: Example, examples: list[Example], allowed: np.ndarray
    ) -> Iterator[list[Example]]:
        """Each row's multi-line example without its label: shared, then the allowed actions."""
        everything: list[bool] = np.all(allowed, axis=1).tolist()
        for row, full in zip(allowed, everything, strict=True):
            if full:
                yield [shared, *examples]
            else:
                yield [shared, *(examples[a] for a in np.flatnonzero(row))]

    def _check_context(self, context: Context) -> np.ndarray:
        X = np.asarray(context.X, dtype=np.float64)
        if X.ndim != 2:
            raise self._fail(f"`context.X` must be 2-d (n_customers, n_features), got {X.shape}")
        if not np.isfinite(X).all():
            raise self._fail("`context.X`: expected finite values, got NaN or inf")
        return X

    # -- behaviour --------------------------------------------------------------------
    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """VW's action probabilities, aligned with the action indices.

        Only the allowed actions are given to VW (in index order); VW returns
        one probability per action example it was given, in that order.

        Parameters
        ----------
        context
            The customers' context (n customers).
        allowed
            Shape (n_customers, n_actions) bool.

        Returns
        -------
        Shape (n_customers, n_actions): zero outside ``allowed``, rows sum to 1.

        Raises
        ------
        PolicyError
            If a hyperparameter, the context or ``allowed`` is invalid.
        """
        X = self._check_context(context)
        n, n_actions = X.shape[0], context.n_actions
        allowed = check_allowed(allowed, n, n_actions)
        out = np.zeros((n, n_actions))
        with self._guard():
            rt = self._runtime()
            acts = self._actions(rt, context.actions)
            full: list[bool] = np.all(allowed, axis=1).tolist()
            examples = acts.examples
            for i, pairs in enumerate(self._rows(X, self._hashes(rt, context).ids)):
                rt.set_shared(pairs)
                if full[i]:
                    out[i] = rt.predict(examples)
                else:
                    idx = np.flatnonzero(allowed[i])
                    out[i, idx] = rt.predict([examples[j] for j in idx.tolist()])
        return _normalise(out, allowed)

    def partial_fit(self, batch: LoggedBatch) -> Self:
        """Learn from logged decisions, one VW update per row.

        Row ``i`` is the multi-line example of its allowed actions with the
        label ``0:<cost>:<propensity>`` on the chosen action, where
        ``cost = -reward``. With the algorithms whose update reads only
        the chosen action's example and the number of allowed actions
        (``squarecb``, ``epsilon``, ``softmax`` and ``bag`` with VW's
        default ``--cb_type mtr``), the unchosen actions are given to VW as
        featureless placeholders: the same model, several times faster with
        many actions (see ``_Runtime.open``; the tests compare the learned
        weights and probabilities with the full path).

        Raises
        ------
        PolicyError
            If the batch or a hyperparameter is invalid, or a chosen action
            was not allowed.
        """
        return self._learn(batch, placeholders=True)

    def _learn(self, batch: LoggedBatch, *, placeholders: bool) -> Self:
        """:meth:`partial_fit`; ``placeholders=False`` always gives VW every allowed action."""
        batch.validate()
        context = batch.context
        X = self._check_context(context)
        n = len(batch)
        allowed = check_allowed(batch.allowed, n, context.n_actions)
        action = np.asarray(batch.action, dtype=np.int64)
        rows = np.arange(n)
        chosen_ok = allowed[rows, action]
        if not chosen_ok.all():
            i = int(np.flatnonzero(~chosen_ok)[0])
            raise self._fail(
                f"LoggedBatch row {i}: the chosen action "
                f"`{context.actions.ids[action[i]]}` was not allowed"
            )
        # 0.0 - r rather than -r so that a zero reward is written as cost 0.0, not -0.0.
        costs = (0.0 - np.asarray(batch.reward, dtype=np.float64)).tolist()
        probs = np.asarray(batch.propensity, dtype=np.float64).tolist()
        chosen: list[int] = action.tolist()
        n_allowed = allowed.sum(axis=1)
        # Where the chosen action sits in its multi-line example (after the shared one).
        slot = np.cumsum(allowed, axis=1)[rows, action]
        sizes: list[int] = n_allowed.tolist()
        slots: list[int] = slot.tolist()
        last: list[bool] = (slot == n_allowed).tolist()
        with self._guard():
            rt = self._runtime()
            acts = self._actions(rt, context.actions)
            ids = self._hashes(rt, context).ids
            set_shared, learn_multi = rt.set_shared, rt.workspace.learn_multi
            # Labelled examples are reused across rows with the same label. VW
            # leaves the label it learns from as it was, except SquareCB, which
            # sets its probability to 1 unless the example is the last one: the
            # key holds `last`, and setting 1 twice is setting it once.
            labelled_cache = acts.labelled
            frames: Iterable[list[Example]]
            if placeholders and rt.placeholders_exact:
                # One list per size, shared by the rows of that size: the row's
                # labelled example goes in for its update, the placeholder back after.
                templates = {m: rt.template(m) for m in set(sizes)}
                frames = [templates[m] for m in sizes]
            else:
                frames = self._frames(rt.shared, acts.examples, allowed)
            unit = rt.unit_probability
            for pairs, a, cost, prob, end, multi, j in zip(
                self._rows(X, ids), chosen, costs, probs, last, frames, slots, strict=True
            ):
                set_shared(pairs)
                if unit and not end:
                    prob = 1.0
                key = (a, cost, prob, end)
                labelled = labelled_cache.get(key)
                if labelled is None:
                    labelled = self._labelled(rt, acts, key)
                unlabelled = multi[j]
                multi[j] = labelled
                try:
                    learn_multi(multi)
                finally:
                    multi[j] = unlabelled
                if unit is None and prob != 1.0 and not end:
                    # SquareCB does not weight by importance: it writes 1 into
                    # the label. Once seen, write 1 ourselves, so that labels
                    # that differ only by their probability share one example.
                    unit = rt.unit_probability = labelled.get_cbandits_probability(0) == 1.0
            self.n_examples_ = getattr(self, "n_examples_", 0) + n
        return self

    @staticmethod
    def _labelled(
        rt: _Runtime, acts: _ActionExamples, key: tuple[int, float, float, bool]
    ) -> Example:
        """Parse the labelled example of ``key = (action, cost, probability, last)``.

        It is kept for reuse the second time its label is seen: logs often
        hold a few labels many times (uniform or rule logging policies,
        0/1 rewards), but keeping examples whose label never comes back
        would only spread VW's 32 kB allocations over cold memory.
        """
        a, cost, prob, _ = key
        example = Example(rt.workspace, f"0:{cost!r}:{prob!r} {acts.lines[a]}", rt.label_type)
        if key in acts.seen:
            if len(acts.labelled) >= _MAX_LABELLED:
                del acts.labelled[next(iter(acts.labelled))]
            acts.labelled[key] = example
        else:
            if len(acts.seen) >= _MAX_SEEN:
                acts.seen.clear()
            acts.seen.add(key)
        return example

    # -- VW's text format (reference path) ---------------------------------------------
    def to_text(
        self,
        context: Context,
        allowed: np.ndarray,
        i: int,
        label: tuple[int, float, float] | None = None,
    ) -> list[str]:
        """Row ``i`` in VW's text format: the shared line, then one line per allowed action.

        This is the format VW's own tools read; the tests and the benchmark
        use it as the reference for the faster cached path.

        Parameters
        ----------
        context
            The customers' context.
        allowed
            Shape (n_customers, n_actions) bool.
        i
            The row to write.
        label
            ``(action, cost, probability)``: put the CB label
            ``0:<cost>:<probability>`` on that action's line.

        Returns
        -------
        The lines, shared first, actions in index order.

        Examples
        --------
        >>> from nba.catalog import ActionSpace
        >>> ctx = Context(np.array([[0.5, 0.0]]), ActionSpace.from_labels(["a"]), ("x y", "z"))
        >>> VWPolicy().to_text(ctx, np.ones((1, 2), bool), 0, label=(1, -1.0, 0.5))
        ['shared |c x_y:0.5', '|a action=no_contact:1.0', '0:-1.0:0.5 |a action=a:1.0']
        """
        X = self._check_context(context)
        names = _context_names(context.feature_names, X.shape[1])
        return self._text_lines(names, _action_lines(context.actions), X[i], allowed[i], label)

    @staticmethod
    def _text_lines(
        names: Sequence[str],
        action_lines: Sequence[str],
        row: np.ndarray,
        allowed_row: np.ndarray,
        label: tuple[int, float, float] | None,
    ) -> list[str]:
        lines = [_shared_line(names, row)]
        for j in np.flatnonzero(allowed_row).tolist():
            if label is not None and label[0] == j:
                lines.append(f"{_label(label[1], label[2])} {action_lines[j]}")
            else:
                lines.append(action_lines[j])
        return lines

    def _predict_proba_text(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """:meth:`predict_proba` through VW's text parser (reference path).

        Action lines are formatted once per action space; the shared line is
        formatted and every line parsed by VW for each decision.
        """
        X = self._check_context(context)
        n = X.shape[0]
        allowed = check_allowed(allowed, n, context.n_actions)
        out = np.zeros((n, context.n_actions))
        with self._guard():
            rt = self._runtime()
            lines = self._actions(rt, context.actions).lines
            names = self._hashes(rt, context).names
            for i in range(n):
                text = self._text_lines(names, lines, X[i], allowed[i], None)
                out[i, allowed[i]] = rt.workspace.predict(text)
        return _normalise(out, allowed)

    def _partial_fit_text(self, batch: LoggedBatch) -> Self:
        """:meth:`partial_fit` through VW's text parser (reference path)."""
        batch.validate()
        X = self._check_context(batch.context)
        with self._guard():
            rt = self._runtime()
            lines = self._actions(rt, batch.context.actions).lines
            names = self._hashes(rt, batch.context).names
            for i in range(len(batch)):
                label = (
                    int(batch.action[i]),
                    0.0 - float(batch.reward[i]),
                    float(batch.propensity[i]),
                )
                rt.workspace.learn(self._text_lines(names, lines, X[i], batch.allowed[i], label))
            self.n_examples_ = getattr(self, "n_examples_", 0) + len(batch)
        return self

    # -- persistence -----------------------------------------------------------------
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


def _normalise(out: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Renormalise rows to sum to 1 (VW works in float32); uniform if VW gave no mass."""
    total = out.sum(axis=1)
    bad = ~(total > 0)  # also catches NaN
    if bad.any():
        logger.warning(
            "Vowpal Wabbit returned no usable probabilities for %d customer(s); "
            "using uniform over the allowed actions",
            int(bad.sum()),
        )
        out[bad] = allowed[bad]
        total[bad] = allowed[bad].sum(axis=1)
    # VW's float32 probabilities sum to 1 within ~1e-7; after this, within float64 rounding.
    out /= total[:, None]
    return out
