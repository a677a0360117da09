"""nba offline commands (registered on nba.cli.app)."""
