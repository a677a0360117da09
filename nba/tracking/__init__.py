"""nba.tracking."""
