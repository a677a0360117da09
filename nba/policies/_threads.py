"""Thread control for the native libraries policies call (BLAS, OpenMP).

OpenBLAS and OpenMP worker threads spin while they wait for one another.
On a machine whose cores are busy (a server handling other requests, a CI
runner) a matrix product or a gradient-boosting fit that is small enough to
be cut into blocks can then run tens of times slower multi-threaded than on
one thread. Policies therefore run those pieces single-threaded and, where
the work is large, spread independent blocks over Python threads instead
(numpy and BLAS release the GIL).

The limit is process-wide (that is how these libraries work) and
reference-counted, so nested and concurrent users restore the original
setting only when the last one leaves.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded", "run_blocks", "n_threads"]

_lock = threading.Lock()
_users: dict[str, int] = {}
_limiters: dict[str, Any] = {}


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@lru_cache(maxsize=1)
def n_threads() -> int:
    """Python threads used for the blocks of a large batch: at most 2, fewer on one core.

    The cores this process may run on where the platform says (Linux:
    ``os.sched_getaffinity``), else the machine's (``os.cpu_count``; macOS, Windows).
    Computed on first use, not at import.

    Examples
    --------
    >>> 1 <= n_threads() <= 2
    True
    """
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return min(2, cores)


@contextmanager
def single_threaded(user_api: str) -> Iterator[None]:
    """Run the libraries of ``user_api`` (``"blas"`` or ``"openmp"``) on one thread.

    Examples
    --------
    >>> import numpy as np
    >>> with single_threaded("blas"):
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    with _lock:
        if _users.get(user_api, 0) == 0:
            _limiters[user_api] = _controller().limit(limits=1, user_api=user_api)
        _users[user_api] = _users.get(user_api, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _users[user_api] -= 1
            if _users[user_api] == 0:
                _limiters.pop(user_api).restore_original_limits()


def run_blocks(fn: Callable[[int, int], None], n: int, size: int) -> None:
    """Call ``fn(start, stop)`` on the consecutive blocks of ``range(n)``.

    One block runs directly; several run with single-threaded BLAS, on
    :func:`n_threads` threads when there are at least four. ``fn`` must
    only write the rows of its own block, so the result does not depend on
    the scheduling.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(10)
    >>> def double(s, e):
    ...     out[s:e] = 2 * np.arange(s, e)
    >>> run_blocks(double, 10, 3)
    >>> out
    array([ 0.,  2.,  4.,  6.,  8., 10., 12., 14., 16., 18.])
    """
    spans = [(s, min(s + size, n)) for s in range(0, n, size)]
    if len(spans) <= 1:
        for s, e in spans:
            fn(s, e)
        return
    with single_threaded("blas"):
        threads = n_threads()
        if threads < 2 or len(spans) < 4:
            for s, e in spans:
                fn(s, e)
            return
        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(fn, s, e) for s, e in spans]:
                future.result()
