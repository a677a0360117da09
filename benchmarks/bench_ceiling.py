"""How much of the oracle's headroom can a policy that sees only the signals close, at best?

The oracle knows every customer's hidden traits; a policy sees their
signals (history, attributes, stage). This benchmark bounds what any policy
built on nba's encoded context could reach in a scenario, by giving models
the *noise-free* truth instead of rewards:

1. uniformly random decisions on the scenario (``--customers`` x ``--days``),
   with the true expected reward of every action (the simulator's ground truth);
2. on the first half, fit models of the true expected reward from the
   encoded context and the action's features: a ridge regression per action
   and gradient-boosted trees over (context, action features);
3. on the second half, act greedily on each model and measure the true value,
   next to the rules and the oracle on the same customers.

``closed`` is (model - rules) / (oracle - rules). Reward noise, delayed
learning and exploration only lower what a learning policy reaches, so this
is an upper bound for policies on these features, not a target.

Run: ``python benchmarks/bench_ceiling.py [--scenario PATH] [--customers N] [--days D]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from nba.policies.random import RandomPolicy
from nba.policies.rules import RulePolicy
from nba.simulator.run import simulate_logs
from nba.simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "experiments/omnichannel/scenario.yaml"))
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--days", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    scenario = load_scenario(args.scenario)
    logs = simulate_logs(
        scenario, RandomPolicy(random_state=args.seed), args.customers, args.days, seed=args.seed
    )
    batch, truth = logs.batch, logs.expected_reward
    X, A, allowed = batch.context.X, batch.context.actions.features, batch.allowed
    n, n_actions = len(logs), A.shape[0]
    train, test = np.arange(n // 2), np.arange(n // 2, n)
    rows = np.arange(len(test))

    def value(scores: np.ndarray) -> float:
        pick = np.where(allowed[test], scores, -np.inf).argmax(axis=1)
        return float(truth[test][rows, pick].mean())

    oracle = float(np.where(allowed[test], truth[test], -np.inf).max(axis=1).mean())
    rules_p = RulePolicy(rules=str(scenario.rules_path)).predict_proba(
        batch.context.take(test), allowed[test]
    )
    rules = float((rules_p * truth[test]).sum(axis=1).mean())
    uniform = float((np.where(allowed[test], truth[test], 0).sum(1) / allowed[test].sum(1)).mean())

    # ridge per action on the context, fitted to the true value of every action
    Xd = np.hstack([X, np.ones((n, 1))])
    gram = Xd[train].T @ Xd[train] + np.eye(Xd.shape[1])
    coef = np.linalg.solve(gram, Xd[train].T @ truth[train])
    ridge = value(Xd[test] @ coef)

    # gradient-boosted trees over (context, action features), on the chosen actions
    sub = train[:: max(1, len(train) // 100_000)]
    F = np.hstack([X[sub], A[batch.action[sub]]])
    gbm = HistGradientBoostingRegressor(max_iter=300, max_leaf_nodes=63, random_state=0)
    gbm.fit(F, truth[sub, batch.action[sub]])
    scores = np.column_stack(
        [
            gbm.predict(np.hstack([X[test], np.repeat(A[j][None], len(test), 0)]))
            for j in range(n_actions)
        ]
    )
    trees = value(scores)

    print(f"scenario: {args.scenario}  {n:,} random decisions, evaluated on {len(test):,}")
    print(f"{'policy':<34}{'true value/decision':>20}{'closed':>10}")
    for name, v in (
        ("oracle (hidden traits)", oracle),
        ("greedy on ridge fit to the truth", ridge),
        ("greedy on trees fit to the truth", trees),
        ("rules", rules),
        ("uniform random", uniform),
    ):
        print(f"{name:<34}{v:>20.5f}{(v - rules) / (oracle - rules):>10.1%}")


if __name__ == "__main__":
    main()
