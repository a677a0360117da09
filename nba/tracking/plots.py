"""Plots logged with experiments: learning curves and the lift chart (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["learning_curves", "lift_chart"]


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def learning_curves(
    curves: Mapping[str, np.ndarray], path: str | Path, *, ylabel: str, title: str
) -> Path:
    """One line per policy: its metric per day (mean over seeds, band = min..max).

    Parameters
    ----------
    curves
        Policy name -> shape (n_seeds, n_days).

    Examples
    --------
    >>> import tempfile
    >>> p = learning_curves({"a": np.ones((2, 3))}, tempfile.mkdtemp() + "/c.png",
    ...                     ylabel="r", title="t")
    >>> p.stat().st_size > 0
    True
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, arr in curves.items():
        a = np.atleast_2d(np.asarray(arr, dtype=float))
        days = np.arange(1, a.shape[1] + 1)
        ax.plot(days, a.mean(axis=0), label=name)
        if a.shape[0] > 1:
            ax.fill_between(days, a.min(axis=0), a.max(axis=0), alpha=0.15)
    ax.set_xlabel("simulated day")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out = Path(path)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def lift_chart(
    names: Sequence[str], means: Sequence[float], ci95: Sequence[Sequence[float]], path: str | Path
) -> Path:
    """Bars of lift over the rules with 95% intervals (paired by seed).

    Examples
    --------
    >>> import tempfile
    >>> lift_chart(["a"], [0.1], [[0.05, 0.15]], tempfile.mkdtemp() + "/l.png").suffix
    '.png'
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(names) + 1.5))
    m = 100.0 * np.asarray(means, dtype=float)
    lo = 100.0 * np.asarray([c[0] for c in ci95], dtype=float)
    hi = 100.0 * np.asarray([c[1] for c in ci95], dtype=float)
    y = np.arange(len(names))
    colors = [
        "tab:green" if lo_ > 0 else "tab:red" if hi_ < 0 else "tab:gray"
        for lo_, hi_ in zip(lo, hi, strict=True)
    ]
    ax.barh(y, m, xerr=np.vstack([m - lo, hi - m]), color=colors, capsize=4)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_yticks(y, labels=list(names))
    ax.set_xlabel("lift in reward per customer over the rules (%), 95% interval")
    ax.set_title("Lift over the rule baseline")
    out = Path(path)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
