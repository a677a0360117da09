"""Benchmark: the default experiment end to end (20,000 customers x 60 days, 8 policies, 5 seeds).

Prints the wall time, the time per policy run, and the comparison (JSON).
Usage::

    python benchmarks/bench_experiment.py [CONFIG] [--workers N] [--no-track]

The target is <= 10 minutes on 2 cores for experiments/omnichannel/experiment.yaml.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

from nba.experiment import dumps, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "config", nargs="?", default=str(ROOT / "experiments/omnichannel/experiment.yaml")
    )
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--no-track", action="store_true")
    ap.add_argument("--tracking-uri", default=None)
    args = ap.parse_args()
    per_policy: dict[str, list[float]] = defaultdict(list)

    def on_run(r) -> None:  # type: ignore[no-untyped-def]
        per_policy[r.policy_name].append(r.seconds)
        print(f"  {r.policy_name:<14} seed {r.seed}: {r.seconds:6.1f} s", flush=True)  # noqa: T201

    t0 = time.perf_counter()
    result = run_experiment(
        args.config,
        workers=args.workers,
        track=not args.no_track,
        tracking_uri=args.tracking_uri,
        on_run=on_run,
    )
    wall = time.perf_counter() - t0
    workers = args.workers or result.config.workers
    print(f"\nconfig: {args.config}  cpus: {os.cpu_count()}  workers: {workers}")  # noqa: T201
    print(f"wall time: {wall:.1f} s ({wall / 60:.2f} min) for {len(result.runs)} runs")  # noqa: T201
    for name, secs in per_policy.items():
        print(f"  {name:<14} mean {sum(secs) / len(secs):6.1f} s per run (one process)")  # noqa: T201
    print(dumps(result.summary))  # noqa: T201


if __name__ == "__main__":
    main()
