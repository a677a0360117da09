"""Linear contextual bandits: disjoint LinUCB and linear Thompson sampling.

Both keep one ridge regression per action over the customers' context
features (the *disjoint* model of Li et al. 2010): for action ``a``,

    A_a = ridge * I + sum x x^T,    b_a = sum r x,    theta_a = A_a^{-1} b_a,

summed over the logged decisions that chose ``a``. An intercept is added
internally unless the context already has a ``"bias"`` column (nba's own
encoder adds one; external logs may not), so the model always has one.

- :class:`LinUCB` (Li, Chu, Langford & Schapire 2010, "A contextual-bandit
  approach to personalized news article recommendation") is greedy on the
  upper confidence bound ``theta_a . x + alpha * sqrt(x^T A_a^{-1} x)``.
- :class:`LinearTS` (Agrawal & Goyal 2013, "Thompson sampling for
  contextual bandits with linear payoffs") samples ``theta_a ~ N(theta_a,
  v^2 A_a^{-1})`` and is greedy on the sample. Thompson sampling has no
  closed-form action probabilities, so :meth:`LinearTS.predict_proba`
  returns the frequency with which each action wins over ``n_samples``
  posterior draws (a Monte Carlo propensity). The pipeline samples the
  action from exactly this distribution, so the logged propensity is exact
  for the policy that was actually run.

Both are vectorised for large batches: the exploration term needs the
quadratic form ``x^T A_a^{-1} x`` for every (customer, action), computed as
one matrix product of the customers' pairwise feature products with the
packed upper triangles of the ``A_a^{-1}`` (float32 for large batches, where
the relative error of ~1e-6 only matters for exact ties, which are snapped
together), and learning is one rank-k update per action touched by a batch.
Large batches are cut into blocks of customers that run on two threads with
single-threaded BLAS (see :mod:`nba.policies._threads` for why).
"""

from __future__ import annotations

import numbers
from typing import Any, Self

import numpy as np

from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies._threads import run_blocks, single_threaded
from nba.policies.base import (
    LoggedBatch,
    Policy,
    check_allowed,
    check_context,
    is_real,
    onehot_argmax,
)

__all__ = ["LinUCB", "LinearTS"]

#: Rows per block in large-batch predictions (keeps temporaries in cache).
_BLOCK = 1024
#: Customers sharing one set of posterior draws in large Thompson-sampling batches.
_DRAW_GROUP = 8192
#: Rows per block of Thompson-sampling draws.
_TS_BLOCK = 512
#: Batches at most this large use the exact float64 small-batch kernels.
_SMALL = 64
#: Relative tolerance under which two UCB scores count as tied.
_TIE_RTOL = 1e-6


def _check_number(owner: str, name: str, value: Any, *, low: float, strict: bool) -> float:
    if is_real(value) and (value > low if strict else value >= low):
        return float(value)
    bound = f"> {low:g}" if strict else f">= {low:g}"
    raise PolicyError(f"{owner}: `{name}` must be a finite number {bound}, got {value!r}")


class _RidgeBandit(Policy):
    """Shared state and kernels of the disjoint linear bandits (private).

    Learned state (all set lazily on the first ``partial_fit`` or
    ``predict_proba``):

    - ``A_``: (n_actions, d, d) ridge Gram matrices ``ridge * I + X_a^T X_a``;
    - ``b_``: (n_actions, d) reward-weighted feature sums;
    - ``A_inv_``: (n_actions, d, d) their inverses;
    - ``theta_``: (n_actions, d) ridge solutions;
    - ``counts_``: (n_actions,) examples learned per action;
    - ``n_examples_``, ``n_features_in_``, ``fit_intercept_``.

    ``d`` is the number of context features, plus one when an intercept is
    added.
    """

    ridge: float
    random_state: int | None
    A_: np.ndarray
    b_: np.ndarray
    A_inv_: np.ndarray
    theta_: np.ndarray
    counts_: np.ndarray
    n_examples_: int
    n_features_in_: int
    fit_intercept_: bool

    # -- validation and state ------------------------------------------------
    def _validate_params(self) -> None:
        _check_number(type(self).__name__, "ridge", self.ridge, low=0.0, strict=True)

    def _ensure_state(self, context: Context) -> None:
        check_context(type(self).__name__, context.X)
        d_in, n_actions = int(context.X.shape[1]), context.n_actions
        if hasattr(self, "A_"):
            if d_in != self.n_features_in_:
                raise PolicyError(
                    f"{type(self).__name__}: context `X` has {d_in} features, "
                    f"expected {self.n_features_in_} as when the policy started learning"
                )
            if n_actions != self.A_.shape[0]:
                raise PolicyError(
                    f"{type(self).__name__}: the action space has {n_actions} actions, "
                    f"expected {self.A_.shape[0]} as when the policy started learning"
                )
            return
        self._validate_params()
        self.n_features_in_ = d_in
        self.fit_intercept_ = "bias" not in context.feature_names
        d = d_in + int(self.fit_intercept_)
        eye = np.eye(d)
        self.A_ = np.repeat((self.ridge * eye)[None], n_actions, axis=0)
        self.b_ = np.zeros((n_actions, d))
        self.A_inv_ = np.repeat((eye / self.ridge)[None], n_actions, axis=0)
        self.theta_ = np.zeros((n_actions, d))
        self.counts_ = np.zeros(n_actions, dtype=np.int64)
        self.n_examples_ = 0
        self._refresh(np.arange(n_actions))

    def _design(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.fit_intercept_:
            return np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def _refresh(self, touched: np.ndarray) -> None:
        """Recompute the inverses and caches of the ``touched`` actions."""
        # New arrays rather than in-place writes, so that a prediction running
        # in another thread never sees a half-updated array.
        if touched.size:
            inv = np.linalg.inv(self.A_[touched])
            A_inv, theta = self.A_inv_.copy(), self.theta_.copy()
            A_inv[touched] = 0.5 * (inv + inv.transpose(0, 2, 1))
            theta[touched] = np.einsum("aij,aj->ai", A_inv[touched], self.b_[touched])
            self.A_inv_, self.theta_ = A_inv, theta
        d = self.A_.shape[1]
        iu, ju = np.triu_indices(d)
        # Packed upper triangles, off-diagonal terms doubled: x^T M x = z(x) . w(M)
        # with z(x) the products x_i x_j (i <= j).
        w = self.A_inv_[:, iu, ju] * np.where(iu == ju, 1.0, 2.0)
        self._tri_w_ = np.ascontiguousarray(w.T)  # (d(d+1)/2, n_actions)
        self._tri_w32_ = self._tri_w_.astype(np.float32)
        self._triu_ = (iu, ju)

    # -- learning ---------------------------------------------------------------
    def partial_fit(self, batch: LoggedBatch) -> Self:
        """Continue learning from ``batch``: one rank-k update per chosen action.

        Parameters
        ----------
        batch
            Logged decisions; only the chosen action's regression learns
            from each decision (no importance weighting).

        Returns
        -------
        The policy itself.

        Raises
        ------
        PolicyError
            If the batch is invalid, a hyperparameter is out of range, or the
            features or actions differ from what the policy learned before.
        """
        batch.validate()
        self._ensure_state(batch.context)
        if len(batch) == 0:
            return self
        Xd = self._design(batch.context.X)
        action = np.asarray(batch.action, dtype=np.int64)
        reward = np.asarray(batch.reward, dtype=np.float64)
        order = np.argsort(action, kind="stable")
        counts = np.bincount(action, minlength=self.A_.shape[0])
        bounds = np.concatenate([[0], np.cumsum(counts)])
        Xs, rs = Xd[order], reward[order]
        touched = np.flatnonzero(counts)
        A, b = self.A_.copy(), self.b_.copy()
        with single_threaded("blas"):
            for a in touched:
                Xa, ra = Xs[bounds[a] : bounds[a + 1]], rs[bounds[a] : bounds[a + 1]]
                A[a] += Xa.T @ Xa
                b[a] += ra @ Xa
        self.A_, self.b_ = A, b
        self.counts_ = self.counts_ + counts
        self.n_examples_ += len(batch)
        self._refresh(touched)
        return self

    # -- kernels -----------------------------------------------------------------
    def _quad_small(self, Xd: np.ndarray) -> np.ndarray:
        """x^T A_a^{-1} x for a few rows, float64: (m, n_actions)."""
        iu, ju = self._triu_
        return (Xd.take(iu, axis=1) * Xd.take(ju, axis=1)) @ self._tri_w_

    def _quad_block(self, Xd: np.ndarray) -> np.ndarray:
        """x^T A_a^{-1} x for a block of rows, float32 products: (m, n_actions)."""
        d = Xd.shape[1]
        XT = np.ascontiguousarray(Xd.T, dtype=np.float32)
        Z = np.empty((d * (d + 1) // 2, Xd.shape[0]), dtype=np.float32)
        start = 0
        for i in range(d):
            np.multiply(XT[i], XT[i:], out=Z[start : start + d - i])
            start += d - i
        return (self._tri_w32_.T @ Z).T.astype(np.float64)

    def _quad(self, Xd: np.ndarray) -> np.ndarray:
        q = self._quad_small(Xd) if Xd.shape[0] <= _SMALL else self._quad_block(Xd)
        return np.maximum(q, 0.0, out=q)

    def _start(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        self._ensure_state(context)
        return check_allowed(allowed, len(context), context.n_actions)


class LinUCB(_RidgeBandit):
    """Disjoint LinUCB (Li et al. 2010): greedy on the upper confidence bound.

    For each customer the score of action ``a`` is
    ``theta_a . x + alpha * sqrt(x^T A_a^{-1} x)``; all mass goes to the best
    allowed action, shared equally among ties (scores within a relative
    1e-6 count as tied, so actions with identical state — e.g. never
    chosen — split the mass). Unfitted, every action has the same state, so
    the distribution is uniform over the allowed actions.

    Parameters
    ----------
    alpha
        Width of the confidence bound (>= 0; 0 is greedy ridge regression).
    ridge
        Ridge regularisation, the prior precision (> 0).
    random_state
        Unused (the policy is deterministic); accepted for a uniform interface.

    Examples
    --------
    >>> import numpy as np
    >>> from nba.catalog import ActionSpace
    >>> from nba.features.context import Context
    >>> from nba.policies.base import LoggedBatch
    >>> ctx = Context(np.array([[1.0, 0.0], [1.0, 1.0]]), ActionSpace.from_labels(["a", "b"]),
    ...               ("bias", "x"))
    >>> allowed = np.ones((2, 3), bool)
    >>> policy = LinUCB(alpha=0.0)
    >>> policy.predict_proba(ctx, allowed)
    array([[0.33333333, 0.33333333, 0.33333333],
           [0.33333333, 0.33333333, 0.33333333]])
    >>> chosen, reward = np.array([1, 2]), np.array([1.0, 2.0])
    >>> batch = LoggedBatch(ctx, allowed, chosen, np.full(2, 1 / 3), reward)
    >>> policy.fit(batch).predict_proba(ctx, allowed)
    array([[0., 0., 1.],
           [0., 0., 1.]])
    >>> policy.theta_.round(3)
    array([[0.   , 0.   ],
           [0.5  , 0.   ],
           [0.667, 0.667]])
    """

    name = "linucb"
    kind = "learned"

    def __init__(
        self, *, alpha: float = 1.0, ridge: float = 1.0, random_state: int | None = None
    ) -> None:
        self.alpha = alpha
        self.ridge = ridge
        self.random_state = random_state

    def _validate_params(self) -> None:
        super()._validate_params()
        _check_number("LinUCB", "alpha", self.alpha, low=0.0, strict=False)

    def _ucb_block(self, X: np.ndarray) -> np.ndarray:
        Xd = self._design(X)
        score = Xd @ self.theta_.T
        if self.alpha:
            score += self.alpha * np.sqrt(self._quad(Xd))
        return score

    def ucb(self, context: Context) -> np.ndarray:
        """Upper confidence bound of every action, shape (n_customers, n_actions).

        Raises
        ------
        PolicyError
            If the context does not match what the policy learned from.
        """
        self._ensure_state(context)
        n = len(context)
        out = np.empty((n, self.A_.shape[0]))

        def block(s: int, e: int) -> None:
            out[s:e] = self._ucb_block(context.X[s:e])

        run_blocks(block, n, _BLOCK)
        return out

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """One-hot on the best allowed UCB, ties shared.

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
            If ``allowed`` or the context does not fit the policy.
        """
        allowed = self._start(context, allowed)
        out = np.empty(allowed.shape)

        def block(s: int, e: int) -> None:
            ok = allowed[s:e]
            scores = self._ucb_block(context.X[s:e])
            best = np.where(ok, scores, -np.inf).max(axis=1, keepdims=True)
            tol = _TIE_RTOL * np.maximum(1.0, np.abs(best))
            # Snap near-ties (float32 round-off) onto the best score so they share the mass.
            np.copyto(scores, best, where=scores >= best - tol)
            out[s:e] = onehot_argmax(scores, ok)

        run_blocks(block, len(context), _BLOCK)
        return out


class LinearTS(_RidgeBandit):
    """Linear Thompson sampling (Agrawal & Goyal 2013) with Monte Carlo propensities.

    Each action's parameter has the posterior ``N(theta_a, v^2 A_a^{-1})``.
    The distribution returned for a customer is the frequency with which
    each allowed action has the largest sampled reward ``theta~_a . x`` over
    ``n_samples`` posterior draws: a multiple of ``1 / n_samples``, zero
    outside ``allowed``, rows summing to 1. Since the pipeline samples the
    action from this very distribution, the logged propensity is exact.

    For batches of up to 64 customers every customer gets independent draws
    (drawn as the scalar ``N(theta_a . x, v^2 x^T A_a^{-1} x)``, which is the
    same distribution); larger batches are processed in groups of 8192
    customers that share ``n_samples`` draws of the parameters, so the cost
    is one matrix product per block of customers. Unfitted, the draws come from the prior
    ``N(0, v^2 / ridge * I)``.

    Parameters
    ----------
    v
        Posterior scale (> 0): larger explores more.
    ridge
        Ridge regularisation, the prior precision (> 0).
    n_samples
        Posterior draws per customer (>= 1).
    random_state
        Seed of the policy's own generator (``None``: fresh entropy).

    Examples
    --------
    >>> import numpy as np
    >>> from nba.catalog import ActionSpace
    >>> from nba.features.context import Context
    >>> ctx = Context(np.ones((2, 1)), ActionSpace.from_labels(["a", "b"]), ("bias",))
    >>> allowed = np.array([[True, True, False], [True, True, True]])
    >>> p = LinearTS(n_samples=8, random_state=0).predict_proba(ctx, allowed)
    >>> p.sum(axis=1), p[0, 2], bool((p * 8 % 1 == 0).all())
    (array([1., 1.]), np.float64(0.0), True)
    """

    name = "lints"
    kind = "learned"

    def __init__(
        self,
        *,
        v: float = 0.5,
        ridge: float = 1.0,
        n_samples: int = 32,
        random_state: int | None = None,
    ) -> None:
        self.v = v
        self.ridge = ridge
        self.n_samples = n_samples
        self.random_state = random_state

    def _validate_params(self) -> None:
        super()._validate_params()
        _check_number("LinearTS", "v", self.v, low=0.0, strict=True)
        ns = self.n_samples
        if not isinstance(ns, numbers.Integral) or isinstance(ns, bool) or ns < 1:
            raise PolicyError(f"LinearTS: `n_samples` must be an integer >= 1, got {ns!r}")

    def _refresh(self, touched: np.ndarray) -> None:
        super()._refresh(touched)
        # Cholesky factors of the posterior covariances (up to v^2), cached so
        # that a draw is theta + v * L z.
        if not hasattr(self, "chol_"):
            self.chol_ = np.linalg.cholesky(self.A_inv_)
        elif touched.size:
            chol = self.chol_.copy()
            chol[touched] = np.linalg.cholesky(self.A_inv_[touched])
            self.chol_ = chol

    @property
    def _rng(self) -> np.random.Generator:
        if not hasattr(self, "rng_"):
            self.rng_ = np.random.default_rng(self.random_state)
        return self.rng_

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """Frequency of each allowed action winning over posterior draws.

        Parameters
        ----------
        context
            The customers' context (n customers).
        allowed
            Shape (n_customers, n_actions) bool.

        Returns
        -------
        Shape (n_customers, n_actions): multiples of ``1 / n_samples``, zero
        outside ``allowed``, rows sum to 1.

        Raises
        ------
        PolicyError
            If ``allowed`` or the context does not fit the policy.
        """
        allowed = self._start(context, allowed)
        n, n_actions = allowed.shape
        S = int(self.n_samples)
        rng = self._rng
        if n <= _SMALL:
            Xd = self._design(context.X)
            mean = Xd @ self.theta_.T
            sd = self.v * np.sqrt(self._quad_small(Xd).clip(min=0.0))
            eps = rng.standard_normal((n, S, n_actions))
            draws = (mean + np.where(allowed, 0.0, -np.inf))[:, None, :] + sd[:, None, :] * eps
            winners = draws.argmax(axis=2)
            return (winners[:, :, None] == np.arange(n_actions)).mean(axis=1)
        out = np.empty((n, n_actions))
        d = self.A_.shape[1]
        coefs = []
        for _ in range(0, n, _DRAW_GROUP):
            z = rng.standard_normal((n_actions, d, S))
            theta = self.theta_[:, :, None] + self.v * (self.chol_ @ z)  # (A, d, S)
            coef = np.ascontiguousarray(theta.transpose(1, 2, 0), dtype=np.float32)
            coefs.append(coef.reshape(d, S * n_actions))

        def block(s: int, e: int) -> None:
            Xd = self._design(context.X[s:e]).astype(np.float32)
            draws = (Xd @ coefs[s // _DRAW_GROUP]).reshape(e - s, S, n_actions)
            draws += np.where(allowed[s:e], 0.0, -np.inf).astype(np.float32)[:, None, :]
            self._frequencies(draws.argmax(axis=2), n_actions, out[s:e])

        run_blocks(block, n, _TS_BLOCK)
        return out

    def _frequencies(self, winners: np.ndarray, n_actions: int, out: np.ndarray) -> np.ndarray:
        m, S = winners.shape
        flat = (np.arange(m)[:, None] * n_actions + winners).ravel()
        out[...] = np.bincount(flat, minlength=m * n_actions).reshape(m, n_actions) / S
        return out
