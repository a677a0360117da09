"""nba experiment commands (registered on nba.cli.app)."""
