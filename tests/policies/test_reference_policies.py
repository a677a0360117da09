"""The random and constant reference policies."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nba.catalog import ActionSpace, Catalog
from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.random import ConstantPolicy, RandomPolicy
from nba.policies.spec import make_policy

SPACE = ActionSpace.from_labels(["a", "b", "c"])
ALLOWED = np.array(
    [
        [True, True, True, True],
        [True, False, True, False],
        [True, False, False, False],
    ]
)


def _ctx(n: int = 3) -> Context:
    return Context(np.zeros((n, 2)), SPACE)


def test_random_is_uniform_over_allowed() -> None:
    p = RandomPolicy().predict_proba(_ctx(), ALLOWED)
    np.testing.assert_allclose(p, [[0.25] * 4, [0.5, 0, 0.5, 0], [1, 0, 0, 0]])


def test_constant_puts_all_mass_on_its_action_or_no_contact() -> None:
    p = ConstantPolicy(action="b").predict_proba(_ctx(), ALLOWED)
    np.testing.assert_array_equal(p, [[0, 0, 1, 0], [0, 0, 1, 0], [1, 0, 0, 0]])
    p = ConstantPolicy(action="c").predict_proba(_ctx(), ALLOWED)
    np.testing.assert_array_equal(p, [[0, 0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0]])


def test_constant_default_never_contacts() -> None:
    policy = ConstantPolicy()
    assert policy.action == "no_contact" and policy.kind == "baseline"
    np.testing.assert_array_equal(policy.predict_proba(_ctx(), ALLOWED)[:, 0], 1.0)


def test_constant_without_no_contact_allowed_falls_back_to_uniform() -> None:
    allowed = np.array([[False, True, False, True], [False, False, True, True]])
    p = ConstantPolicy(action="b").predict_proba(_ctx(2), allowed)
    np.testing.assert_allclose(p, [[0, 0.5, 0, 0.5], [0, 0, 1, 0]])


def test_constant_unknown_action_names_it_and_lists_the_valid_ids() -> None:
    with pytest.raises(
        PolicyError,
        match=re.escape("constant policy: unknown action `d`; expected one of no_contact, a, b, c"),
    ):
        make_policy("constant:action=d").predict_proba(_ctx(), ALLOWED)


def test_constant_works_with_catalog_action_ids() -> None:
    cat = Catalog.from_dict(
        {
            "channels": [
                {"id": "email", "content_types": ["plain"]},
                {"id": "sms", "content_types": ["plain"]},
            ],
            "messages": [{"id": "offer", "stages": ["purchase"]}],
        }
    )
    ctx = Context(np.zeros((1, 1)), cat.actions)
    p = make_policy("constant:action=offer@sms").predict_proba(ctx, np.ones((1, 3), bool))
    assert cat.actions.ids[int(p.argmax())] == "offer@sms"


@pytest.mark.parametrize("policy", [RandomPolicy(), ConstantPolicy(action="a")])
def test_reference_policies_refuse_bad_allowed_masks(policy) -> None:
    with pytest.raises(PolicyError, match=r"`allowed`: expected shape \(3, 4\), got \(3, 3\)"):
        policy.predict_proba(_ctx(), np.ones((3, 3), bool))
    with pytest.raises(PolicyError, match="every customer needs at least one allowed action"):
        policy.predict_proba(_ctx(1), np.zeros((1, 4), bool))


def test_reference_policies_do_not_learn() -> None:
    from nba.policies.bandit import make_linear_bandit

    problem = make_linear_bandit(n_actions=4)
    for policy in (RandomPolicy(random_state=3), ConstantPolicy(action="a2")):
        policy.fit(problem.logged_batch(100))
        assert not [k for k in vars(policy) if k.endswith("_")]
        assert policy.version == "0"
