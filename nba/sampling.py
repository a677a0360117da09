"""Sampling one action per customer from a policy's distribution: the only sampler.

Every caller that turns a distribution into decisions — the pipeline, the
policy check suite, synthetic logs — samples here, so the same generator
state gives the same actions everywhere and the logged propensity is
``probs[row, action]`` of the distribution that was sampled.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_actions"]


def sample_actions(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample one action per row of a (n, n_actions) distribution.

    Draws one uniform number per row (``rng.random((n, 1))``) and never
    returns an action of probability zero.

    Parameters
    ----------
    probs
        Shape (n, n_actions), non-negative rows with a positive sum (they are
        normalised, so round-off in a row's sum does not matter).
    rng
        The generator to draw from.

    Returns
    -------
    Shape (n,) int: the index of each row's sampled action; its propensity is
    ``probs[np.arange(n), action]``.

    Examples
    --------
    >>> sample_actions(np.array([[0.0, 1.0, 0.0]]), np.random.default_rng(0)).tolist()
    [1]
    """
    # the ufuncs themselves rather than np.cumsum / .sum: same sums, without
    # the Python wrappers that cost more than the arithmetic for one customer.
    # Counting the entries <= u of the normalised cumulative sum gives the first
    # index whose cumulative mass passes u, which has positive probability.
    cum = np.add.accumulate(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random((probs.shape[0], 1))
    return np.add.reduce(cum <= u, axis=1)
