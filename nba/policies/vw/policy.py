"""The Vowpal Wabbit policy: deciding and learning with the workspace it owns.

See :mod:`nba.policies.vw` for how the examples are fed to VW and why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Self

import numpy as np
from vowpalwabbit import Example

from nba.features.context import Context
from nba.policies.base import LoggedBatch, check_allowed
from nba.policies.vw.examples import action_lines, context_names, row_frames, row_pairs, text_lines
from nba.policies.vw.workspace import WorkspaceOwner

__all__ = ["VWPolicy"]

logger = logging.getLogger(__name__)


class VWPolicy(WorkspaceOwner):
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
            acts = rt.action_examples(context.actions)
            full: list[bool] = np.all(allowed, axis=1).tolist()
            examples = acts.examples
            for i, pairs in enumerate(row_pairs(X, rt.context_hashes(context).ids)):
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
        many actions (see ``Runtime.open``; the tests compare the learned
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
            acts = rt.action_examples(context.actions)
            ids = rt.context_hashes(context).ids
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
                frames = row_frames(rt.shared, acts.examples, allowed)
            unit = rt.unit_probability
            for pairs, a, cost, prob, end, multi, j in zip(
                row_pairs(X, ids), chosen, costs, probs, last, frames, slots, strict=True
            ):
                set_shared(pairs)
                if unit and not end:
                    prob = 1.0
                key = (a, cost, prob, end)
                labelled = labelled_cache.get(key)
                if labelled is None:
                    labelled = rt.labelled(acts, key)
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
        names = context_names(context.feature_names, X.shape[1])
        return text_lines(names, action_lines(context.actions), X[i], allowed[i], label)

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
            lines = rt.action_examples(context.actions).lines
            names = rt.context_hashes(context).names
            for i in range(n):
                text = text_lines(names, lines, X[i], allowed[i], None)
                out[i, allowed[i]] = rt.workspace.predict(text)
        return _normalise(out, allowed)

    def _partial_fit_text(self, batch: LoggedBatch) -> Self:
        """:meth:`partial_fit` through VW's text parser (reference path)."""
        batch.validate()
        X = self._check_context(batch.context)
        with self._guard():
            rt = self._runtime()
            lines = rt.action_examples(batch.context.actions).lines
            names = rt.context_hashes(batch.context).names
            for i in range(len(batch)):
                label = (
                    int(batch.action[i]),
                    0.0 - float(batch.reward[i]),
                    float(batch.propensity[i]),
                )
                rt.workspace.learn(text_lines(names, lines, X[i], batch.allowed[i], label))
            self.n_examples_ = getattr(self, "n_examples_", 0) + len(batch)
        return self


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
