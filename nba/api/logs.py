"""Structured (JSON lines) logging for the service: one JSON object per log record."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "log_config"]


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message (+ exception).

    Examples
    --------
    >>> rec = logging.LogRecord("nba", logging.INFO, __file__, 1, "hi %s", ("there",), None)
    >>> json.loads(JsonFormatter().format(rec))["message"]
    'hi there'
    """

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def log_config(level: str = "info") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` document: JSON lines on stderr for
    nba's and uvicorn's loggers (what ``nba serve`` passes to uvicorn)."""
    lvl = level.upper()
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            "nba": {"handlers": ["json"], "level": lvl, "propagate": False},
            "uvicorn": {"handlers": ["json"], "level": lvl, "propagate": False},
            "uvicorn.error": {"handlers": ["json"], "level": lvl, "propagate": False},
            "uvicorn.access": {"handlers": ["json"], "level": lvl, "propagate": False},
        },
    }
