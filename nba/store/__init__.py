"""nba.store."""
