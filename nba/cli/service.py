"""Service commands: ``nba serve``, ``nba keys create`` and ``nba export``.

``nba serve`` runs on embedded defaults: a SQLite file ``nba.db`` in the
working directory, the local MLflow store, and the example catalog,
guardrails and goal when none is configured (``NBA_*`` variables).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from nba.cli import JsonOpt, app, console, emit_json, user_errors, write_atomically


class LogLevel(StrEnum):
    """``nba serve --log-level``: uvicorn's levels (``trace`` is below ``debug``)."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Server processes (share the database; use PostgreSQL for > 1)."
    ),
    log_level: LogLevel = typer.Option(
        LogLevel.info, "--log-level", case_sensitive=False, help="Log level of nba and uvicorn."
    ),
) -> None:
    """Run the HTTP decision service (OpenAPI at /docs and /openapi.json; logs as JSON lines)."""
    with user_errors():
        import uvicorn

        from nba.api.logs import log_config
        from nba.service import check_settings
        from nba.settings import get_settings
        from nba.store.db import Store

        settings = get_settings()
        check_settings(settings)
        Store(settings.database_url).dispose()  # create tables once, fail early on a bad URL
        uvicorn.run(
            "nba.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level.value,
            log_config=log_config(log_level.value),
        )


@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., "--role", help="app, marketer or admin."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an API key (printed once; only its hash is stored)."""
    with user_errors():
        from nba.service.auth import create_key
        from nba.settings import get_settings
        from nba.store.db import Store

        store = Store(get_settings().database_url)
        try:
            made = create_key(store, role, "cli", field="--role")
        finally:
            store.dispose()
        key_id, key = made.key_id, made.key
        if as_json:
            emit_json({"key_id": key_id, "key": key, "role": role})
            return
        console.print(f"key id [bold]{key_id}[/bold] (role {role}); the key, shown once:")
        console.print(key, markup=False, highlight=False)


@app.command("export")
def export(
    fmt: str = typer.Option(..., "--format", help="parquet or dsjson."),
    out: Path = typer.Option(..., "--out", help="Output file."),
    as_json: bool = JsonOpt,
) -> None:
    """Export the decision log (closed decisions with their rewards)."""
    with user_errors():
        from nba.exceptions import InputError, NotFoundError
        from nba.service.export import logged_decisions
        from nba.settings import get_settings
        from nba.store.db import Store, missing_database

        if fmt not in ("parquet", "dsjson"):
            raise InputError(f"`--format`: expected parquet or dsjson, got {fmt!r}")
        url = get_settings().database_url
        missing = missing_database(url)
        if missing is not None:
            raise NotFoundError(
                f"`NBA_DATABASE_URL`: no database at {missing} (expected the service's database)"
            )
        store = Store(url, create=False)
        try:
            logs = logged_decisions(store)
        finally:
            store.dispose()
        if fmt == "parquet":
            from nba.evaluation.logs import write_logs

            path = write_atomically(out, lambda tmp: write_logs(tmp, logs, fmt="parquet"))
        else:
            from nba.evaluation.dsjson import write_dsjson

            path = write_atomically(out, lambda tmp: write_dsjson(tmp, logs))
        if as_json:
            emit_json({"out": str(path), "format": fmt, "decisions": len(logs)})
            return
        console.print(f"wrote {len(logs)} decisions to {path} ({fmt})")
