"""Policy specs: ``NAME`` or ``NAME:key=value,...``, or a saved policy directory.

Examples
--------
>>> parse_spec("linucb:alpha=0.5,ridge=1")
('linucb', {'alpha': 0.5, 'ridge': 1})
>>> make_policy("random").name
'random'
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from nba.exceptions import PolicyError, PolicySpecError
from nba.policies.base import POLICY_FILE, Policy
from nba.policies.registry import load_policy, policy_class

if TYPE_CHECKING:
    from nba.policies.guarded import GuardedPolicy

__all__ = ["check_spec", "parse_spec", "make_policy"]


def _coerce(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split a spec into its name and typed keyword arguments.

    Raises
    ------
    PolicySpecError
        If a parameter is not of the form ``key=value``.
    """
    name, raw = _split(spec)
    return name, {key: _coerce(value) for key, value in raw.items()}


def _split(spec: str) -> tuple[str, dict[str, str]]:
    """A spec's name and its parameters as written."""
    name, _, rest = spec.strip().partition(":")
    params: dict[str, str] = {}
    if rest:
        for part in rest.split(","):
            key, eq, value = part.partition("=")
            if not eq or not key.strip():
                raise PolicySpecError(
                    f"policy spec `{spec}`: parameter `{part}` is not of the form key=value"
                )
            params[key.strip()] = value.strip()
    return name.strip(), params


def check_spec(spec: str) -> tuple[type[Policy], dict[str, Any], bool]:
    """Check a spec's name and parameter names without building the policy.

    Returns
    -------
    (class, parameters, guarded)
        The policy class, its parameters from the spec (without ``guard``),
        and whether ``guard=true`` asks for a guarded rollout against the rules.

    Raises
    ------
    PolicySpecError
        If the name or a parameter is unknown, or ``guard`` is misused.

    Examples
    --------
    >>> check_spec("linucb:alpha=0.5,guard=true")[1:]
    ({'alpha': 0.5}, True)
    """
    name, raw = _split(spec)
    params = {key: _coerce(value) for key, value in raw.items()}
    klass = policy_class(name)
    guard = params.pop("guard", False)
    if not isinstance(guard, bool):
        raise PolicySpecError(f"policy spec `{spec}`: `guard` must be true or false, got {guard!r}")
    # GuardedPolicy through the registry, not an import: guarded.py builds the challenger
    # of a guard saved before phase 1 of issue 11 with make_policy
    if guard and (klass.kind != "learned" or issubclass(klass, policy_class("guarded"))):
        raise PolicySpecError(
            f"policy spec `{spec}`: `guard` applies to learned policies, not `{name}`"
        )
    accepted = klass._param_names()
    for key in params:
        if key not in accepted:
            raise PolicySpecError(
                f"policy spec `{spec}`: unknown parameter `{key}` for `{name}`; "
                f"expected one of {', '.join(accepted) or '(none)'}"
            )
    # a value is text where the parameter is text: `constant:action=none` names an action
    # called "none", it does not mean Python's None
    signature = inspect.signature(klass.__init__).parameters
    for key, value in raw.items():
        if key in params and signature[key].annotation in (str, "str"):
            params[key] = value
    return klass, params, guard


def make_policy(spec: str, **defaults: Any) -> Policy:
    """Build a policy from a spec, or load it from a saved directory.

    Parameters
    ----------
    spec
        ``NAME``, ``NAME:key=value,...`` or the path of a directory written
        by :meth:`Policy.save` / ``nba train --out``. ``guard=true`` on a
        learned policy rolls it out against the rules
        (:class:`~nba.policies.guarded.GuardedPolicy`).
    **defaults
        Keyword arguments used when the spec does not set them and the
        policy accepts them (e.g. ``random_state``, ``rules``).

    Raises
    ------
    PolicySpecError
        If the name or a parameter is unknown, or a parameter's value is out
        of range (e.g. ``linucb:alpha=nan``).
    """
    path = Path(spec)
    if (path / POLICY_FILE).is_file():
        return load_policy(path)
    klass, params, guard = check_spec(spec)
    accepted = klass._param_names()
    for key, value in defaults.items():
        if key in accepted and key not in params:
            params[key] = value
    if not guard:
        return _build(spec, klass, params)
    # the challenger is built (its spec checked) now, then wrapped
    challenger = _build(spec, klass, params)
    guard_class = cast("type[GuardedPolicy]", policy_class("guarded"))
    guarded = guard_class(challenger=challenger, rules=defaults.get("rules"))
    # the challenger's spec as written, so that the guard's spec reads back the same
    name, _, rest = spec.partition(":")
    kept = [p for p in rest.split(",") if p.split("=")[0].strip() not in ("", "guard")]
    guarded._challenger_spec = name.strip() + (":" + ",".join(kept) if kept else "")
    return guarded


def _build(spec: str, klass: type[Policy], params: dict[str, Any]) -> Policy:
    try:
        policy = klass(**params)
    except (TypeError, ValueError) as exc:
        raise PolicySpecError(f"policy spec `{spec}`: {exc}") from None
    # Constructors only store their parameters (checked when the policy first learns
    # or predicts); a spec is checked now, as it may come from a request (a model
    # promotion) that must be refused at once rather than fail at the first update.
    validate = getattr(policy, "_validate_params", None)
    if callable(validate):
        try:
            validate()
        except PolicyError as exc:
            raise PolicySpecError(f"policy spec `{spec}`: {exc}") from None
    return policy
