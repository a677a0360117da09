"""The logged-decision format: round trips, external logs through a mapping, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nba.evaluation import (
    LogError,
    LoggedDecisions,
    MappingError,
    read_logs,
    write_logs,
)
from nba.policies.rules import RulePolicy
from nba.settings import EXAMPLE_DIR

FORMATS = ["parquet", "csv", "jsonl"]


def assert_same(a: LoggedDecisions, b: LoggedDecisions) -> None:
    assert b.actions.ids == a.actions.ids
    np.testing.assert_array_equal(b.actions.features, a.actions.features)
    assert b.batch.context.feature_names == a.batch.context.feature_names
    np.testing.assert_array_equal(b.batch.context.X, a.batch.context.X)
    for name in ("allowed", "action", "propensity", "reward"):
        np.testing.assert_array_equal(getattr(b.batch, name), getattr(a.batch, name))
    np.testing.assert_array_equal(b.decision_ids, a.decision_ids)
    np.testing.assert_array_equal(b.customer_ids, a.customer_ids)
    np.testing.assert_array_equal(b.timestamps, a.timestamps)
    np.testing.assert_array_equal(b.policy, a.policy)
    for name in ("expected_reward", "probs"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("fmt", FORMATS)
def test_synthetic_logs_round_trip(fmt: str, syn_logs: LoggedDecisions, tmp_path: Path) -> None:
    back = read_logs(write_logs(tmp_path / f"logs.{fmt}", syn_logs))
    assert_same(syn_logs, back)
    assert not back.has_signals
    np.testing.assert_array_equal(back.column("segment"), syn_logs.columns["segment"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_nba_logs_round_trip_keeps_signals(
    fmt: str, nba_logs: LoggedDecisions, tmp_path: Path
) -> None:
    back = read_logs(write_logs(tmp_path / f"logs.{fmt}", nba_logs))
    assert_same(nba_logs, back)
    s1, s2 = nba_logs.batch.context.signals, back.batch.context.signals
    assert s1 is not None and s2 is not None
    assert s2.channels == s1.channels and s2.message_ids == s1.message_ids
    for k in s1.values:
        np.testing.assert_array_equal(s2.values[k], s1.values[k])
    for k in s1.attributes:
        np.testing.assert_array_equal(s2.attributes[k], s1.attributes[k])
    np.testing.assert_array_equal(s2.consent, s1.consent)
    np.testing.assert_array_equal(s2.days_since_message, s1.days_since_message)
    # the rule baseline decides the same on the re-read signals
    rules = RulePolicy(rules=str(EXAMPLE_DIR / "rules.yaml"))
    np.testing.assert_array_equal(
        rules.predict_proba(back.batch.context, back.batch.allowed),
        rules.predict_proba(nba_logs.batch.context, nba_logs.batch.allowed),
    )


def test_without_sidecar_the_action_space_comes_from_the_allowed_columns(
    syn_logs: LoggedDecisions, tmp_path: Path
) -> None:
    path = write_logs(tmp_path / "logs.csv", syn_logs.take(np.arange(20)))
    path.with_name("logs.csv.meta.json").unlink()
    back = read_logs(path)
    assert back.actions.ids == syn_logs.actions.ids
    np.testing.assert_array_equal(back.batch.action, syn_logs.batch.action[:20])


def test_split_by_time_keeps_the_later_decisions_for_evaluation(
    syn_logs: LoggedDecisions,
) -> None:
    shuffled = syn_logs.take(np.random.default_rng(0).permutation(len(syn_logs)))
    train, test = shuffled.split(0.8, by_time=True)
    assert len(train) == 2400 and len(test) == 600
    assert train.timestamps.max() < test.timestamps.min()


GOOD = (
    "decision_id,action,propensity,reward,allowed.no_contact,allowed.a,x.f\n"
    "d1,a,0.5,1,true,true,0.1\n"
    "d2,no_contact,0.5,0,true,true,0.2\n"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            GOOD.replace(",propensity", "").replace(",0.5", ""),
            r"missing column\(s\) `propensity`; nba logs need action, propensity, reward",
        ),
        (
            GOOD.replace("d2,no_contact,0.5", "d2,no_contact,1.5"),
            r"column `propensity` must be in \(0, 1\], got 1.5 \(row 2\)",
        ),
        (
            GOOD.replace("d1,a,0.5", "d1,a,0"),
            r"column `propensity` must be in \(0, 1\], got 0 \(row 1\)",
        ),
        (
            GOOD.replace("d2,no_contact", "d2,zzz"),
            r"column `action` has unknown action `zzz` \(row 2\); expected one of no_contact, a",
        ),
        (
            GOOD.replace("0.5,1,true,true", "0.5,1,true,false"),
            r"row 1: the chosen action `a` is not among the row's allowed actions",
        ),
        (GOOD.replace("0.5,0,true", "0.5,,true"), r"column `reward` has a missing value \(row 2\)"),
        (
            GOOD.replace("0.5,0,true", "0.5,lots,true"),
            r"column `reward` must be numeric, got 'lots'",
        ),
        (
            "decision_id,action,propensity,reward\nd1,a,0.5,1\n",
            r"missing the `allowed.<action>` columns",
        ),
    ],
)
def test_bad_logs_give_clear_errors(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(LogError, match=message):
        read_logs(path)


def test_good_table_reads(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    logs = read_logs(path)
    assert logs.actions.ids == ("no_contact", "a")
    assert logs.batch.action.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope.csv", r"nope.csv: file not found"),
        ("logs.xlsx", r"cannot tell the log format from the suffix `.xlsx`"),
    ],
)
def test_unreadable_files(name: str, message: str, tmp_path: Path) -> None:
    if name.endswith(".xlsx"):
        (tmp_path / name).write_text("x")
    with pytest.raises(LogError, match=message):
        read_logs(tmp_path / name)


# -- external logs through a mapping ------------------------------------------------------
CAMPAIGN = (
    "user,segment,visit,conversion,recency,channel,p,ts\n"
    "u1,Mens E-Mail,1,0,3,web,0.3,2026-01-01T10:00:00Z\n"
    "u2,No E-Mail,0,0,5,phone,0.4,2026-01-01T11:00:00Z\n"
    "u3,Womens E-Mail,1,1,1,web,0.3,2026-01-02T10:00:00Z\n"
    "u4,Mens E-Mail,0,0,8,multichannel,0.3,2026-01-02T12:00:00Z\n"
)
MAPPING = """
action: {column: segment, values: {"Mens E-Mail": mens, "Womens E-Mail": womens,
                                   "No E-Mail": none}}
reward: {sum: {visit: 1.0, conversion: 20.0}}
propensity: {column: p}
features:
  numeric: [recency]
  categorical: [channel]
timestamp: {column: ts}
customer_id: {column: user}
"""


@pytest.fixture
def campaign(tmp_path: Path) -> tuple[Path, Path]:
    logs, mapping = tmp_path / "campaign.csv", tmp_path / "mapping.yaml"
    logs.write_text(CAMPAIGN)
    mapping.write_text(MAPPING)
    return logs, mapping


def test_mapping_reads_a_campaign(campaign: tuple[Path, Path]) -> None:
    logs = read_logs(*campaign)
    assert logs.actions.ids == ("no_contact", "mens", "womens")
    assert logs.batch.action.tolist() == [1, 0, 2, 1]
    assert logs.batch.reward.tolist() == [1.0, 0.0, 21.0, 0.0]
    assert logs.batch.propensity.tolist() == [0.3, 0.4, 0.3, 0.3]
    assert logs.batch.context.feature_names == (
        "recency",
        "channel=multichannel",
        "channel=phone",
        "channel=web",
    )
    np.testing.assert_array_equal(logs.batch.context.X[0], [3.0, 0.0, 0.0, 1.0])
    assert logs.customer_ids.tolist() == ["u1", "u2", "u3", "u4"]
    assert logs.timestamps[1] - logs.timestamps[0] == 3600.0
    assert logs.batch.allowed.all()
    assert logs.column("segment")[1] == "No E-Mail"


@pytest.mark.parametrize(
    ("mapping", "error", "message"),
    [
        (
            "reward: {column: visit}\npropensity: {constant: 0.5}\n",
            MappingError,
            r"mapping.yaml, `action`: Field required",
        ),
        (
            MAPPING.replace(
                "{sum: {visit: 1.0, conversion: 20.0}}", "{column: visit, sum: {visit: 1.0}}"
            ),
            MappingError,
            r"`reward`: give exactly one of `column` or `sum`",
        ),
        (
            MAPPING.replace("{column: p}", "{constant: 1.5}"),
            MappingError,
            r"`propensity`, `constant`: Input should be less than or equal to 1, got 1.5",
        ),
        (
            MAPPING + "segment: {column: x}\n",
            MappingError,
            r"mapping.yaml, `segment`: is not a known field",
        ),
        ("action: [\n", MappingError, r"mapping.yaml: not valid YAML"),
        (
            MAPPING.replace("visit: 1.0,", "visits: 1.0,"),
            LogError,
            r"missing column\(s\) `visits` named by the mapping; the file has user, segment",
        ),
        (
            MAPPING.replace('"Womens E-Mail": womens,', ""),
            LogError,
            r"column `segment` has unknown action `Womens E-Mail` \(row 3\); the mapping's "
            r"`values` are Mens E-Mail, No E-Mail",
        ),
        (
            MAPPING.replace("[channel]", "[channel, visit]").replace("[recency]", "[channel]"),
            LogError,
            r"column `channel` must be numeric, got 'web'",
        ),
    ],
)
def test_bad_mappings_give_clear_errors(
    mapping: str, error: type[Exception], message: str, campaign: tuple[Path, Path]
) -> None:
    logs, path = campaign
    path.write_text(mapping)
    with pytest.raises(error, match=message):
        read_logs(logs, path)


def test_mapping_propensity_column_outside_unit_interval(campaign: tuple[Path, Path]) -> None:
    logs, mapping = campaign
    logs.write_text(CAMPAIGN.replace(",0.4,", ",1.4,"))
    with pytest.raises(LogError, match=r"column `p` must be in \(0, 1\], got 1.4 \(row 2\)"):
        read_logs(logs, mapping)


def test_missing_mapping_file(campaign: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"missing.yaml: file not found"):
        read_logs(campaign[0], tmp_path / "missing.yaml")


def test_mapping_without_values_uses_the_distinct_labels(tmp_path: Path) -> None:
    path = tmp_path / "arms.jsonl"
    path.write_text('{"arm": 2, "r": 1, "p": 0.5}\n{"arm": 1, "r": 0, "p": 0.5}\n')
    mapping = tmp_path / "m.json"
    mapping.write_text(
        '{"action": {"column": "arm"}, "reward": {"column": "r"}, "propensity": {"column": "p"}}'
    )
    logs = read_logs(path, mapping)
    assert logs.actions.ids == ("no_contact", "1", "2")
    assert logs.batch.action.tolist() == [2, 1]
    assert not logs.batch.allowed[:, 0].any()  # no-contact was not an option in that campaign
