"""The examples shipped inside the package: configuration, scenarios, experiments, profiles.

Each example is a directory of this package (package data, so an installed wheel has
them): ``omnichannel`` (catalog, guardrails, goal, journey rules, scenario, the
``experiment.yaml`` and ``demo.yaml`` experiments and customer ``profiles/``), and the
``drift`` and ``rules-hard-to-beat`` scenarios, which reuse the omnichannel configuration.
In a checkout, ``experiments/`` is a link to this directory.

Nothing is read when this module is imported; the functions below locate files through
:mod:`importlib.resources`. The files are handed out as paths (to the loaders, to
settings, to the user), which an installed package has: nba is not importable from a
zip archive anyway (SQLite, Vowpal Wabbit and MLflow need real files).

The command line takes a packaged example by name wherever it takes its file:
``nba decide --profile browsing_prospect`` (:func:`resolve_profile`) and ``nba
experiment run omnichannel`` (:func:`resolve_experiment`); a path that exists always
wins over a name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nba.exceptions import ConfigError

__all__ = [
    "DEFAULT_EXAMPLE",
    "example_names",
    "example_dir",
    "example_path",
    "profile_names",
    "resolve_profile",
    "resolve_experiment",
]

#: The example that settings default to and that ``nba demo`` runs.
DEFAULT_EXAMPLE = "omnichannel"


def _root() -> Path:
    return Path(str(resources.files(__name__)))


def example_names() -> list[str]:
    """The names of the packaged examples, sorted.

    Examples
    --------
    >>> example_names()
    ['drift', 'omnichannel', 'rules-hard-to-beat']
    """
    return sorted(p.name for p in _root().iterdir() if p.is_dir() and not p.name.startswith("_"))


def example_dir(name: str = DEFAULT_EXAMPLE) -> Path:
    """The directory of the packaged example ``name``.

    Raises
    ------
    ConfigError
        If there is no such example (naming the ones there are).

    Examples
    --------
    >>> (example_dir() / "catalog.yaml").is_file()
    True
    >>> example_dir("nope")
    Traceback (most recent call last):
    ...
    nba.exceptions.ConfigError: no packaged example `nope`; expected one of drift, omnichannel, rules-hard-to-beat
    """  # noqa: E501
    path = _root() / name
    if name.startswith(("_", ".")) or not path.is_dir():
        raise ConfigError(
            f"no packaged example `{name}`; expected one of {', '.join(example_names())}"
        )
    return path


def example_path(name: str, *parts: str) -> Path:
    """A file of the packaged example ``name``, e.g. ``example_path("omnichannel", "goal.yaml")``.

    Raises
    ------
    ConfigError
        If the example or the file does not exist.

    Examples
    --------
    >>> example_path("omnichannel", "profiles", "lapsed_customer.json").name
    'lapsed_customer.json'
    """
    path = example_dir(name).joinpath(*parts)
    if not path.is_file():
        raise ConfigError(f"packaged example `{name}` has no file `{'/'.join(parts)}`")
    return path


def profile_names(name: str = DEFAULT_EXAMPLE) -> list[str]:
    """The customer profiles of an example, by name (file name without ``.json``), sorted.

    Examples
    --------
    >>> profile_names()
    ['browsing_prospect', 'lapsed_customer']
    """
    return sorted(p.stem for p in (example_dir(name) / "profiles").glob("*.json"))


def _is_name(value: str | Path) -> bool:
    # A bare word: no directory part, no suffix. Anything else is a path the loader checks.
    p = Path(value)
    return not p.exists() and p.name == str(value) and not p.suffix


def resolve_profile(value: str | Path) -> Path:
    """A ``--profile`` value as a file: an existing path, or a packaged profile's name.

    Raises
    ------
    ConfigError
        For a bare name that is neither a file nor a packaged profile.

    Examples
    --------
    >>> resolve_profile("browsing_prospect").parent.name
    'profiles'
    >>> resolve_profile("vip")
    Traceback (most recent call last):
    ...
    nba.exceptions.ConfigError: `--profile` vip: no such file, nor a packaged profile (browsing_prospect, lapsed_customer)
    """  # noqa: E501
    if not _is_name(value):
        return Path(value)
    names = profile_names()
    if str(value) not in names:
        raise ConfigError(
            f"`--profile` {value}: no such file, nor a packaged profile ({', '.join(names)})"
        )
    return example_path(DEFAULT_EXAMPLE, "profiles", f"{value}.json")


def resolve_experiment(value: str | Path) -> Path:
    """An experiment ``CONFIG`` as a file: an existing path, or a packaged example's name.

    The name stands for the example's ``experiment.yaml``.

    Raises
    ------
    ConfigError
        For a bare name that is neither a file nor a packaged example.

    Examples
    --------
    >>> resolve_experiment("drift").relative_to(example_dir("drift")).as_posix()
    'experiment.yaml'
    >>> resolve_experiment("huge")
    Traceback (most recent call last):
    ...
    nba.exceptions.ConfigError: `CONFIG` huge: no such file, nor a packaged experiment (drift, omnichannel, rules-hard-to-beat)
    """  # noqa: E501
    if not _is_name(value):
        return Path(value)
    names = example_names()
    if str(value) not in names:
        raise ConfigError(
            f"`CONFIG` {value}: no such file, nor a packaged experiment ({', '.join(names)})"
        )
    return example_path(str(value), "experiment.yaml")
