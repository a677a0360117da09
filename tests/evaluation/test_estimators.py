"""Estimators against hand-computed values, and statistical properties on known truth."""

from __future__ import annotations

import numpy as np
import pytest

from nba.catalog import ActionSpace
from nba.evaluation import (
    OffPolicyProblem,
    cross_fit_reward_model,
    dm,
    dr,
    dr_shrinkage,
    effective_sample_size,
    evaluate_target,
    importance_weights,
    ips,
    snips,
    switch_dr,
)
from nba.features.context import Context
from nba.policies.base import LoggedBatch

# 4 decisions, actions (no_contact, a); hand-computed values in the comments
ACTION = np.array([1, 0, 1, 0])
PROP = np.array([0.5, 0.5, 0.25, 0.75])
REWARD = np.array([1.0, 0.0, 2.0, 1.0])
TARGET = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
Q = np.array([[0.2, 0.8], [0.1, 0.5], [0.3, 1.5], [0.6, 0.4]])
W = importance_weights(TARGET, ACTION, PROP)


def test_weights_and_ess_by_hand() -> None:
    np.testing.assert_allclose(W, [2.0, 1.0, 0.0, 0.0])
    assert effective_sample_size(W) == pytest.approx(9.0 / 5.0)  # (2+1)^2 / (4+1)


def test_estimators_by_hand() -> None:
    assert ips(REWARD, W).value == pytest.approx(0.5)  # (2*1 + 1*0) / 4
    assert snips(REWARD, W).value == pytest.approx(2.0 / 3.0)  # 2 / (2 + 1)
    assert dm(TARGET, Q).value == pytest.approx(0.45)  # (0.8 + 0.3 + 0.3 + 0.4) / 4
    # DM terms + w (r - q(x, a)): 0.8 + 2*0.2, 0.3 + 1*(-0.1), 0.3, 0.4
    assert dr(REWARD, W, TARGET, Q, ACTION).value == pytest.approx(0.525)
    # switch at tau = 1.5 drops row 0's correction: (0.8 + 0.2 + 0.3 + 0.4) / 4
    assert switch_dr(REWARD, W, TARGET, Q, ACTION, tau=1.5).value == pytest.approx(0.425)
    # shrinkage lambda = 2: w -> 2w / (w^2 + 2) = 2/3 for w = 2 and w = 1
    expected = (0.8 + 0.2 * 2 / 3 + 0.3 - 0.1 * 2 / 3 + 0.3 + 0.4) / 4
    assert dr_shrinkage(REWARD, W, TARGET, Q, ACTION, lam=2.0).value == pytest.approx(expected)
    assert dr_shrinkage(REWARD, W, TARGET, Q, ACTION, lam=np.inf).value == pytest.approx(0.525)


def test_normal_interval_by_hand() -> None:
    est = ips(REWARD, W)  # terms 2, 0, 0, 0: mean 0.5, sd 1, se 0.5
    assert est.se == pytest.approx(0.5)
    assert est.ci95 == pytest.approx((0.5 - 1.959964 * 0.5, 0.5 + 1.959964 * 0.5))


def test_evaluate_target_with_given_model_and_bootstrap() -> None:
    batch = LoggedBatch(
        Context(np.zeros((4, 1)), ActionSpace.from_labels(["a"])),
        np.ones((4, 2), bool),
        ACTION,
        PROP,
        REWARD,
    )
    ev = evaluate_target(batch, TARGET, q_hat=Q, n_bootstrap=200, random_state=0)
    assert ev.estimates["dr"].value == pytest.approx(0.525)
    assert ev.estimates["snips"].value == pytest.approx(2.0 / 3.0)
    assert ev.effective_sample_size == pytest.approx(1.8)
    lo, hi = ev.estimates["ips"].ci95_bootstrap  # resamples of the terms 2, 0, 0, 0
    assert 0.0 <= lo <= 0.5 <= hi <= 2.0
    assert set(ev.to_dict()["estimates"]["ips"]) >= {"value", "ci95", "se", "ci95_bootstrap"}


def test_overlap_warnings_name_tiny_propensities_and_untried_actions() -> None:
    space = ActionSpace.from_labels(["a", "b"])
    n = 200
    action = np.tile([0, 1], n // 2)
    prop = np.where(np.arange(n) == 0, 0.001, 0.5)
    batch = LoggedBatch(
        Context(np.ones((n, 1)), space), np.ones((n, 3), bool), action, prop, np.zeros(n)
    )
    target = np.tile([0.5, 0.0, 0.5], (n, 1))  # half its mass on `b`, never logged
    ev = evaluate_target(batch, target, estimators=["ips", "snips"])
    text = " ".join(ev.warnings)
    assert "1 decisions (0.5%) have a logged propensity below 0.01" in text
    assert "puts 50.0% of its probability on actions the logs never tried (b)" in text


def test_cross_fitted_model_does_not_see_its_own_row() -> None:
    # pure-noise rewards: an in-sample model would correlate with them, a cross-fitted one not
    rng = np.random.default_rng(0)
    n = 400
    X = rng.standard_normal((n, 30))
    batch = LoggedBatch(
        Context(X, ActionSpace.from_labels(["a"])),
        np.ones((n, 2), bool),
        rng.integers(0, 2, n),
        np.full(n, 0.5),
        rng.standard_normal(n),
    )
    q = cross_fit_reward_model(batch, n_folds=5)
    own = q[np.arange(n), batch.action]
    assert np.corrcoef(own, batch.reward)[0, 1] < 0.1


def test_dr_is_unbiased_where_dm_is_not_and_intervals_cover() -> None:
    """Small version of benchmarks/bench_offline.py's coverage study (fixed seeds)."""
    prob = OffPolicyProblem()
    target = prob.oracle()
    truth = prob.true_value(target, n=200_000)
    reps, n = 40, 3000
    err = {"dm": [], "dr": []}
    cover = {"dm": 0, "dr": 0, "snips": 0}
    for seed in range(reps):
        logs = prob.sample(n, seed=1000 + seed)
        probs = target.predict_proba(logs.batch.context, logs.batch.allowed)
        ev = evaluate_target(logs.batch, probs, estimators=["snips", "dm", "dr"], random_state=seed)
        for k in cover:
            lo, hi = ev.estimates[k].ci95
            cover[k] += lo <= truth <= hi
        for k in err:
            err[k].append(ev.estimates[k].value - truth)
    dr_err, dm_err = np.array(err["dr"]), np.array(err["dm"])
    # DR: mean error within 3 standard errors of 0; intervals cover about 95% of the time
    assert abs(dr_err.mean()) < 3 * dr_err.std(ddof=1) / np.sqrt(reps)
    assert 0.85 <= cover["dr"] / reps <= 1.0
    assert 0.85 <= cover["snips"] / reps <= 1.0
    # DM with a linear model of a curved truth: biased, and its narrow interval misses
    assert dm_err.mean() < -0.01
    assert cover["dm"] / reps < 0.5
