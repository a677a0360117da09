"""nba: next-best-action decisions with guardrails, bandits and honest evaluation."""

__version__ = "0.1.0"
