"""Tests of nba.api (and of the store on a real PostgreSQL server)."""
