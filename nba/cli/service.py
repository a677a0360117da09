"""nba service commands (registered on nba.cli.app)."""
