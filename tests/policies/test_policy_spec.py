"""Policy specs for the shipped policies: parsing, errors, saved directories."""

from __future__ import annotations

import re

import pytest

from nba.exceptions import PolicyError, PolicySpecError
from nba.policies.linear import LinearTS, LinUCB
from nba.policies.spec import make_policy, parse_spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "linucb:alpha",
            "policy spec `linucb:alpha`: parameter `alpha` is not of the form key=value",
        ),
        ("linucb:=1", "policy spec `linucb:=1`: parameter `=1` is not of the form key=value"),
        (
            "nope",
            "unknown policy `nope`; expected one of rules, random, constant, vw, linucb, "
            "lints, reward-model, funnel, guarded or the directory of a saved policy",
        ),
        (
            "linucb:beta=1",
            "policy spec `linucb:beta=1`: unknown parameter `beta` for `linucb`; "
            "expected one of alpha, ridge, random_state",
        ),
        (
            "lints:alpha=1",
            "policy spec `lints:alpha=1`: unknown parameter `alpha` for `lints`; "
            "expected one of v, ridge, n_samples, random_state",
        ),
        (
            "random:x=1",
            "policy spec `random:x=1`: unknown parameter `x` for `random`; "
            "expected one of random_state",
        ),
    ],
)
def test_bad_specs_have_exact_messages(spec: str, message: str) -> None:
    with pytest.raises(PolicySpecError, match=f"^{re.escape(message)}$"):
        make_policy(spec)


def test_specs_build_typed_parameters() -> None:
    policy = make_policy("linucb:alpha=0.5,ridge=2", random_state=7)
    assert isinstance(policy, LinUCB)
    assert policy.get_params() == {"alpha": 0.5, "ridge": 2, "random_state": 7}
    ts = make_policy("lints:n_samples=8,v=1")
    assert isinstance(ts, LinearTS) and ts.n_samples == 8 and ts.random_state is None
    rm = make_policy("reward-model:model=gbm,epsilon=0.1")
    assert (rm.model, rm.epsilon) == ("gbm", 0.1)
    assert make_policy("constant:action=welcome@email").action == "welcome@email"
    assert parse_spec("reward-model:epsilon=0.1") == ("reward-model", {"epsilon": 0.1})


@pytest.mark.parametrize(
    "spec",
    ["random", "constant:action=a1", "linucb:alpha=0.3", "lints:v=0.2", "reward-model", "funnel"],
)
def test_spec_property_rebuilds_the_policy(spec: str) -> None:
    policy = make_policy(spec, random_state=1)
    again = make_policy(policy.spec)
    assert type(again) is type(policy) and again.get_params() == policy.get_params()


def test_saved_directory_is_a_spec(tmp_path) -> None:
    from nba.policies.bandit import make_linear_bandit

    problem = make_linear_bandit()
    policy = make_policy("linucb:alpha=0.2").fit(problem.logged_batch(100))
    path = policy.save(tmp_path / "p")
    loaded = make_policy(str(path))
    assert isinstance(loaded, LinUCB) and loaded.alpha == 0.2 and loaded.version == "100"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("linucb:alpha=nan", "LinUCB: `alpha` must be a finite number >= 0, got nan"),
        ("linucb:alpha=-1", "LinUCB: `alpha` must be a finite number >= 0, got -1"),
        ("linucb:ridge=0", "LinUCB: `ridge` must be a finite number > 0, got 0"),
        ("lints:v=inf", "LinearTS: `v` must be a finite number > 0, got inf"),
        ("lints:ridge=-2.5", "LinearTS: `ridge` must be a finite number > 0, got -2.5"),
        ("lints:n_samples=0", "LinearTS: `n_samples` must be an integer >= 1, got 0"),
        ("funnel:epsilon=2", "FunnelPolicy: `epsilon` must be a number in [0, 1], got 2"),
    ],
)
def test_out_of_range_values_are_refused_when_the_spec_is_built(spec: str, message: str) -> None:
    # refused at once (e.g. at a model promotion), not at the policy's first update
    with pytest.raises(PolicyError, match=f"^{re.escape(f'policy spec `{spec}`: {message}')}$"):
        make_policy(spec)


def test_a_guarded_spec_checks_its_challenger_values() -> None:
    with pytest.raises(PolicyError, match=r"`alpha` must be a finite number >= 0, got nan"):
        make_policy("linucb:alpha=nan,guard=true")


@pytest.mark.parametrize("value", ["none", "null", "12", "true", "0.5"])
def test_a_text_parameter_keeps_its_text(value: str) -> None:
    # an action id that reads like a number, a boolean or None is still that id
    assert make_policy(f"constant:action={value}").action == value
