"""Reading YAML/JSON configuration files with clear, user-facing errors.

All config files (catalog, guardrails, rules, goal, scenarios) go through
:func:`load_document` and :func:`validate`, so a mistake is always reported
as ``FILE, <where>: `field` <what was expected>, got <value>`` and never as a
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from nba.exceptions import ConfigError

__all__ = ["load_document", "validate", "format_validation_error"]

M = TypeVar("M", bound=BaseModel)


def load_document(path: str | Path, error: type[ConfigError] = ConfigError) -> Any:
    """Read a YAML or JSON file.

    Parameters
    ----------
    path
        File to read; ``.json`` files are parsed as JSON, anything else as YAML.
    error
        The :class:`ConfigError` subclass to raise.

    Returns
    -------
    The parsed document (usually a mapping).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable or not valid YAML/JSON.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    ...     _ = f.write("a: 1")
    >>> load_document(f.name)
    {'a': 1}
    >>> os.unlink(f.name)
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{p}: cannot read file ({exc})") from None
    try:
        if p.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise error(f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {exc}") from None


def _where(loc: Sequence[int | str], data: Any, item_labels: Mapping[str, str]) -> str:
    """Render a pydantic location, naming list items by their ``id``/``name``."""
    parts: list[str] = []
    node = data
    pending_field: str | None = None
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            if parts and pending_field is not None:  # nested list: keep its field name
                parts.append(f"`{pending_field}`")
            node = node[key]
            label = item_labels.get(str(pending_field), "item")
            ident = node.get("id", node.get("name")) if isinstance(node, dict) else None
            parts.append(f"{label} `{ident}`" if ident is not None else f"{label} #{key + 1}")
            pending_field = None
        else:
            if pending_field is not None:
                parts.append(f"`{pending_field}`")
            pending_field = str(key)
            node = node.get(key) if isinstance(node, dict) else None
    if pending_field is not None:
        parts.append(f"`{pending_field}`")
    return ", ".join(parts)


def format_validation_error(
    source: str, exc: ValidationError, data: Any, item_labels: Mapping[str, str] | None = None
) -> str:
    """Turn a pydantic error into one line per problem, naming file and field."""
    lines = []
    for err in exc.errors():
        where = _where(err["loc"], data, item_labels or {})
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        got = err.get("input")
        suffix = ""
        if err["type"] not in ("missing", "value_error") and not isinstance(got, dict | list):
            suffix = f", got {got!r}"
        if err["type"] == "extra_forbidden":
            msg, suffix = "is not a known field", ""
        msg = msg.replace("Tuple should", "List should").replace(" after validation", "")
        lines.append(f"{source}, {where}: {msg}{suffix}" if where else f"{source}: {msg}")
    return "\n".join(lines)


def validate(
    model: type[M],
    data: Any,
    source: str,
    error: type[ConfigError] = ConfigError,
    item_labels: Mapping[str, str] | None = None,
) -> M:
    """Validate parsed data against a pydantic model with a readable error.

    Parameters
    ----------
    model
        The pydantic model class.
    data
        Parsed document.
    source
        Name of the file (or other source) to put in messages.
    error
        The :class:`ConfigError` subclass to raise.
    item_labels
        How to name items of list fields, e.g. ``{"messages": "message"}``.

    Raises
    ------
    ConfigError
        With one line per problem.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class M(BaseModel):
    ...     n: int
    >>> validate(M, {"n": "x"}, "f.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nba.exceptions.ConfigError: f.yaml, `n`: Input should be a valid integer, ..., got 'x'
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(source, exc, data, item_labels)) from None
