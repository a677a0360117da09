"""Guardrails: the marketer's rules, validated and evaluated with reasons."""

from nba.guardrails.evaluate import GuardrailResult, Guardrails, holdout_draw
from nba.guardrails.rules import GuardrailsSpec, load_guardrails, parse_guardrails

__all__ = [
    "Guardrails",
    "GuardrailResult",
    "GuardrailsSpec",
    "holdout_draw",
    "load_guardrails",
    "parse_guardrails",
]
