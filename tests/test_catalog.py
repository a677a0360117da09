"""Catalog: loading, the action space, and bad files named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from nba.catalog import NO_CONTACT, Catalog, load_catalog
from nba.exceptions import CatalogError

GOOD = {
    "channels": [
        {"id": "email", "cost": 0.001, "content_types": ["plain", "rich_media"]},
        {"id": "sms", "cost": 0.02, "content_types": ["plain"]},
    ],
    "messages": [
        {"id": "welcome", "stages": ["awareness"], "content_type": "rich_media"},
        {"id": "offer", "stages": ["purchase"], "topics": ["promo"], "value": 5},
    ],
}


def test_example_catalog_spans_journey_and_channels(catalog: Catalog) -> None:
    stages = {s for m in catalog.messages for s in m.stages}
    assert len(catalog.messages) >= 8 and len(stages) >= 7
    assert {"email", "sms", "push", "web", "in_app"} <= set(catalog.channel_ids)
    assert len(catalog.actions) >= 41
    # rich media never goes by SMS
    for a in catalog.actions.actions[1:]:
        if a.channel == "sms":
            assert catalog.message(a.message_id).content_type == "plain"


def test_action_space_starts_with_no_contact_and_has_features(catalog: Catalog) -> None:
    space = catalog.actions
    assert space.actions[0] == NO_CONTACT
    assert space.features.shape == (len(space), len(space.feature_names))
    assert space.index("welcome@email") == space.ids.index("welcome@email")


def test_round_trip_to_dict() -> None:
    cat = Catalog.from_dict(GOOD)
    assert Catalog.from_dict(cat.to_dict()).actions.ids == cat.actions.ids


def _with(**changes: object) -> dict:
    doc = {
        "channels": [dict(c) for c in GOOD["channels"]],
        "messages": [dict(m) for m in GOOD["messages"]],
    }
    for key, value in changes.items():
        section, _, rest = key.partition("__")
        index, _, field = rest.partition("__")
        doc[section][int(index)][field] = value
    return doc


BAD = [
    (
        _with(channels__1__cost=-1),
        "cat.yaml, channel `sms`, `cost`: Input should be greater than or equal to 0, got -1",
    ),
    (
        _with(messages__0__stages=["launch"]),
        "cat.yaml, message `welcome`, `stages`: unknown stage 'launch'; expected one of "
        "awareness, consideration",
    ),
    (
        _with(messages__1__content_type="video"),
        "cat.yaml, message `offer`, `content_type`: Input should be 'plain', 'rich_media' or "
        "'interactive', got 'video'",
    ),
    (
        _with(messages__1__channels=["fax"]),
        "cat.yaml: message `offer`: `channels` names unknown channel `fax`",
    ),
    (_with(messages__1__id="welcome"), "message id `welcome` is used twice"),
    (_with(channels__0__colour="red"), "cat.yaml, channel `email`, `colour`: is not a known field"),
    (
        {"channels": [], "messages": GOOD["messages"]},
        "cat.yaml, `channels`: List should have at least 1 item, not 0",
    ),
    ({"messages": GOOD["messages"]}, "cat.yaml, `channels`: Field required"),
]


@pytest.mark.parametrize(("doc", "message"), BAD)
def test_bad_catalogs_name_the_field(doc: dict, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        Catalog.from_dict(doc, source="cat.yaml")
    assert message in str(info.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"missing\.yaml: file not found"):
        load_catalog(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("channels: [unclosed")
    with pytest.raises(CatalogError, match=r"bad\.yaml: not valid YAML"):
        load_catalog(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- a\n- b\n")
    with pytest.raises(CatalogError, match=r"list\.yaml: expected a mapping at the top level"):
        load_catalog(top)
