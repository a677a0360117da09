"""nba.api."""
