"""The simulator: determinism, ground truth, the oracle, the signal round-trip, checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from nba.exceptions import ConfigError
from nba.features.state import CustomerStates
from nba.policies.spec import make_policy
from nba.settings import EXAMPLE_DIR
from nba.simulator import (
    OraclePolicy,
    Simulator,
    check_simulator,
    join_rewards,
    load_scenario,
    parse_scenario,
    run_policy,
    simulate_logs,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "experiments").glob("*/scenario.yaml"))


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(EXAMPLE_DIR / "scenario.yaml")


def _rules(sc):
    return make_policy("rules", rules=str(sc.rules_path))


def test_shipped_scenarios_exist():
    assert {p.parent.name for p in SCENARIOS} >= {"omnichannel", "rules-hard-to-beat", "drift"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.parent.name)
def test_check_simulator_on_shipped_scenarios(path):
    check_simulator(load_scenario(path), customers=150, days=2)


def test_same_seed_same_events(scenario):
    def trace(seed):
        sim = Simulator(scenario, 300, days=4)
        run_policy(sim, make_policy("linucb", random_state=seed), seed=seed)
        sim.flush()
        return sim.event_arrays(), sim.decision_arrays(), sim.decision_ids()

    a, b, c = trace(3), trace(3), trace(4)
    for k in a[0]:
        np.testing.assert_array_equal(a[0][k], b[0][k])
    for k in a[1]:
        np.testing.assert_array_equal(a[1][k], b[1][k])
    assert a[2] == b[2]
    assert len(a[0]["ts"]) != len(c[0]["ts"]) or not np.array_equal(a[0]["ts"], c[0]["ts"])


def test_events_round_trip_through_the_signal_code(scenario):
    sim = Simulator(scenario, 250, days=6)
    run_policy(sim, _rules(scenario), seed=1)
    events = sim.events()
    assert {e.type.value for e in events} >= {"sent", "opened", "clicked", "page_view", "purchase"}
    assert all(e.decision_id for e in events if e.type.value in ("sent", "opened", "clicked"))
    pop = sim.population
    fresh = CustomerStates(
        scenario.catalog,
        pop.customer_ids,
        consent=pop.consent,
        attributes=pop.attributes,
        signup=np.full(sim.n, (scenario.spec.start.timestamp() - 30 * 86_400.0)),
    )
    fresh.apply_events(events)
    now = sim.now
    mine, theirs = sim.states.signals(now), fresh.signals(now)
    assert set(mine.values) == set(theirs.values)
    for k in mine.values:
        np.testing.assert_allclose(theirs.values[k], mine.values[k], atol=1e-5, err_msg=k)
    np.testing.assert_array_equal(theirs.consent, mine.consent)
    np.testing.assert_allclose(theirs.days_since_message, mine.days_since_message, atol=1e-5)


def _clone_population_scenario(tmp_path: Path, organic: float = 0.0):
    """One segment, no noise: every customer is the same, so Monte Carlo averages are exact."""
    doc = {
        "name": "clones",
        "catalog": str(EXAMPLE_DIR / "catalog.yaml"),
        "guardrails": str(EXAMPLE_DIR / "guardrails.yaml"),
        "goal": str(EXAMPLE_DIR / "goal.yaml"),
        "rules": str(EXAMPLE_DIR / "rules.yaml"),
        "noise": 0.0,
        "opportunities": {"scheduled_rate": 1.0},
        "delays": {"open_hours": 30, "purchase_days": 3},  # many responses fall outside 7 days
        "segments": [
            {
                "name": "all",
                "share": 1.0,
                "consent": {"email": 1.0, "sms": 1.0, "push": 1.0},
                "open_rate": {"email": 0.6, "sms": 0.5, "push": 0.5, "web": 0.5, "in_app": 0.5},
                "click_rate": 0.5,
                "conversion": 0.3,
                "value": 80,
                "organic_purchase": organic,
                "unsubscribe": 0.05,
                "complaint": 0.03,
            }
        ],
    }
    p = tmp_path / "clones.yaml"
    p.write_text(yaml.safe_dump(doc))
    return load_scenario(p)


@pytest.mark.parametrize("action", ["brand_story@email", "welcome@push", "product_guide@web"])
def test_expected_reward_matches_monte_carlo(tmp_path, action):
    sc = _clone_population_scenario(tmp_path)
    sim = Simulator(sc, 40_000, days=1)
    sim.reset(seed=7)
    decider = sim.make_decider(make_policy(f"constant:action={action}"))
    opp = sim.observe()
    batch = decider.decide(sim.states, opp.now, opp.rows, budget_left=opp.budget_left)
    a = sc.catalog.actions.index(action)
    chosen = batch.action == a
    assert chosen.mean() > 0.5  # the guardrails let most customers get it
    out = sim.step(batch)
    realised = out.reward[chosen]
    expected = out.expected_reward[chosen, a]
    se = realised.std(ddof=1) / np.sqrt(chosen.sum())
    assert abs(realised.mean() - expected.mean()) < 4 * se
    # the goal's join (delays, window, late events) gives the same rewards
    sim.flush()
    np.testing.assert_allclose(join_rewards(sim, 0, sim.n_decisions)[0], out.reward, atol=1e-9)


def test_oracle_is_at_least_as_good_as_every_policy_in_expectation(scenario):
    values = {}
    for spec in ("rules", "random", "linucb", "oracle"):
        sim = Simulator(scenario, 1500, days=10)
        pol = (
            OraclePolicy(simulator=sim)
            if spec == "oracle"
            else make_policy(spec, random_state=0, rules=str(scenario.rules_path))
        )
        res = run_policy(sim, pol, seed=2)
        values[spec] = res.totals["expected_reward_per_customer"]
        assert res.guardrail_violations == 0
        if spec == "oracle":
            assert res.totals["regret_per_customer"] == pytest.approx(0.0, abs=1e-12)
    assert all(values["oracle"] >= v for v in values.values())
    assert values["rules"] > values["random"]


def test_simulate_logs_holds_ground_truth(scenario):
    logs = simulate_logs(scenario, make_policy("random", random_state=0), 300, 3, seed=0)
    n = len(logs)
    assert n > 100
    assert logs.expected_reward.shape == (n, len(scenario.catalog.actions))
    assert (logs.expected_reward[:, 0] == 0).all()
    assert np.isfinite(logs.batch.reward).all()
    assert logs.batch.context.signals is not None and len(logs.batch.context.signals) == n
    assert len(set(logs.decision_ids)) == n
    assert (np.diff(logs.timestamps) >= 0).all()


def test_drift_changes_traits():
    sc = load_scenario(ROOT / "experiments" / "drift" / "scenario.yaml")
    sim = Simulator(sc, 200, days=32)
    sim.reset(seed=0)
    before = sim.traits.open_rate.copy()
    while sim.day < 30:
        sim.observe()
    assert not np.allclose(before, sim.traits.open_rate)


def _base() -> dict:
    return yaml.safe_load((EXAMPLE_DIR / "scenario.yaml").read_text())


def _with(**changes):
    doc = _base()
    for k, v in changes.items():
        doc[k] = v
    return doc


def _seg(**changes):
    doc = _base()
    doc["segments"][0].update(changes)
    return doc


BAD = [
    (_with(segments=[]), r"`segments`: List should have at least 1 item"),
    (_with(colour="red"), r"`colour`: is not a known field"),
    (_seg(share=-1), r"segment `young_mobile`, `share`: Input should be greater than 0"),
    (_seg(open_rate={"fax": 0.1}), r"segment `young_mobile`, `open_rate`: unknown key `fax`"),
    (_seg(open_rate={"email": 1.5}), r"rate for `email` must be in \[0, 1\], got 1.5"),
    (_seg(interest={"cats": 2}), r"`interest`: unknown key `cats`"),
    (_seg(attributes={"age_band": {"90+": 1}}), r"attribute `age_band`: unknown value `90\+`"),
    (_seg(click_rate=2), r"`click_rate`: Input should be less than or equal to 1"),
    (_with(drift=[{"day": 3, "segments": {"nobody": {}}}]), r"unknown segment `nobody`"),
    (
        _with(drift=[{"day": 3, "segments": {"researchers": {"mood": 1}}}]),
        r"`mood` is not a segment trait",
    ),
    (_with(catalog="missing.yaml"), r"missing.yaml: file not found"),
]


@pytest.mark.parametrize(("doc", "match"), BAD)
def test_bad_scenarios_give_clear_errors(doc, match):
    with pytest.raises(ConfigError, match=match):
        parse_scenario(doc, EXAMPLE_DIR, "scenario.yaml")


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: file not found"):
        load_scenario(tmp_path / "nope.yaml")


def _uniform_logs(scenario, customers, days, seed):
    from nba.policies.random import RandomPolicy

    return simulate_logs(scenario, RandomPolicy(random_state=seed), customers, days, seed=seed)


@pytest.mark.parametrize(("attribution", "consistent"), [("tagged", True), ("last_touch", False)])
def test_joined_reward_is_what_the_ground_truth_expects(scenario, attribution, consistent):
    """The oracle's truth and the goal's reward agree when the goal counts tagged events only;
    last touch adds the organic purchases the contacts did not cause."""
    from dataclasses import replace

    goal = replace(
        scenario.goal, spec=scenario.goal.spec.model_copy(update={"attribution": attribution})
    )
    logs = _uniform_logs(replace(scenario, goal=goal), 4000, 25, seed=5)
    chosen = logs.expected_reward[np.arange(len(logs)), logs.batch.action]
    gap = logs.batch.reward - chosen
    se = gap.std() / np.sqrt(len(gap))
    if consistent:
        assert abs(gap.mean()) < 3 * se, (gap.mean(), se)
    else:
        assert gap.mean() > 5 * se, (gap.mean(), se)
