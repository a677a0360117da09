"""Speed of the Vowpal Wabbit policy: single-customer decision latency and learning rate.

Prints p50/p99 latency of ``predict_proba`` for one customer (41 actions,
~50 context features), through the cached-example path the policy uses and
through VW's plain text parser (the reference path), and examples learned
per second from logs with few (4) and many (41) actions: through
``partial_fit`` (placeholders for the unchosen actions where that is exact,
labelled examples reused), through the cached path that gives VW every
allowed action, and through VW's text parser. On a shared machine compare
the rates with the text path's, measured in the same run, and look at the
rate per CPU second too (less sensitive to other processes); ``--rounds``
keeps the best of several runs of each.

Run: ``python benchmarks/bench_vw.py [--algo squarecb] [--repeat 3000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_policies import action_space  # the same synthetic action space

from nba.catalog import ActionSpace
from nba.features.context import Context
from nba.policies.base import LoggedBatch
from nba.policies.vw import VWPolicy


def contexts(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Encoder-like rows: a bias, dense numeric columns and sparse one-hots."""
    dense = min(19, d // 2)  # 19 numeric columns when d = 50
    X = np.zeros((n, d))
    X[:, 0] = 1.0
    X[:, 1 : 1 + dense] = rng.normal(size=(n, dense))
    X[np.arange(n), 1 + dense + rng.integers(0, d - 1 - dense, size=n)] = 1.0
    return X


def logged(space: ActionSpace, n: int, d: int, rng: np.random.Generator) -> LoggedBatch:
    X = contexts(n, d, rng)
    k = len(space)
    action = rng.integers(0, k, size=n)
    reward = (rng.random(n) < 0.1 + 0.2 * (action == (X[:, 1] > 0))).astype(float)
    names = tuple(f"f{j}" for j in range(d))
    return LoggedBatch(
        Context(X, space, names), np.ones((n, k), bool), action, np.full(n, 1 / k), reward
    )


def latency(fn, repeat: int) -> tuple[float, float]:
    times = np.empty(repeat)
    for r in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        times[r] = time.perf_counter_ns() - t0
    return float(np.percentile(times, 50) / 1e3), float(np.percentile(times, 99) / 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="squarecb")
    parser.add_argument("--repeat", type=int, default=3000)
    parser.add_argument("--n-learn", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="best of this many learning runs")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    d = args.d

    print(f"VWPolicy(algo={args.algo!r}), {d} context features")
    space = action_space(41, rng)
    with VWPolicy(algo=args.algo, random_state=0) as policy:
        policy.fit(logged(space, 5000, d, rng))
        names = tuple(f"f{j}" for j in range(d))
        ctxs = [Context(x[None, :], space, names) for x in contexts(256, d, rng)]
        allowed = np.ones((1, len(space)), bool)
        some = allowed.copy()
        some[0, rng.choice(len(space), size=15, replace=False)] = False
        some[0, 0] = True
        it = iter(range(10**9))
        policy.predict_proba(ctxs[0], allowed)
        examples = policy._vw_.last_space.examples
        for label, fn in (
            ("cached", lambda: policy.predict_proba(ctxs[next(it) % 256], allowed)),
            ("cached, 26 of 41 allowed", lambda: policy.predict_proba(ctxs[next(it) % 256], some)),
            ("text", lambda: policy._predict_proba_text(ctxs[next(it) % 256], allowed)),
            ("VW's predict_multi alone", lambda: policy._vw_.predict(examples)),
        ):
            latency(fn, 200)  # warm up
            p50, p99 = latency(fn, args.repeat)
            print(
                f"  predict 1 customer x 41 actions, {label:>25}: "
                f"p50 {p50:7.1f} µs  p99 {p99:7.1f} µs"
            )

    learners = (
        ("partial_fit", lambda p, b: p.partial_fit(b), 1),
        ("all actions", lambda p, b: p._learn(b, placeholders=False), 1),
        ("text", lambda p, b: p._partial_fit_text(b), 5),
    )
    for n_actions in (4, 41):
        space = action_space(n_actions, rng)
        batch = logged(space, args.n_learn, d, rng)
        for label, learn, fraction in learners:
            part = batch.take(np.arange(args.n_learn // fraction))
            wall = cpu = 0.0
            for _ in range(args.rounds):
                with VWPolicy(algo=args.algo, random_state=0) as policy:
                    t0, c0 = time.perf_counter(), time.process_time()
                    learn(policy, part)
                    wall = max(wall, len(part) / (time.perf_counter() - t0))
                    cpu = max(cpu, len(part) / (time.process_time() - c0))
            print(
                f"  learn {n_actions:2d} actions, {label:>11}: {wall:9,.0f} examples/s "
                f"({cpu:9,.0f} per CPU second)"
            )


if __name__ == "__main__":
    main()
