"""nba.simulator."""
