"""The policy registry: spec name -> policy class, open to other packages.

Three sources, looked up in this order:

1. nba's own policies, listed here as ``"module:Class"`` and imported on first
   use (Vowpal Wabbit loads only when a VW policy is asked for);
2. classes registered at run time with :func:`register_policy` (a notebook);
3. the ``nba.policies`` entry-point group of installed distributions, loaded
   when their name is first asked for. A package declares its policies in its
   ``pyproject.toml``::

       [project.entry-points."nba.policies"]
       mine = "my_package.policies:MyPolicy"

A name is registered to a :class:`~nba.policies.base.Policy` subclass whose
``name`` is that name: :meth:`Policy.save` writes it, :func:`load_policy`
reads it back through the registry.

Examples
--------
>>> policy_class("linucb").__name__
'LinUCB'
>>> "rules" in policy_names()
True
"""

from __future__ import annotations

import importlib
import json
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from nba.exceptions import PolicyError, PolicySpecError
from nba.policies.base import POLICY_FILE, Policy

__all__ = [
    "ENTRY_POINT_GROUP",
    "BUILTIN_POLICIES",
    "load_policy",
    "policy_class",
    "policy_names",
    "register_policy",
]

#: The entry-point group other distributions register policies in.
ENTRY_POINT_GROUP = "nba.policies"

#: nba's own policies: spec name -> ``"module:Class"``, imported lazily.
#: Kept in code rather than as entry points, so they are found whatever the
#: installed metadata says (an editable checkout, a vendored copy).
BUILTIN_POLICIES: dict[str, str] = {
    "rules": "nba.policies.rules:RulePolicy",
    "random": "nba.policies.random:RandomPolicy",
    "constant": "nba.policies.random:ConstantPolicy",
    "vw": "nba.policies.vw:VWPolicy",
    "linucb": "nba.policies.linear:LinUCB",
    "lints": "nba.policies.linear:LinearTS",
    "reward-model": "nba.policies.reward_model:RewardModelPolicy",
    "funnel": "nba.policies.funnel:FunnelPolicy",
    "guarded": "nba.policies.guarded:GuardedPolicy",
}

_registered: dict[str, type[Policy]] = {}


def _checked(name: str, klass: object, source: str) -> type[Policy]:
    if not (isinstance(klass, type) and issubclass(klass, Policy)):
        raise PolicyError(f"{source}: expected a subclass of nba Policy, got {klass!r}")
    if getattr(klass, "name", None) != name:
        raise PolicyError(
            f"{source}: the class's `name` must be `{name}` (what `save` writes and "
            f"`load_policy` looks up), got {getattr(klass, 'name', None)!r}"
        )
    return klass


def register_policy(name: str, factory: type[Policy]) -> None:
    """Register a policy class under a spec name, for this process.

    For a notebook or a script; a package registers its policies through the
    ``nba.policies`` entry-point group instead (see the module docs), so that
    every process finds them. Registering the same name again replaces the
    class (a notebook cell run twice).

    Parameters
    ----------
    name
        The spec name (``NAME`` in ``NAME:key=value,...``), equal to
        ``factory.name``.
    factory
        The :class:`~nba.policies.base.Policy` subclass; specs call it with
        their keyword arguments.

    Raises
    ------
    PolicyError
        If ``name`` is one of nba's own policies, is not a plain spec name, or
        does not match ``factory.name``, or ``factory`` is not a Policy subclass.

    Examples
    --------
    >>> from nba.policies.random import RandomPolicy
    >>> class Coin(RandomPolicy):
    ...     name = "coin"
    >>> register_policy("coin", Coin)
    >>> policy_class("coin") is Coin
    True
    """
    if not name or any(c in name for c in ":,=/ ") or name != name.strip():
        raise PolicyError(
            f"register_policy: `{name}` is not a spec name (no `:`, `,`, `=`, `/` or spaces)"
        )
    if name in BUILTIN_POLICIES:
        raise PolicyError(f"register_policy: `{name}` is one of nba's own policies")
    _registered[name] = _checked(name, factory, f"register_policy({name!r})")


def _entry_points() -> dict[str, EntryPoint]:
    # read on each lookup rather than cached: distributions installed (or put on
    # sys.path) after the first lookup are found too, and lookups happen when a
    # spec is read, not per decision
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def policy_names() -> tuple[str, ...]:
    """Every registered spec name: nba's own, then registered, then entry points.

    Examples
    --------
    >>> policy_names()[:3]
    ('rules', 'random', 'constant')
    """
    names = dict.fromkeys([*BUILTIN_POLICIES, *_registered, *_entry_points()])
    return tuple(names)


def policy_class(name: str) -> type[Policy]:
    """The class registered under a spec name.

    Raises
    ------
    PolicySpecError
        If the name is unknown, or its entry point cannot be loaded (naming
        the entry point and its distribution).

    Examples
    --------
    >>> policy_class("nope")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nba.exceptions.PolicySpecError: unknown policy `nope`; expected one of rules, random, ...
    """
    if name in BUILTIN_POLICIES:
        module, _, cls = BUILTIN_POLICIES[name].partition(":")
        klass: type[Policy] = getattr(importlib.import_module(module), cls)
        return klass
    if name in _registered:
        return _registered[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise PolicySpecError(
            f"unknown policy `{name}`; expected one of {', '.join(policy_names())} "
            "or the directory of a saved policy"
        )
    dist = getattr(ep.dist, "name", None) or "an unknown distribution"
    source = f"entry point `{ep.name} = {ep.value}` (group `{ENTRY_POINT_GROUP}`, from {dist})"
    try:
        loaded = ep.load()
    except Exception as exc:  # any failure of third-party code is reported the same way
        raise PolicySpecError(f"{source}: cannot be loaded: {exc!r}") from exc
    try:
        return _checked(name, loaded, source)
    except PolicyError as exc:
        raise PolicySpecError(str(exc)) from None


def load_policy(path: str | Path) -> Policy:
    """Load a policy written by :meth:`Policy.save <nba.policies.base.Policy.save>`.

    Parameters
    ----------
    path
        The directory the policy was saved to.

    Returns
    -------
    The policy, of the class registered under the saved name.

    Raises
    ------
    PolicyError
        If the directory does not hold a saved policy, or its name is not registered.

    Examples
    --------
    >>> import tempfile
    >>> from nba.policies.linear import LinUCB
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     load_policy(LinUCB(alpha=0.5).save(tmp))
    LinUCB(alpha=0.5, ridge=1.0, random_state=None)
    """
    src = Path(path)
    try:
        meta = json.loads((src / POLICY_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PolicyError(f"{src}: not a saved nba policy ({exc})") from None
    klass = policy_class(meta["name"])
    policy = klass._from_saved_params(meta["params"])
    policy._load_state(src)
    return policy
