"""Off-policy evaluation quality and training throughput (prints figures).

Usage::

    .venv/bin/python benchmarks/bench_offline.py            # everything (~10 min on 2 cores)
    .venv/bin/python benchmarks/bench_offline.py --quick    # 10 repetitions, smaller runs
    .venv/bin/python benchmarks/bench_offline.py --only coverage|simulator|throughput

1. **Coverage on known truth** (:class:`nba.evaluation.OffPolicyProblem`):
   a LinUCB policy is trained on one log of 50,000 randomized decisions,
   then evaluated on ``--reps`` fresh logs of 50,000 decisions each; the
   truth is its population value (Monte Carlo over 1,000,000 contexts with
   exact expected rewards). Reports, per estimator, the mean relative
   error, the 95th percentile of the relative error, the bias and how often
   the 95% interval covers the truth. The reward model (ridge per action) is
   deliberately misspecified (the truth is curved), so DM's bias shows.
2. **Simulator logs** (:mod:`nba.simulator`, the omnichannel scenario): a
   uniformly random logging policy; the targets are LinUCB and the funnel
   policy trained on a separate run; the truth of each repetition is the mean over its logged
   contexts of ``sum_a pi(a|x) expected_reward(x, a)`` from the simulator's
   oracle. Also reports how far the simulator's expected reward is from the
   realised (joined) reward of the logged actions — the truth is only
   meaningful if that gap is within noise (it is with the example goal's
   ``attribution: tagged``; last touch would add organic purchases the
   oracle does not count).
3. **Training throughput** from logs (``train_from_logs``) for VW and the
   linear policies, on synthetic and on omnichannel-catalog logs; and VW
   reading our DSJSON export with its own parser.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from nba.evaluation import (
    ESTIMATORS,
    LoggedDecisions,
    OffPolicyProblem,
    cross_fit_reward_model,
    evaluate_target,
    train_from_logs,
    write_dsjson,
)
from nba.policies.spec import make_policy


def _summary(name: str, values: np.ndarray, truths: np.ndarray, cis: np.ndarray) -> str:
    err = values - truths
    rel = np.abs(err) / np.abs(truths)
    cover = ((cis[:, 0] <= truths) & (truths <= cis[:, 1])).mean()
    width = (cis[:, 1] - cis[:, 0]).mean()
    return (
        f"  {name:<10} mean {values.mean():9.5f}  bias {err.mean():+9.5f}  "
        f"rel.err mean {rel.mean():6.2%} p95 {np.quantile(rel, 0.95):6.2%}  "
        f"CI95 coverage {cover:6.1%}  mean width {width:.5f}"
    )


def _study(
    label: str,
    make_logs: object,
    target: object,
    truth_of: object,
    reps: int,
) -> None:
    vals = {e: [] for e in ESTIMATORS}
    cis = {e: [] for e in ESTIMATORS}
    truths = []
    ess = []
    started = time.perf_counter()
    for r in range(reps):
        logs: LoggedDecisions = make_logs(r)  # type: ignore[operator]
        probs = target.predict_proba(logs.batch.context, logs.batch.allowed)  # type: ignore[attr-defined]
        q = cross_fit_reward_model(logs.batch, random_state=r)
        ev = evaluate_target(logs.batch, probs, q_hat=q, random_state=r)
        truths.append(truth_of(logs, probs))  # type: ignore[operator]
        ess.append(ev.effective_sample_size / len(logs))
        for e in ESTIMATORS:
            vals[e].append(ev.estimates[e].value)
            cis[e].append(ev.estimates[e].ci95)
    t = np.array(truths)
    print(
        f"{label}: {reps} repetitions of {len(logs)} decisions, truth {t.mean():.5f} "
        f"(sd {t.std():.5f}), ESS {np.mean(ess):.1%} of n, {time.perf_counter() - started:.0f}s"
    )
    for e in ESTIMATORS:
        print(_summary(e, np.array(vals[e]), t, np.array(cis[e])))


#: Learned target policies of the studies: a linear bandit, and a gradient-boosted
#: reward model (which learns the curvature a linear DM misses).
TARGETS = ("linucb:alpha=0.1", "reward-model:model=gbm")
#: Targets of the simulator study: the funnel policy learns from the logs' outcomes.
SIM_TARGETS = ("linucb:alpha=0.1", "funnel")


def coverage(reps: int, n: int) -> None:
    prob = OffPolicyProblem()
    print(
        f"\n== 1. synthetic problem: logging value {prob.true_value():.5f}, "
        f"oracle {prob.true_value(prob.oracle()):.5f}"
    )
    for spec in TARGETS:
        target = train_from_logs(make_policy(spec, random_state=0), prob.sample(n, seed=999))
        truth = prob.true_value(target.policy, n=1_000_000)
        _study(
            f"synthetic, target {spec} (value {truth:.5f})",
            lambda r: prob.sample(n, seed=r),
            target.policy,
            lambda logs, probs, truth=truth: truth,
            reps,
        )


def simulator(reps: int, customers: int, days: int) -> None:
    from nba.policies.random import RandomPolicy
    from nba.settings import EXAMPLE_DIR
    from nba.simulator.run import simulate_logs
    from nba.simulator.scenario import load_scenario

    sc = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    train_logs = simulate_logs(sc, RandomPolicy(), customers, days, seed=999)
    b, er = train_logs.batch, train_logs.expected_reward
    assert er is not None
    logged_er = er[np.arange(len(b)), b.action]
    se = b.reward.std() / np.sqrt(len(b))
    print(
        f"\n== 2. simulator (omnichannel scenario, {customers} customers x {days} days, "
        f"uniform random logging): {len(b)} decisions\n"
        f"  check: mean realised reward {b.reward.mean():.5f} (se {se:.5f}) vs mean oracle "
        f"expected reward of the logged actions {logged_er.mean():.5f}"
    )

    def truth_of(logs: LoggedDecisions, probs: np.ndarray) -> float:
        assert logs.expected_reward is not None
        return float(np.einsum("ij,ij->i", probs, logs.expected_reward).mean())

    for spec in SIM_TARGETS:
        target = train_from_logs(make_policy(spec, random_state=0), train_logs).policy
        _study(
            f"simulator, target {spec}",
            lambda r: simulate_logs(sc, RandomPolicy(), customers, days, seed=r),
            target,
            truth_of,
            reps,
        )


def _throughput(label: str, logs: LoggedDecisions, specs: list[str]) -> None:
    print(
        f"\n{label}: {len(logs)} decisions, {logs.batch.context.X.shape[1]} features, "
        f"{len(logs.actions)} actions"
    )
    for spec in specs:
        policy = make_policy(spec, random_state=0)
        res = train_from_logs(policy, logs)
        print(f"  {spec:<28} {res.examples_per_second:12,.0f} examples/s ({res.seconds:.2f}s)")
        close = getattr(policy, "close", None)
        if close is not None:
            close()


def _vw_dsjson(logs: LoggedDecisions) -> None:
    from vowpalwabbit import Workspace

    from nba.policies.vw import VWPolicy

    with tempfile.TemporaryDirectory() as tmp:
        path = write_dsjson(Path(tmp) / "logs.dsjson", logs)
        args = [*VWPolicy(algo="epsilon").vw_args(), "--dsjson", "--random_seed", "0"]
        started = time.perf_counter()
        ws = Workspace(arg_list=[*args, "--data", str(path)])
        ws.run_parser()
        ws.finish()
        sec = time.perf_counter() - started
    print(
        f"  {'VW --dsjson reading our export':<28} {len(logs) / sec:12,.0f} examples/s "
        f"({sec:.2f}s, VW's own C++ parser)"
    )


def throughput(n: int) -> None:
    specs = ["vw:algo=squarecb", "vw:algo=epsilon", "linucb", "lints", "reward-model"]
    print("\n== 3. training throughput from logs (train_from_logs = policy.fit(logs.batch))")
    syn = OffPolicyProblem().sample(n, seed=0)
    _throughput("synthetic", syn, specs)
    _vw_dsjson(syn)
    from nba.policies.random import RandomPolicy
    from nba.settings import EXAMPLE_DIR
    from nba.simulator.run import simulate_logs
    from nba.simulator.scenario import load_scenario

    sc = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    sim = simulate_logs(sc, RandomPolicy(), max(n // 2, 1000), 7, seed=0)
    _throughput("omnichannel simulator logs", sim, specs)
    _vw_dsjson(sim)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--sim-reps", type=int, default=None)
    ap.add_argument("--only", choices=["coverage", "simulator", "throughput"], default=None)
    args = ap.parse_args()
    reps = args.reps or (10 if args.quick else 100)
    sim_reps = args.sim_reps or (5 if args.quick else 30)
    if args.only in (None, "coverage"):
        coverage(reps, 50_000)
    if args.only in (None, "simulator"):
        simulator(sim_reps, 35_000, 7)
    if args.only in (None, "throughput"):
        throughput(20_000 if args.quick else 100_000)


if __name__ == "__main__":
    main()
