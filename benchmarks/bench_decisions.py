"""Decision speed through the whole pipeline, per policy.

Prints, for each policy, on the omnichannel example (47 actions, 16 rules):

* one customer at a time: p50 / p99 latency of ``Decider.decide_signals``
  (guardrails + encoding + policy + sampling + ids) and of the policy's
  ``predict_proba`` alone, and decisions/s;
* a batch of 100,000 customers: decisions/s for the whole pipeline (from
  precomputed signals) and for ``predict_proba`` alone, the median of
  ``--repeat`` runs after a warm-up run (the first run of a size also pays
  the operating system for fresh memory pages, a cost that varies run to run).

Each learning policy first learns from 20,000 random decisions so that it
is not trivially empty. Run: ``python benchmarks/bench_decisions.py``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np

from nba.catalog import load_catalog
from nba.events import EVENT_CODES, EventType
from nba.features.encoding import Encoder
from nba.features.state import CustomerStates
from nba.guardrails import Guardrails, load_guardrails
from nba.pipeline import Decider
from nba.policies.base import LoggedBatch
from nba.policies.spec import make_policy
from nba.sampling import sample_actions
from nba.settings import EXAMPLE_DIR

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
SPECS = ["rules", "random", "linucb", "lints", "vw", "reward-model"]


def population(catalog, n: int, seed: int = 0) -> CustomerStates:
    rng = np.random.default_rng(seed)
    n_ch = len(catalog.channels)
    attrs = {
        name: rng.choice(np.array(spec.values, dtype=object), n)
        for name, spec in catalog.attributes.items()
        if spec.type == "categorical"
    }
    states = CustomerStates(
        catalog,
        [f"c{i}" for i in range(n)],
        consent=rng.random((n, n_ch)) < 0.7,
        attributes=attrs,
        timezones=["Europe/Paris"] * n,
    )
    k = 8 * n
    codes = rng.choice(
        [
            EVENT_CODES[t]
            for t in (
                EventType.SENT,
                EventType.OPENED,
                EventType.CLICKED,
                EventType.PAGE_VIEW,
                EventType.PURCHASE,
            )
        ],
        k,
    )
    ts = (NOW - timedelta(days=60)).timestamp() + rng.random(k) * 60 * 86400 - 3600
    states.apply_arrays(
        rng.integers(0, n, k),
        ts,
        codes,
        rng.integers(0, n_ch, k),
        rng.integers(0, len(catalog.messages), k),
        rng.random(k) * 50,
    )
    return states


def median_time(run: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls of ``run``, after one untimed call."""
    run()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=2000, help="single decisions per policy")
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--policies", nargs="*", default=SPECS)
    parser.add_argument("--repeat", type=int, default=3, help="timed batch runs (median)")
    args = parser.parse_args()

    catalog = load_catalog(EXAMPLE_DIR / "catalog.yaml")
    guard = Guardrails(load_guardrails(EXAMPLE_DIR / "guardrails.yaml", catalog), catalog)
    enc = Encoder(catalog)
    big = population(catalog, args.batch)
    t0 = time.perf_counter()
    sig_big = big.signals(NOW)
    t_sig = time.perf_counter() - t0
    print(
        f"catalog: {len(catalog.actions)} actions, {len(guard.spec.rules)} rules, "
        f"{len(enc.feature_names)} context features"
    )
    print(
        f"signals for {args.batch:,} customers: {t_sig * 1e3:.0f} ms "
        f"({args.batch / t_sig:,.0f} customers/s)\n"
    )
    train_sig = sig_big.take(np.arange(20_000))
    ctx_train = enc.encode(train_sig)
    allowed_train = guard.evaluate(train_sig).allowed
    rng = np.random.default_rng(0)
    probs = allowed_train / allowed_train.sum(1, keepdims=True)
    act = sample_actions(probs, rng)
    batch = LoggedBatch(
        ctx_train,
        allowed_train,
        act,
        probs[np.arange(len(act)), act],
        rng.random(len(act)) * (act % 3 == 0),
    )

    header = (
        f"{'policy':<14}{'pipe p50 µs':>12}{'pipe p99 µs':>12}{'pipe dec/s':>12}"
        f"{'pol p50 µs':>12}{'pol p99 µs':>12}{'batch pipe/s':>14}{'batch pol/s':>13}"
    )
    print(header)
    print("-" * len(header))
    singles = [sig_big.take(np.array([i])) for i in range(args.single)]
    for spec in args.policies:
        policy = make_policy(spec, rules=str(EXAMPLE_DIR / "rules.yaml"), random_state=0)
        policy.partial_fit(batch)
        decider = Decider(catalog, guard, policy, random_state=0)
        for s in singles[:50]:  # warm-up
            decider.decide_signals(s)
        lat = np.empty(len(singles))
        for i, s in enumerate(singles):
            t = time.perf_counter()
            decider.decide_signals(s)
            lat[i] = time.perf_counter() - t
        ctxs = [enc.encode(s) for s in singles]
        allows = [guard.evaluate(s).allowed for s in singles]
        plat = np.empty(len(singles))
        for i, (c, a) in enumerate(zip(ctxs, allows, strict=True)):
            t = time.perf_counter()
            policy.predict_proba(c, a)
            plat[i] = time.perf_counter() - t
        t_pipe = median_time(partial(decider.decide_signals, sig_big), args.repeat)
        ctx_big, allowed_big = enc.encode(sig_big), guard.evaluate(sig_big).allowed
        t_pol = median_time(partial(policy.predict_proba, ctx_big, allowed_big), args.repeat)
        print(
            f"{spec:<14}{np.percentile(lat, 50) * 1e6:>12.0f}"
            f"{np.percentile(lat, 99) * 1e6:>12.0f}{1 / lat.mean():>12,.0f}"
            f"{np.percentile(plat, 50) * 1e6:>12.0f}{np.percentile(plat, 99) * 1e6:>12.0f}"
            f"{args.batch / t_pipe:>14,.0f}{args.batch / t_pol:>13,.0f}"
        )


if __name__ == "__main__":
    main()
