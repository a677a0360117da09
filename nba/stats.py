"""95 % intervals: the one home of the statistics nba reports.

- :func:`mean_interval`: mean and Student-t interval across seeds;
- :func:`paired_interval`: relative lift over a baseline, paired by seed;
- :func:`difference_interval`: difference of two groups' means (normal
  approximation, unequal variances; Welch), as for served customers against
  the holdout;
- :func:`normal_interval`: an estimate ± Z95 standard errors (off-policy
  estimators).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "Z95",
    "difference_interval",
    "mean_interval",
    "normal_interval",
    "paired_interval",
    "t95",
]

#: The normal distribution's 97.5 % quantile: a two-sided 95 % interval is ± Z95 standard errors.
Z95 = 1.959963984540054


def normal_interval(value: float, se: float) -> tuple[float, float]:
    """The 95 % normal interval of an estimate with standard error ``se``.

    Examples
    --------
    >>> [round(x, 3) for x in normal_interval(1.0, 0.5)]
    [0.02, 1.98]
    """
    return (value - Z95 * se, value + Z95 * se)


def t95(k: int) -> float:
    """Student-t 97.5 % quantile with ``k - 1`` degrees of freedom (NaN below 2).

    Examples
    --------
    >>> round(t95(5), 3)
    2.776
    """
    from scipy.stats import t

    return float(t.ppf(0.975, k - 1)) if k > 1 else float("nan")


def mean_interval(x: np.ndarray) -> tuple[float, list[float]]:
    """Mean and 95% t-interval across seeds.

    Examples
    --------
    >>> m, ci = mean_interval(np.array([1.0, 2.0, 3.0]))
    >>> m, [round(c, 3) for c in ci]
    (2.0, [-0.484, 4.484])
    """
    x = np.asarray(x, dtype=float)
    m = float(x.mean())
    if len(x) < 2:
        return m, [m, m]
    h = t95(len(x)) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return m, [m - h, m + h]


def paired_interval(policy: np.ndarray, base: np.ndarray) -> tuple[float, list[float]]:
    """Relative lift over the baseline, paired by seed: mean and 95% t-interval.

    Each seed's lift is ``(policy - base) / |base|``.

    Examples
    --------
    >>> m, ci = paired_interval(np.array([1.18, 1.2, 1.22]), np.array([1.0, 1.0, 1.0]))
    >>> round(m, 3), ci[0] > 0
    (0.2, True)
    """
    b = np.asarray(base, dtype=float)
    lift = (np.asarray(policy, dtype=float) - b) / np.maximum(np.abs(b), 1e-12)
    return mean_interval(lift)


def difference_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, list[float] | None]:
    """Mean of ``a`` minus mean of ``b``, with a 95 % normal interval (unequal
    variances); the interval is None when a group has fewer than two values.

    Examples
    --------
    >>> d, ci = difference_interval(np.array([1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    >>> round(d, 3), [round(x, 3) for x in ci]
    (0.333, [-0.591, 1.257])
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return diff, None
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return diff, list(normal_interval(diff, se))
