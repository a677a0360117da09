"""Speed of the policies: one-customer latency, batch decisions/s and learning rate.

For each policy (random, linucb, lints, reward-model, vw when importable)
on 41 actions and ~50 encoder-like context features, prints

- ``p50 µs`` / ``p99 µs``: latency of ``predict_proba`` for one customer,
  and the decisions/s that latency gives on one thread;
- ``batch dec/s``: ``predict_proba`` on ``--n`` (100,000) customers at once,
  best and median of ``--repeat-batch`` runs;
- ``learn ex/s``: ``partial_fit`` on ``--n`` logged decisions, after a first
  ``fit`` on as many (so the reward model refits on a full buffer).

Targets: batch >= 200,000 decisions/s and single p50 <= 100 µs for the
linear policies on 2 cores; learning >= 100,000 examples/s. Figures on a
shared machine vary with its load, which the header prints.

Run: ``python benchmarks/bench_policies.py [--n 100000] [--only linucb,lints]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from collections.abc import Callable

import numpy as np

from nba.catalog import ActionSpace
from nba.features.context import Context
from nba.policies.base import LoggedBatch, Policy
from nba.policies.spec import make_policy
from nba.sampling import sample_actions

SPECS = ("random", "linucb", "lints", "reward-model", "vw")


def action_space(n_actions: int, rng: np.random.Generator) -> ActionSpace:
    """n_actions actions (no-contact included): one-hot ids plus a few shared tags."""
    base = ActionSpace.from_labels([f"m{j}" for j in range(1, n_actions)])
    tags = (rng.random((n_actions, 8)) < 0.3).astype(float)
    return ActionSpace(
        actions=base.actions,
        features=np.hstack([base.features, tags]),
        feature_names=base.feature_names + tuple(f"tag={k}" for k in range(8)),
        message_index=base.message_index,
        channel_index=base.channel_index,
    )


def contexts(n: int, d: int, space: ActionSpace, rng: np.random.Generator) -> Context:
    """Encoder-like rows: a ``bias`` column, dense log-counts, one-hot stage, flags."""
    X = np.zeros((n, d))
    X[:, 0] = 1.0
    n_dense = d // 2
    X[:, 1 : 1 + n_dense] = np.log1p(rng.exponential(2.0, (n, n_dense)))
    X[np.arange(n), 1 + n_dense + rng.integers(0, 7, n)] = 1.0  # journey stage
    flags = d - (1 + n_dense + 7)
    X[:, d - flags :] = rng.random((n, flags)) < 0.5
    names = ("bias", *(f"f{j}" for j in range(1, d)))
    return Context(X, space, names)


def allowed_mask(n: int, n_actions: int, rng: np.random.Generator) -> np.ndarray:
    allowed = rng.random((n, n_actions)) < 0.8
    allowed[:, 0] = True
    return allowed


def logged(ctx: Context, rng: np.random.Generator) -> LoggedBatch:
    n, k = len(ctx), ctx.n_actions
    allowed = allowed_mask(n, k, rng)
    p = allowed / allowed.sum(axis=1, keepdims=True)
    action = sample_actions(p, rng)
    mean = 0.05 + 0.1 * (action % 3 == (ctx.X[:, 1] > 1.0))
    reward = (rng.random(n) < mean).astype(float)
    return LoggedBatch(ctx, allowed, action, p[np.arange(n), action], reward)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(spec: str, args: argparse.Namespace) -> dict[str, float]:
    rng = np.random.default_rng(0)
    space = action_space(args.actions, rng)
    policy: Policy = make_policy(spec, random_state=0)
    first = logged(contexts(args.n, args.d, space, rng), rng)
    second = logged(contexts(args.n, args.d, space, rng), rng)
    policy.fit(first)
    learn = args.n / timed(lambda: policy.partial_fit(second))

    batch_ctx = contexts(args.n, args.d, space, rng)
    batch_allowed = allowed_mask(args.n, args.actions, rng)
    policy.predict_proba(batch_ctx.take(np.arange(1000)), batch_allowed[:1000])  # warm up
    runs = [
        timed(lambda: policy.predict_proba(batch_ctx, batch_allowed))
        for _ in range(args.repeat_batch)
    ]

    pool = contexts(256, args.d, space, rng)
    singles = [pool.take(np.array([i])) for i in range(256)]
    masks = [m[None] for m in allowed_mask(256, args.actions, rng)]
    times = np.empty(args.repeat)
    for r in range(args.repeat):
        ctx, mask = singles[r % 256], masks[r % 256]
        t0 = time.perf_counter_ns()
        policy.predict_proba(ctx, mask)
        times[r] = time.perf_counter_ns() - t0
    close = getattr(policy, "close", None)
    if callable(close):
        close()
    return {
        "p50": float(np.percentile(times, 50) / 1e3),
        "p99": float(np.percentile(times, 99) / 1e3),
        "single": float(1e9 / times.mean()),
        "batch_best": args.n / min(runs),
        "batch_median": args.n / float(np.median(runs)),
        "learn": learn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="batch size (decisions, examples)")
    parser.add_argument("--d", type=int, default=50, help="context features, bias included")
    parser.add_argument("--actions", type=int, default=41, help="actions, no-contact included")
    parser.add_argument("--repeat", type=int, default=3000, help="single-customer calls")
    parser.add_argument("--repeat-batch", type=int, default=5, help="batch predictions")
    parser.add_argument("--only", default="", help="comma-separated specs (default: all)")
    args = parser.parse_args()
    specs = [s for s in args.only.split(",") if s] or list(SPECS)
    if "vw" in specs and importlib.util.find_spec("nba.policies.vw") is None:
        specs.remove("vw")

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{args.actions} actions, {args.d} features, batch n={args.n:,}; "
        f"{len(os.sched_getaffinity(0))} cores, load average {load}; "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    header = (
        f"{'policy':<14}{'p50 µs':>9}{'p99 µs':>9}{'single dec/s':>14}"
        f"{'batch dec/s (best)':>20}{'(median)':>11}{'learn ex/s':>13}"
    )
    print(header)
    print("-" * len(header))
    for spec in specs:
        r = bench(spec, args)
        print(
            f"{spec:<14}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['single']:>14,.0f}"
            f"{r['batch_best']:>20,.0f}{r['batch_median']:>11,.0f}{r['learn']:>13,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
