"""The policy registry: nba's own policies, ``register_policy`` and the entry-point group."""

from __future__ import annotations

from pathlib import Path

import pytest

from nba.exceptions import PolicyError, PolicySpecError
from nba.policies.random import RandomPolicy
from nba.policies.registry import policy_names, register_policy
from nba.policies.spec import make_policy

MODULE = """
from nba.policies.random import RandomPolicy


class MinePolicy(RandomPolicy):
    name = "mine"

    def __init__(self, *, alpha: float = 1.0, random_state: int | None = None) -> None:
        self.alpha = alpha
        self.random_state = random_state
"""


def _distribution(root: Path, entry: str) -> None:
    """A distribution ``mine-policies`` on ``root`` declaring one ``nba.policies`` entry point."""
    info = root / "mine_policies-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mine-policies\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[nba.policies]\n{entry}\n")


def test_an_entry_point_policy_is_built_from_its_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine_policies.py").write_text(MODULE)
    _distribution(tmp_path, "mine = mine_policies:MinePolicy")
    monkeypatch.syspath_prepend(str(tmp_path))
    policy = make_policy("mine:alpha=2.5", random_state=3)
    assert type(policy).__name__ == "MinePolicy"
    assert policy.get_params() == {"alpha": 2.5, "random_state": 3}
    assert "mine" in policy_names()


def test_a_broken_entry_point_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _distribution(tmp_path, "mine = no_such_module:MinePolicy")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = r"entry point `mine = no_such_module:MinePolicy` \(group `nba.policies`, from mine-"
    with pytest.raises(PolicySpecError, match=message):
        make_policy("mine")


class Coin(RandomPolicy):
    name = "coin"


def test_register_policy_makes_a_spec_name() -> None:
    register_policy("coin", Coin)
    assert isinstance(make_policy("coin"), Coin)


@pytest.mark.parametrize(
    ("name", "factory", "message"),
    [
        ("rules", Coin, r"`rules` is one of nba's own policies"),
        ("a:b", Coin, r"`a:b` is not a spec name"),
        ("other", Coin, r"the class's `name` must be `other`"),
        ("coin", object, r"expected a subclass of nba Policy"),
    ],
)
def test_register_policy_refuses(name: str, factory: type, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        register_policy(name, factory)
