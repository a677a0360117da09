"""nba.policies."""
