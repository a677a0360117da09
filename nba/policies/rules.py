"""The rule-only baseline: the marketer's journey rules as a deterministic policy.

A rules file (YAML) lists, per journey stage, the messages to send in order
of preference, and how to pick the channel::

    journey:
      awareness: [welcome, brand_story]
      purchase: [cart_reminder, first_order_offer]
    channel:
      choose: most_engaged          # or: first_allowed
      preference: [email, push, in_app, web, sms]

For each customer the policy takes the first message of their stage that has
an allowed action, on the channel they engage with most (clicks count three
times opens over 90 days, per send), ties broken by ``preference``; with
nothing allowed it sends nothing. Stages missing from ``journey`` default to
every catalog message serving that stage, in catalog order — so the policy
works with no file at all. The distribution is one-hot.
"""

from __future__ import annotations

from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nba.catalog import STAGES, ActionSpace
from nba.config import load_document, validate
from nba.exceptions import ConfigError, PolicyError
from nba.features.context import Context
from nba.policies.base import Policy, check_allowed, onehot_argmax

__all__ = ["RulePolicy", "JourneyRules"]


class _ChannelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    choose: Literal["most_engaged", "first_allowed"] = "most_engaged"
    preference: tuple[str, ...] = ()


class JourneyRules(BaseModel):
    """A validated rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    journey: dict[Literal[STAGES], tuple[str, ...]] = Field(default_factory=dict)  # type: ignore[valid-type]
    channel: _ChannelChoice = _ChannelChoice()


class RulePolicy(Policy):
    """The marketer's rules (see the module docstring).

    Parameters
    ----------
    rules
        Path of a rules YAML file, or the parsed document; ``None`` uses the
        catalog's stage lists and the most engaged channel.

    Examples
    --------
    >>> RulePolicy().kind
    'baseline'
    """

    name = "rules"
    kind = "baseline"
    needs_raw_signals = True

    def __init__(self, *, rules: str | dict[str, Any] | None = None) -> None:
        self.rules = rules

    @property
    def _source(self) -> str:
        return "<rules>" if isinstance(self.rules, dict) else str(self.rules)

    @cached_property
    def config(self) -> JourneyRules:
        """The validated rules."""
        if self.rules is None:
            return JourneyRules()
        if isinstance(self.rules, dict):
            return validate(JourneyRules, self.rules, "<rules>", ConfigError)
        data = load_document(Path(self.rules))
        return validate(JourneyRules, data, str(self.rules), ConfigError)

    def check(self, space: ActionSpace) -> None:
        """Refuse actions these rules cannot serve (a journey naming a message they lack).

        Raises
        ------
        ConfigError
            Naming the rules file, the stage and the message.

        Examples
        --------
        >>> from nba.catalog import Catalog
        >>> cat = Catalog.from_dict({"channels": [{"id": "web", "content_types": ["plain"]}],
        ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
        >>> rules = RulePolicy(rules={"journey": {"awareness": ["bye"]}})
        >>> rules.check(cat.actions)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nba.exceptions.ConfigError: <rules>, journey `awareness`: unknown message `bye`; ...of hi
        """
        self._priority(space)

    def _priority(self, space: ActionSpace) -> np.ndarray:
        """Shape (n_stages, n_actions): message rank score per stage, 0 = not for it."""
        stage_cols = [space.feature_names.index(f"stage={s}") for s in STAGES]
        msg_col = {
            n.removeprefix("message="): k
            for k, n in enumerate(space.feature_names)
            if n.startswith("message=")
        }
        prio = np.zeros((len(STAGES), len(space)))
        for si, stage in enumerate(STAGES):
            listed = self.config.journey.get(stage)
            if listed is None:  # catalog order of the messages serving this stage
                serving = space.features[:, stage_cols[si]] > 0
                order: list[str] = list(
                    dict.fromkeys(
                        str(a.message_id) for a, s in zip(space.actions, serving, strict=True) if s
                    )
                )
            else:
                for m in listed:
                    if m not in msg_col:
                        raise ConfigError(
                            f"{self._source}, journey `{stage}`: unknown message `{m}`; expected "
                            f"one of {', '.join(sorted(msg_col))}"
                        )
                order = list(listed)
            for rank, m in enumerate(order):
                prio[si, space.features[:, msg_col[m]] > 0] = len(order) - rank
        return prio

    def _layout(
        self, space: ActionSpace, channels: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray, np.ndarray]:
        """What only depends on the actions and channels, worked out once."""
        pref = list(self.config.channel.preference) + [
            c for c in channels if c not in self.config.channel.preference
        ]
        tiebreak = np.array([(len(pref) - pref.index(c)) / (len(pref) + 1.0) for c in channels])
        names = [f"{c}_{kind}_90d" for kind in ("opens", "clicks", "sends") for c in channels]
        get_eng = itemgetter(*names) if names else None  # >= 3 names: gives a tuple
        ci = space.channel_index
        chan_cols = np.flatnonzero(ci >= 0)
        # per stage, each action's score before the channel's: -inf if not for the stage
        prio = self._priority(space)
        stage_score = np.where(prio > 0, 100.0 * prio, -np.inf)
        return stage_score, tiebreak.reshape(-1, 1), get_eng, chan_cols, ci[chan_cols]

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """One-hot on the rule's choice among the allowed actions (see module doc)."""
        n = len(context)
        allowed = check_allowed(allowed, n, context.n_actions)
        sig = context.signals
        if sig is None:
            raise PolicyError(
                "the `rules` policy needs nba's own signals (journey stage, channel "
                "engagement); it cannot run on external logs without them"
            )
        space = context.actions
        cache = getattr(self, "_cache", None)
        if cache is None or cache[0] is not space or cache[1] != sig.channels:
            self._cache = cache = (space, sig.channels, *self._layout(space, sig.channels))
        _, channels, stage_score, tiebreak, get_eng, chan_cols, chan_of = cache
        if self.config.channel.choose == "most_engaged" and channels:
            # (opens + 3 clicks) / (1 + sends) per channel, shape (n_channels, n)
            ocs = np.concatenate(get_eng(sig.values)).reshape(3, len(channels), n)
            eng = (ocs[0] + 3.0 * ocs[1]) / (1.0 + ocs[2])
        else:
            eng = np.zeros((len(channels), n))
        # engagement (bounded) dominates the tie-break, message rank dominates both
        chan_score = np.ascontiguousarray((10.0 * eng / (1.0 + eng) + tiebreak).T)
        score = stage_score[sig["stage"].astype(np.int64)]  # a fresh (n, n_actions) array
        score[:, chan_cols] += chan_score[:, chan_of]
        score[:, 0] = 0.0  # no-contact: chosen only when no rule action is allowed
        candidates = allowed & np.isfinite(score)
        return onehot_argmax(score, candidates)
