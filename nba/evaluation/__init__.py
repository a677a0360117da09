"""nba.evaluation."""
