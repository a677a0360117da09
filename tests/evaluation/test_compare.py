"""Policies side by side, per segment, what-if for guardrails, training from logs."""

from __future__ import annotations

import numpy as np
import pytest

from nba.catalog import Catalog
from nba.evaluation import (
    LogError,
    LoggedDecisions,
    OffPolicyProblem,
    evaluate_policies,
    segment_breakdown,
    train_from_logs,
    what_if,
)
from nba.guardrails import Guardrails, parse_guardrails
from nba.policies.random import RandomPolicy
from nba.policies.rules import RulePolicy
from nba.policies.spec import make_policy
from nba.settings import EXAMPLE_DIR


@pytest.fixture(scope="module")
def uniform_logs() -> LoggedDecisions:
    return OffPolicyProblem(explore=1.0).sample(4000, seed=3)


def test_constant_policies_match_per_action_means_on_randomized_logs(
    uniform_logs: LoggedDecisions,
) -> None:
    ids = uniform_logs.actions.ids
    policies = {f"always {a}": make_policy(f"constant:action={a}") for a in ids}
    cmp = evaluate_policies(uniform_logs, policies, include_logging=False)
    b = uniform_logs.batch
    for k, ev in enumerate(cmp.policies):
        chosen = b.action == k
        mean = b.reward[chosen].mean()
        # uniform logging: SNIPS of "always k" is exactly the mean reward of the rows with k
        assert ev.estimates["snips"].value == pytest.approx(mean, abs=1e-12)
        # IPS, DM and DR agree with it within their own intervals
        for name in ("ips", "dr"):
            lo, hi = ev.estimates[name].ci95
            assert lo <= mean <= hi, (ids[k], name)
        assert ev.effective_sample_size == pytest.approx(chosen.sum())


def test_logging_policy_value_is_the_mean_logged_reward(uniform_logs: LoggedDecisions) -> None:
    cmp = evaluate_policies(uniform_logs, {})
    assert cmp.logging_policy_value.value == pytest.approx(uniform_logs.batch.reward.mean())
    (logging,) = cmp.policies
    assert logging.name == "logging"
    assert logging.estimates["ips"].value == pytest.approx(uniform_logs.batch.reward.mean())
    doc = cmp.to_dict()
    assert set(doc) >= {"n", "logging_policy_value", "policies"}
    assert set(doc["policies"][0]) >= {"name", "estimates", "effective_sample_size", "warnings"}


def test_logging_policy_without_its_distribution_gets_ips_and_snips_only(
    uniform_logs: LoggedDecisions,
) -> None:
    from dataclasses import replace

    logs = replace(uniform_logs, probs=None)
    (logging,) = evaluate_policies(logs, {}).policies
    assert set(logging.estimates) == {"ips", "snips"}
    assert logging.effective_sample_size == pytest.approx(len(logs))


def test_rule_baseline_needs_signals(uniform_logs: LoggedDecisions) -> None:
    with pytest.raises(LogError, match=r"the `rules` policy needs the raw signals \(`s.\*`"):
        evaluate_policies(uniform_logs, {"rules": RulePolicy()})


def test_rules_random_and_constant_side_by_side_on_nba_logs(nba_logs: LoggedDecisions) -> None:
    rules = RulePolicy(rules=str(EXAMPLE_DIR / "rules.yaml"))
    cmp = evaluate_policies(
        nba_logs,
        {"rules": rules, "random": RandomPolicy(), "nothing": make_policy("constant")},
    )
    by = {p.name: p for p in cmp.policies}
    assert list(by) == ["rules", "random", "nothing", "logging"]
    # the logs were written by the random policy: its weights are all 1
    assert by["random"].effective_sample_size == pytest.approx(len(nba_logs))
    assert by["random"].estimates["ips"].value == pytest.approx(nba_logs.batch.reward.mean())
    # "never contact" is supported only by the rows where the logs sent nothing
    assert 0 < by["nothing"].effective_sample_size <= (nba_logs.batch.action == 0).sum()
    assert by["rules"].effective_sample_size > 0


def test_segments_below_the_minimum_are_refused(nba_logs: LoggedDecisions) -> None:
    segs = segment_breakdown(nba_logs, {"random": RandomPolicy()}, "a.device", min_decisions=100)
    assert {s.segment for s in segs} == {"mobile", "desktop"}
    assert all(s.comparison is not None for s in segs)
    assert sum(s.n for s in segs) == len(nba_logs)
    small = segment_breakdown(nba_logs, {}, "age_band", min_decisions=300)
    refused = [s for s in small if s.refused]
    assert refused and all("too few to estimate" in s.refused for s in refused)
    assert all(s.n < 300 for s in refused)
    with pytest.raises(LogError, match=r"the logs have no column `colour`"):
        segment_breakdown(nba_logs, {}, "colour")


def test_what_if_restricts_the_policy_to_what_proposed_guardrails_allow(
    nba_logs: LoggedDecisions, catalog: Catalog, guardrails: Guardrails
) -> None:
    proposed = parse_guardrails({"suitability": [{"name": "no_sms", "channel": "sms"}]}, catalog)
    result = what_if(nba_logs, RandomPolicy(), Guardrails(proposed, catalog))
    sms = np.flatnonzero(catalog.actions.channel_index == catalog.channel_ids.index("sms"))
    assert result.removed_share > 0 and result.rows_changed > 0
    # the random policy loses its sms mass; its current value is the logged mean
    assert result.current.estimates["ips"].value == pytest.approx(nba_logs.batch.reward.mean())
    assert result.proposed.effective_sample_size < len(nba_logs)
    # true values: uniform over allowed actions of the known expected rewards
    mu = nba_logs.expected_reward
    allowed = nba_logs.batch.allowed.copy()
    allowed[:, sms] = False
    truth = ((allowed * mu).sum(1) / allowed.sum(1)).mean()
    lo, hi = result.proposed.estimates["dr"].ci95
    assert lo <= truth <= hi
    assert set(result.to_dict()) >= {"proposed", "current", "logging", "removed_share"}


def test_what_if_without_signals_says_so(
    uniform_logs: LoggedDecisions, catalog: Catalog, guardrails: Guardrails
) -> None:
    with pytest.raises(LogError, match=r"what-if for guardrails needs the raw signals"):
        what_if(uniform_logs, RandomPolicy(), guardrails)


def test_trained_policy_beats_the_logging_policy_off_policy() -> None:
    prob = OffPolicyProblem()
    train, test = prob.sample(6000, seed=1), prob.sample(6000, seed=2)
    result = train_from_logs(make_policy("linucb:alpha=0.1"), train)
    assert result.n == 6000 and result.examples_per_second > 0
    cmp = evaluate_policies(test, {"linucb": result.policy})
    learned, logging = cmp.policies
    truth = prob.true_value(result.policy, n=200_000)
    lo, hi = learned.estimates["dr"].ci95
    assert lo <= truth <= hi
    assert learned.estimates["dr"].value > logging.estimates["ips"].ci95[1]
