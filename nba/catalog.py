"""The catalog: messages, channels, customer attributes and the action space.

An **action** is a (message, channel) pair the catalog allows — the channel
can carry the message's content type and, when the message lists channels,
is one of them — or the explicit **no-contact** action, which is always
action 0 of an :class:`ActionSpace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nba.config import load_document, validate
from nba.exceptions import CatalogError

__all__ = [
    "STAGES",
    "CONTENT_TYPES",
    "Channel",
    "Message",
    "AttributeSpec",
    "Action",
    "NO_CONTACT",
    "ActionSpace",
    "Catalog",
    "load_catalog",
]

#: The journey stages, in order. Signals derive a customer's stage (see
#: :mod:`nba.features.signals`); messages say which stages they serve.
STAGES: tuple[str, ...] = (
    "awareness",
    "consideration",
    "purchase",
    "onboarding",
    "retention",
    "winback",
    "advocacy",
)
CONTENT_TYPES: tuple[str, ...] = ("plain", "rich_media", "interactive")

_ID = r"^[a-z][a-z0-9_\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Channel(_Strict):
    """A channel: cost per send, content types it carries, consent need.

    Examples
    --------
    >>> Channel(id="sms", cost=0.02, content_types=("plain",)).requires_consent
    True
    """

    id: str = Field(pattern=_ID)
    cost: float = Field(default=0.0, ge=0.0)
    content_types: tuple[Literal["plain", "rich_media", "interactive"], ...] = Field(min_length=1)
    requires_consent: bool = True


class Message(_Strict):
    """A piece of content with a purpose.

    Examples
    --------
    >>> Message(id="welcome", stages=("awareness",), content_type="rich_media").value
    0.0
    """

    id: str = Field(pattern=_ID)
    stages: tuple[str, ...] = Field(min_length=1)
    topics: tuple[str, ...] = ()
    content_type: Literal["plain", "rich_media", "interactive"] = "plain"
    value: float = 0.0
    channels: tuple[str, ...] | None = None

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            if s not in STAGES:
                raise ValueError(f"unknown stage {s!r}; expected one of {', '.join(STAGES)}")
        return v


class AttributeSpec(_Strict):
    """A customer attribute that policies may use and rules may test.

    ``categorical`` attributes list their values (others encode as unknown);
    ``numeric`` attributes are floats (missing → ``default``).
    """

    type: Literal["categorical", "numeric"]
    values: tuple[str, ...] = ()
    default: float = 0.0

    @model_validator(mode="after")
    def _values_for_categorical(self) -> AttributeSpec:
        if self.type == "categorical" and not self.values:
            raise ValueError("a categorical attribute needs a non-empty `values` list")
        return self


class _CatalogModel(_Strict):
    channels: tuple[Channel, ...] = Field(min_length=1)
    messages: tuple[Message, ...] = Field(min_length=1)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cross_checks(self) -> _CatalogModel:
        for kind, items in (("channel", self.channels), ("message", self.messages)):
            seen: set[str] = set()
            for it in items:
                if it.id in seen:
                    raise ValueError(f"{kind} id `{it.id}` is used twice; ids must be unique")
                seen.add(it.id)
        channel_ids = {c.id for c in self.channels}
        for m in self.messages:
            for c in m.channels or ():
                if c not in channel_ids:
                    raise ValueError(
                        f"message `{m.id}`: `channels` names unknown channel `{c}`; "
                        f"expected one of {', '.join(sorted(channel_ids))}"
                    )
        return self


@dataclass(frozen=True, slots=True)
class Action:
    """A (message, channel) pair, or no-contact when both are ``None``.

    Examples
    --------
    >>> Action("welcome", "email").id
    'welcome@email'
    >>> NO_CONTACT.id
    'no_contact'
    """

    message_id: str | None
    channel: str | None

    @property
    def is_no_contact(self) -> bool:
        """True for the no-contact action."""
        return self.message_id is None

    @property
    def id(self) -> str:
        """Stable id: ``message@channel``, ``no_contact``, or a bare label (external logs)."""
        if self.message_id is None:
            return "no_contact"
        return self.message_id if self.channel is None else f"{self.message_id}@{self.channel}"


NO_CONTACT = Action(None, None)


@dataclass(frozen=True)
class ActionSpace:
    """An ordered set of actions with their features; action 0 is no-contact.

    Attributes
    ----------
    actions
        The actions, ``actions[0]`` is :data:`NO_CONTACT`.
    features
        Action features, shape (n_actions, n_action_features): one-hot
        message, channel and content type, multi-hot topics and stages, cost.
    feature_names
        Names of the feature columns.

    Examples
    --------
    >>> space = ActionSpace.from_labels(["a", "b"])
    >>> space.ids
    ('no_contact', 'a', 'b')
    >>> space.features.shape
    (3, 3)
    """

    actions: tuple[Action, ...]
    features: np.ndarray
    feature_names: tuple[str, ...]
    message_index: np.ndarray = field(repr=False)  # (n_actions,) index into messages, -1 = none
    channel_index: np.ndarray = field(repr=False)  # (n_actions,) index into channels, -1 = none

    def __len__(self) -> int:
        return len(self.actions)

    @cached_property
    def ids(self) -> tuple[str, ...]:
        """Action ids in order."""
        return tuple(a.id for a in self.actions)

    @cached_property
    def _lookup(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.ids)}

    def index(self, action_id: str) -> int:
        """Position of an action id.

        Raises
        ------
        KeyError
            If the id is not in the space.
        """
        return self._lookup[action_id]

    @classmethod
    def from_labels(cls, labels: list[str] | tuple[str, ...]) -> ActionSpace:
        """An action space of opaque labels (e.g. from an external log).

        A label ``none``/``no_contact`` is the no-contact action; the others
        become messages on an unnamed channel and get one-hot features.
        """
        others = [lab for lab in labels if lab not in ("no_contact", "none")]
        actions = (NO_CONTACT, *(Action(lab, None) for lab in others))
        n = len(actions)
        return cls(
            actions=actions,
            features=np.eye(n),
            feature_names=tuple(f"action={a.id}" for a in actions),
            message_index=np.arange(n) - 1,
            channel_index=np.full(n, -1),
        )


@dataclass(frozen=True)
class Catalog:
    """Messages, channels, the customer attribute schema and the action space.

    Build it with :func:`load_catalog` or :meth:`Catalog.from_dict`.

    Examples
    --------
    >>> cat = Catalog.from_dict({
    ...     "channels": [{"id": "email", "cost": 0.001, "content_types": ["plain", "rich_media"]},
    ...                  {"id": "sms", "cost": 0.02, "content_types": ["plain"]}],
    ...     "messages": [{"id": "welcome", "stages": ["awareness"], "content_type": "rich_media"},
    ...                  {"id": "offer", "stages": ["purchase"]}]})
    >>> cat.actions.ids
    ('no_contact', 'welcome@email', 'offer@email', 'offer@sms')
    """

    channels: tuple[Channel, ...]
    messages: tuple[Message, ...]
    attributes: dict[str, AttributeSpec]
    source: str = "<catalog>"

    @classmethod
    def from_dict(cls, data: Any, source: str = "<catalog>") -> Catalog:
        """Validate a parsed catalog document.

        Raises
        ------
        CatalogError
            Naming the source, the item and the field at fault.
        """
        model = validate(
            _CatalogModel,
            data,
            source,
            CatalogError,
            item_labels={"channels": "channel", "messages": "message"},
        )
        return cls(model.channels, model.messages, dict(model.attributes), source)

    def to_dict(self) -> dict[str, Any]:
        """The catalog as a plain document (round-trips through from_dict)."""
        return _CatalogModel(
            channels=self.channels, messages=self.messages, attributes=self.attributes
        ).model_dump(mode="json")

    @cached_property
    def channel_ids(self) -> tuple[str, ...]:
        """Channel ids in catalog order."""
        return tuple(c.id for c in self.channels)

    @cached_property
    def message_ids(self) -> tuple[str, ...]:
        """Message ids in catalog order."""
        return tuple(m.id for m in self.messages)

    def channel(self, channel_id: str) -> Channel:
        """The channel with this id (KeyError if unknown)."""
        return self.channels[self.channel_ids.index(channel_id)]

    def message(self, message_id: str) -> Message:
        """The message with this id (KeyError if unknown)."""
        return self.messages[self.message_ids.index(message_id)]

    @cached_property
    def topics(self) -> tuple[str, ...]:
        """All topic tags, sorted."""
        return tuple(sorted({t for m in self.messages for t in m.topics}))

    @cached_property
    def actions(self) -> ActionSpace:
        """The action space: no-contact, then allowed pairs message-major."""
        acts: list[Action] = [NO_CONTACT]
        mi, ci = [-1], [-1]
        for i, m in enumerate(self.messages):
            for j, c in enumerate(self.channels):
                if m.content_type not in c.content_types:
                    continue
                if m.channels is not None and c.id not in m.channels:
                    continue
                acts.append(Action(m.id, c.id))
                mi.append(i)
                ci.append(j)
        message_index, channel_index = np.array(mi), np.array(ci)
        names = (
            ["no_contact"]
            + [f"message={m}" for m in self.message_ids]
            + [f"channel={c}" for c in self.channel_ids]
            + [f"content={t}" for t in CONTENT_TYPES]
            + [f"topic={t}" for t in self.topics]
            + [f"stage={s}" for s in STAGES]
            + ["cost", "value"]
        )
        feats = np.zeros((len(acts), len(names)))
        col = {n: k for k, n in enumerate(names)}
        feats[0, col["no_contact"]] = 1.0
        for a_idx in range(1, len(acts)):
            m = self.messages[message_index[a_idx]]
            c = self.channels[channel_index[a_idx]]
            feats[a_idx, col[f"message={m.id}"]] = 1.0
            feats[a_idx, col[f"channel={c.id}"]] = 1.0
            feats[a_idx, col[f"content={m.content_type}"]] = 1.0
            for t in m.topics:
                feats[a_idx, col[f"topic={t}"]] = 1.0
            for s in m.stages:
                feats[a_idx, col[f"stage={s}"]] = 1.0
            feats[a_idx, col["cost"]] = c.cost
            feats[a_idx, col["value"]] = m.value
        return ActionSpace(tuple(acts), feats, tuple(names), message_index, channel_index)


def load_catalog(path: str | Path) -> Catalog:
    """Load and validate a catalog YAML/JSON file.

    Raises
    ------
    CatalogError
        If the file is missing or invalid; the message names file and field.
    """
    data = load_document(path, CatalogError)
    return Catalog.from_dict(data, source=str(path))
