"""The error responses every router documents: :class:`ErrorOut` and :func:`error_responses`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ValidationProblem", "ErrorOut", "error_responses"]


class ValidationProblem(BaseModel):
    """One problem of an invalid request."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query` or `path`, then the field path (list indices as "
        "integers); for malformed JSON, `body` and the character position."
    )
    msg: str
    type: str = Field(description="Pydantic's error type (`missing`, `json_invalid`, …).")


class ErrorOut(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "`events.0.type`: Input should be 'sent', 'delivered', …",
                    "errors": [
                        {
                            "loc": ["body", "events", 0, "type"],
                            "msg": "Input should be 'sent', 'delivered', …",
                            "type": "enum",
                        }
                    ],
                },
                {"detail": "no decision with id `019cadfd-8900-7000-80a8-52c1bb9651f3`"},
            ]
        }
    )
    detail: str = Field(description="What is wrong, naming the field at fault in backticks.")
    errors: list[ValidationProblem] = Field(
        default_factory=list,
        description="Each problem, when the request failed validation (422); absent otherwise.",
    )


_ROLES = ("app", "marketer", "admin")
_ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "No API key, or an unknown or revoked one (with `WWW-Authenticate: Bearer`).",
    404: "Not found.",
    413: "The request asks for more than one call accepts.",
    422: "Invalid request: `detail` names the field at fault and what was expected; `errors` "
    "lists each problem when the request failed validation (malformed JSON included). "
    "Nothing is stored.",
    503: "Concurrent decisions kept taking the same channel's daily budget: nothing was "
    "stored, and the same request may be retried after `Retry-After` seconds.",
}
_ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    401: {"detail": "missing API key: send `Authorization: Bearer <key>`"},
    422: {
        "detail": "`customer_id`: Field required",
        "errors": [{"loc": ["body", "customer_id"], "msg": "Field required", "type": "missing"}],
    },
}


def error_responses(
    *statuses: int,
    roles: Sequence[str] = (),
    descriptions: Mapping[int, str] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation's error statuses, each with :class:`ErrorOut`.

    Parameters
    ----------
    *statuses
        The error statuses the operation answers besides 401 and 403.
    roles
        The roles whose keys may call the operation (``admin`` always may). When
        given, the operation needs a key: 401 and 403 are documented.
    descriptions
        Descriptions that replace the generic ones, by status.

    Returns
    -------
    The mapping to pass as ``responses`` to a route.

    Examples
    --------
    >>> r = error_responses(404, roles=("marketer",), descriptions={404: "Unknown customer."})
    >>> sorted(r), r[404]["description"], r[401]["model"].__name__
    ([401, 403, 404], 'Unknown customer.', 'ErrorOut')
    >>> print(r[403]["description"])
    The key's role may not do this: needs a key with role `marketer` or `admin`.
    """
    notes = dict(descriptions or {})
    allowed = [*roles, *(() if "admin" in roles else ("admin",))]
    out: dict[int | str, dict[str, Any]] = {}
    for status in ((401, 403) if roles else ()) + statuses:
        example = _ERROR_EXAMPLES.get(status)
        if status == 403:
            names = ", ".join(f"`{r}`" for r in allowed[:-1])
            names = f"{names} or `{allowed[-1]}`" if names else f"`{allowed[-1]}`"
            default = f"The key's role may not do this: needs a key with role {names}."
            other = next((r for r in _ROLES if r not in allowed), None)
            if other is not None:
                needs = ", ".join(roles)
                example = {"detail": f"role `{other}` may not do this; needs one of {needs}"}
        else:
            default = _ERROR_DESCRIPTIONS[status]
        entry: dict[str, Any] = {"model": ErrorOut, "description": notes.get(status, default)}
        if example is not None:
            entry["content"] = {"application/json": {"example": example}}
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}
            }
        if status == 503:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
        out[status] = entry
    return out
