"""nba.features."""
