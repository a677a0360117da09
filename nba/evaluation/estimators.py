"""Off-policy estimators of a target policy's value from logged decisions.

For logged decisions ``(x_i, a_i, p_i, r_i)`` — context, chosen action, its
logging propensity and reward — and a target policy ``pi(a | x)``, with
importance weights ``w_i = pi(a_i | x_i) / p_i`` and a reward model
``q(x, a)``:

- **IPS** (Horvitz & Thompson 1952): ``mean(w r)``; unbiased, high variance.
- **SNIPS** (Swaminathan & Joachims 2015, "The self-normalized estimator
  for counterfactual learning"): ``sum(w r) / sum(w)``.
- **DM**, the direct method: ``mean(sum_a pi(a|x) q(x, a))``; low variance,
  biased as much as the reward model is wrong.
- **DR**, doubly robust (Dudík, Langford & Li 2011, "Doubly robust policy
  evaluation and learning"): ``mean(sum_a pi q + w (r - q(x, a_i)))``;
  unbiased when the propensities are right, whatever the model.
- **DR-OS**, DR with optimistic shrinkage (Su, Dimakopoulou, Krishnamurthy &
  Dudík 2020, "Doubly robust off-policy evaluation with shrinkage"): the
  weights are shrunk to ``lambda w / (w^2 + lambda)``, ``lambda`` chosen to
  minimise the estimated variance plus a squared bias bound.
- **switch-DR** (Wang, Agarwal & Dudík 2017, "Optimal and adaptive
  off-policy evaluation in contextual bandits"): the correction term is
  dropped for weights above ``tau``, chosen the same way.

The reward model is **cross-fitted** (Chernozhukov et al. 2018): each
decision's ``q`` comes from a model that did not see it, so DR's correction
term is not fitted to its own noise. Every estimate has a 95% interval from
the normal approximation of its per-decision terms (for SNIPS by the delta
method) and optionally a percentile bootstrap. The DM interval treats the
model as fixed, so it is too narrow when the model is wrong — which is the
point of showing DM next to DR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nba.exceptions import NBAError
from nba.policies.base import LoggedBatch
from nba.stats import normal_interval

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "PolicyEvaluation",
    "importance_weights",
    "effective_sample_size",
    "ips",
    "snips",
    "dm",
    "dr",
    "dr_shrinkage",
    "switch_dr",
    "cross_fit_reward_model",
    "overlap_warnings",
    "evaluate_target",
]

#: Estimators computed by :func:`evaluate_target`, in report order.
ESTIMATORS: tuple[str, ...] = ("ips", "snips", "dm", "dr", "dr-os", "switch-dr")


@dataclass(frozen=True)
class Estimate:
    """A value estimate with its 95% interval.

    Attributes
    ----------
    value
        The estimate.
    ci95
        Normal-approximation 95% interval ``(lo, hi)``.
    se
        Its standard error.
    ci95_bootstrap
        Percentile-bootstrap 95% interval, when asked for.
    params
        Tuned parameters (``lambda`` of DR-OS, ``tau`` of switch-DR).
    """

    value: float
    ci95: tuple[float, float]
    se: float
    ci95_bootstrap: tuple[float, float] | None = None
    params: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: ``{"value", "ci95", "se", ...}``."""
        out: dict[str, Any] = {"value": self.value, "ci95": list(self.ci95), "se": self.se}
        if self.ci95_bootstrap is not None:
            out["ci95_bootstrap"] = list(self.ci95_bootstrap)
        if self.params:
            out["params"] = dict(self.params)
        return out


@dataclass(frozen=True)
class PolicyEvaluation:
    """Estimates of one target policy's value, with overlap diagnostics."""

    name: str
    n: int
    estimates: dict[str, Estimate]
    effective_sample_size: float
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``nba evaluate --json``'s ``policies`` items."""
        return {
            "name": self.name,
            "n": self.n,
            "estimates": {k: v.to_dict() for k, v in self.estimates.items()},
            "effective_sample_size": self.effective_sample_size,
            "warnings": list(self.warnings),
        }


# -- pieces ---------------------------------------------------------------------------
def importance_weights(
    target_probs: np.ndarray, action: np.ndarray, propensity: np.ndarray
) -> np.ndarray:
    """``w_i = pi(a_i | x_i) / p_i``, shape (n,).

    Examples
    --------
    >>> importance_weights(np.array([[0.5, 0.5], [1.0, 0.0]]), np.array([1, 1]),
    ...                    np.array([0.25, 0.5])).tolist()
    [2.0, 0.0]
    """
    n = action.shape[0]
    return target_probs[np.arange(n), action] / propensity


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (0 when all weights are 0).

    Examples
    --------
    >>> effective_sample_size(np.array([1.0, 1.0, 0.0, 2.0]))
    2.6666666666666665
    """
    s2 = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def _normal(terms: np.ndarray) -> Estimate:
    n = terms.shape[0]
    v = float(terms.mean()) if n else float("nan")
    se = float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return Estimate(v, normal_interval(v, se), se)


def ips(reward: np.ndarray, w: np.ndarray) -> Estimate:
    """Inverse propensity scoring.

    Examples
    --------
    >>> ips(np.array([1.0, 0.0, 1.0, 1.0]), np.array([2.0, 0.0, 0.0, 2.0])).value
    1.0
    """
    return _normal(w * reward)


def snips(reward: np.ndarray, w: np.ndarray) -> Estimate:
    """Self-normalised IPS, interval by the delta method.

    Examples
    --------
    >>> snips(np.array([1.0, 0.0, 1.0, 1.0]), np.array([2.0, 0.0, 0.0, 2.0])).value
    1.0
    """
    n, sw = w.shape[0], float(w.sum())
    if sw <= 0:
        nan = float("nan")
        return Estimate(nan, (nan, nan), nan)
    v = float((w * reward).sum() / sw)
    infl = w * (reward - v) / (sw / n)
    se = float(infl.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return Estimate(v, normal_interval(v, se), se)


def _dm_terms(target_probs: np.ndarray, q_hat: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", target_probs, q_hat)


def dm(target_probs: np.ndarray, q_hat: np.ndarray) -> Estimate:
    """Direct method: the reward model's value of the target's distribution.

    Examples
    --------
    >>> dm(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([[0.0, 1.0], [1.0, 3.0]])).value
    1.5
    """
    return _normal(_dm_terms(target_probs, q_hat))


def _residual(batch_reward: np.ndarray, q_hat: np.ndarray, action: np.ndarray) -> np.ndarray:
    return batch_reward - q_hat[np.arange(action.shape[0]), action]


def dr(
    reward: np.ndarray,
    w: np.ndarray,
    target_probs: np.ndarray,
    q_hat: np.ndarray,
    action: np.ndarray,
) -> Estimate:
    """Doubly robust (Dudík et al. 2011).

    Examples
    --------
    >>> probs = np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> q = np.array([[0.0, 0.5], [0.0, 0.5]])
    >>> dr(np.array([1.0, 0.0]), np.array([2.0, 0.0]), probs, q, np.array([1, 0])).value
    1.0
    """
    return _normal(_dm_terms(target_probs, q_hat) + w * _residual(reward, q_hat, action))


def _tuned(
    base: np.ndarray,
    w: np.ndarray,
    resid: np.ndarray,
    candidates: Sequence[float],
    shrink: Any,
    name: str,
) -> Estimate:
    """Pick the parameter minimising variance/n + (bias bound)^2, the Su et al. 2020 rule."""
    n = w.shape[0]
    best: tuple[float, float, np.ndarray] | None = None
    for c in candidates:
        ws = shrink(w, c)
        terms = base + ws * resid
        var = float(terms.var(ddof=1)) / n if n > 1 else 0.0
        bias = float(np.mean(np.abs(w - ws) * np.abs(resid)))
        crit = var + bias * bias
        if best is None or crit < best[0] - 1e-15:
            best = (crit, float(c), terms)
    assert best is not None
    est = _normal(best[2])
    return Estimate(est.value, est.ci95, est.se, params={name: best[1]})


def _grid(w: np.ndarray, power: int) -> list[float]:
    pos = w[w > 0] ** power
    if pos.size == 0:
        return [np.inf]
    qs = np.quantile(pos, [0.5, 0.75, 0.9, 0.95, 0.99, 1.0])
    return sorted({*(float(x) for x in np.concatenate([qs, qs * 10.0])), np.inf})


def dr_shrinkage(
    reward: np.ndarray,
    w: np.ndarray,
    target_probs: np.ndarray,
    q_hat: np.ndarray,
    action: np.ndarray,
    lam: float | None = None,
) -> Estimate:
    """DR with optimistic shrinkage (Su et al. 2020): ``w -> lam w / (w^2 + lam)``.

    ``lam = inf`` is plain DR; ``lam=None`` tunes it on a grid of weight
    quantiles by the estimated variance plus the squared bias bound
    ``mean(|w - w_shrunk| |r - q|)``.

    Examples
    --------
    >>> probs = np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> q = np.array([[0.0, 0.5], [0.0, 0.5]])
    >>> r, w, a = np.array([1.0, 0.0]), np.array([2.0, 0.0]), np.array([1, 0])
    >>> dr_shrinkage(r, w, probs, q, a, lam=float("inf")).value
    1.0
    """

    def shrink(w: np.ndarray, c: float) -> np.ndarray:
        return w if np.isinf(c) else c * w / (w * w + c)

    base, resid = _dm_terms(target_probs, q_hat), _residual(reward, q_hat, action)
    return _tuned(base, w, resid, [lam] if lam is not None else _grid(w, 2), shrink, "lambda")


def switch_dr(
    reward: np.ndarray,
    w: np.ndarray,
    target_probs: np.ndarray,
    q_hat: np.ndarray,
    action: np.ndarray,
    tau: float | None = None,
) -> Estimate:
    """Switch-DR (Wang et al. 2017): no correction term where ``w > tau``.

    Examples
    --------
    >>> probs = np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> q = np.array([[0.0, 0.5], [0.0, 0.5]])
    >>> r, w, a = np.array([1.0, 0.0]), np.array([2.0, 0.0]), np.array([1, 0])
    >>> switch_dr(r, w, probs, q, a, tau=1.0).value
    0.5
    """

    def cut(w: np.ndarray, c: float) -> np.ndarray:
        return np.where(w <= c, w, 0.0)

    base, resid = _dm_terms(target_probs, q_hat), _residual(reward, q_hat, action)
    return _tuned(base, w, resid, [tau] if tau is not None else _grid(w, 1), cut, "tau")


# -- reward model ---------------------------------------------------------------------
def _make_model(kind: Any, random_state: int) -> Any:
    from sklearn.base import clone

    if not isinstance(kind, str):
        return clone(kind)
    if kind == "ridge":
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1.0)
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=100, random_state=random_state)
    raise NBAError(f"reward model `{kind}`: expected `ridge`, `hgb` or a scikit-learn regressor")


def cross_fit_reward_model(
    batch: LoggedBatch,
    *,
    model: Any = "ridge",
    n_folds: int = 5,
    random_state: int = 0,
) -> np.ndarray:
    """Cross-fitted reward predictions ``q(x_i, a)`` for every decision and action.

    Parameters
    ----------
    batch
        The logged decisions.
    model
        ``"ridge"`` (one ridge regression per action on the context,
        default), ``"hgb"`` (one gradient-boosted model on context and
        one-hot action, captures interactions) or any scikit-learn regressor
        (cloned, one per action).
    n_folds
        Folds: row ``i``'s prediction comes from the model fitted on the
        other folds.
    random_state
        Seed of the fold assignment.

    Returns
    -------
    Shape (n, n_actions). Actions with fewer than 2 training rows in a fold
    get the fold's mean reward.

    Examples
    --------
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> logs = synthetic_logs(200, seed=0)
    >>> cross_fit_reward_model(logs.batch, n_folds=2).shape
    (200, 4)
    """
    n, k = len(batch), batch.context.n_actions
    X, a, r = batch.context.X, batch.action, batch.reward
    if n_folds < 2:
        raise NBAError(f"`n_folds`: expected an integer >= 2, got {n_folds}")
    rng = np.random.default_rng(random_state)
    fold = rng.permutation(n) % n_folds
    q = np.zeros((n, k))
    joint = model == "hgb"
    for f in range(n_folds):
        test, train = fold == f, fold != f
        if not test.any():
            continue
        mean = float(r[train].mean()) if train.any() else 0.0
        if joint:
            est = _make_model(model, random_state)
            onehot = np.eye(k)[a[train]]
            est.fit(np.hstack([X[train], onehot]), r[train])
            Xt = X[test]
            for j in range(k):
                q[test, j] = est.predict(np.hstack([Xt, np.tile(np.eye(k)[j], (Xt.shape[0], 1))]))
            continue
        for j in range(k):
            rows = train & (a == j)
            if rows.sum() < 2:
                q[test, j] = mean
                continue
            est = _make_model(model, random_state)
            est.fit(X[rows], r[rows])
            q[test, j] = est.predict(X[test])
    return q


# -- diagnostics ----------------------------------------------------------------------
def overlap_warnings(
    batch: LoggedBatch,
    target_probs: np.ndarray,
    w: np.ndarray,
    *,
    logging_probs: np.ndarray | None = None,
    min_propensity: float = 0.01,
    min_ess_share: float = 0.05,
) -> list[str]:
    """Plain-language warnings when the logs support the target policy poorly.

    Examples
    --------
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> logs = synthetic_logs(100, seed=0)
    >>> target = np.zeros((100, 4)); target[:, 0] = 1.0
    >>> overlap_warnings(logs.batch, target, np.ones(100))
    []
    """
    out: list[str] = []
    n = len(batch)
    if n == 0:
        return ["no decisions to evaluate on"]
    ids = batch.context.actions.ids
    tiny = batch.propensity < min_propensity
    if tiny.any():
        out.append(
            f"{int(tiny.sum())} decisions ({tiny.mean():.1%}) have a logged propensity below "
            f"{min_propensity:g} (smallest {batch.propensity.min():.2g}); their importance "
            f"weights (up to {w.max():.3g}) make IPS and DR noisy"
        )
    tried = np.bincount(batch.action, minlength=len(ids)) > 0
    mass = target_probs.mean(axis=0)
    never = [j for j in range(len(ids)) if not tried[j] and mass[j] > 0]
    if never:
        share = float(mass[never].sum())
        out.append(
            f"the target policy puts {share:.1%} of its probability on actions the logs never "
            f"tried ({', '.join(ids[j] for j in never)}): IPS, SNIPS and DR cannot see their "
            "rewards, DM extrapolates"
        )
    if logging_probs is not None:
        unsupported = float((target_probs * (logging_probs <= 0)).sum() / n)
        if unsupported > 0:
            out.append(
                f"{unsupported:.1%} of the target policy's probability is on actions the "
                "logging policy could not choose for that customer: estimates are biased there"
            )
    ess = effective_sample_size(w)
    if ess < min_ess_share * n:
        out.append(
            f"effective sample size {ess:.0f} is under {min_ess_share:.0%} of the {n} decisions: "
            "the target differs a lot from the logging policy; intervals are wide or unreliable"
        )
    return out


# -- everything for one target --------------------------------------------------------
def _bootstrap(
    terms: dict[str, tuple[np.ndarray, np.ndarray | None]],
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, tuple[float, float]]:
    n = next(iter(terms.values()))[0].shape[0]
    out: dict[str, tuple[float, float]] = {}
    chunks = []
    for start in range(0, n_boot, 50):
        size = min(50, n_boot - start)
        chunks.append(rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64))
    for name, (num, den) in terms.items():
        with np.errstate(invalid="ignore", divide="ignore"):  # SNIPS resamples with no weight
            vals = np.concatenate([c @ num / (c @ den if den is not None else n) for c in chunks])
        lo, hi = np.nanquantile(vals, [0.025, 0.975])
        out[name] = (float(lo), float(hi))
    return out


def evaluate_target(
    batch: LoggedBatch,
    target_probs: np.ndarray,
    *,
    q_hat: np.ndarray | None = None,
    name: str = "target",
    estimators: Sequence[str] = ESTIMATORS,
    logging_probs: np.ndarray | None = None,
    n_bootstrap: int = 0,
    random_state: int = 0,
    min_propensity: float = 0.01,
) -> PolicyEvaluation:
    """Every estimator for one target policy on logged decisions.

    Parameters
    ----------
    batch
        The logged decisions.
    target_probs
        Shape (n, n_actions): the target policy's distribution per decision.
    q_hat
        Shape (n, n_actions) cross-fitted reward predictions (computed with
        the default model when ``None`` and a model-based estimator is asked).
    name
        The target's name in reports.
    estimators
        Subset of :data:`ESTIMATORS`.
    logging_probs
        The logging policy's full distribution, when logged (overlap check).
    n_bootstrap
        Bootstrap resamples for ``ci95_bootstrap`` (0: none). The reward
        model and tuned parameters are held fixed across resamples.
    random_state
        Seed of the bootstrap and of the model's folds.
    min_propensity
        Propensities below this draw a warning.

    Returns
    -------
    PolicyEvaluation

    Examples
    --------
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> logs = synthetic_logs(2000, seed=1)
    >>> always_1 = np.zeros((2000, 4)); always_1[:, 1] = 1.0
    >>> ev = evaluate_target(logs.batch, always_1, estimators=["ips", "snips"])
    >>> sorted(ev.estimates)
    ['ips', 'snips']
    """
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise NBAError(
            f"unknown estimator(s) {', '.join(unknown)}; expected some of {', '.join(ESTIMATORS)}"
        )
    n = len(batch)
    if target_probs.shape != (n, batch.context.n_actions):
        raise NBAError(
            f"target probabilities: expected shape ({n}, {batch.context.n_actions}), "
            f"got {target_probs.shape}"
        )
    r, a = batch.reward, batch.action
    w = importance_weights(target_probs, a, batch.propensity)
    need_q = any(e in ("dm", "dr", "dr-os", "switch-dr") for e in estimators)
    if need_q and q_hat is None:
        q_hat = cross_fit_reward_model(batch, random_state=random_state)
    est: dict[str, Estimate] = {}
    boot_terms: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for e in estimators:
        if e == "ips":
            est[e] = ips(r, w)
            boot_terms[e] = (w * r, None)
        elif e == "snips":
            est[e] = snips(r, w)
            boot_terms[e] = (w * r, w)
        else:
            assert q_hat is not None
            base, resid = _dm_terms(target_probs, q_hat), _residual(r, q_hat, a)
            if e == "dm":
                est[e] = dm(target_probs, q_hat)
                boot_terms[e] = (base, None)
            elif e == "dr":
                est[e] = dr(r, w, target_probs, q_hat, a)
                boot_terms[e] = (base + w * resid, None)
            elif e == "dr-os":
                est[e] = dr_shrinkage(r, w, target_probs, q_hat, a)
                lam = est[e].params["lambda"]
                ws = w if np.isinf(lam) else lam * w / (w * w + lam)
                boot_terms[e] = (base + ws * resid, None)
            else:
                est[e] = switch_dr(r, w, target_probs, q_hat, a)
                ws = np.where(w <= est[e].params["tau"], w, 0.0)
                boot_terms[e] = (base + ws * resid, None)
    if n_bootstrap > 0 and n > 1:
        cis = _bootstrap(boot_terms, n_bootstrap, np.random.default_rng(random_state))
        est = {k: Estimate(v.value, v.ci95, v.se, cis[k], v.params) for k, v in est.items()}
    warnings = overlap_warnings(
        batch, target_probs, w, logging_probs=logging_probs, min_propensity=min_propensity
    )
    return PolicyEvaluation(name, n, est, effective_sample_size(w), tuple(warnings))
