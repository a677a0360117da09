"""The ``nba`` command.

The shared Typer ``app`` and output helpers live here; commands live in one
module per area (``core``: decide, guardrails, demo; ``experiment``:
simulate, experiment; ``offline``: evaluate, train, export; ``service``:
serve, keys), each registering on ``app`` when imported.

Every command that reports results accepts ``--json`` and then prints one
JSON document on stdout. Errors a user can cause print ``error: ...`` on
stderr and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from nba.exceptions import NBAError

app = typer.Typer(
    help="nba: next-best-action decisions with guardrails and bandits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
guardrails_app = typer.Typer(help="Validate and inspect guardrails files.", no_args_is_help=True)
app.add_typer(guardrails_app, name="guardrails")

console = Console()
err_console = Console(stderr=True)

__all__ = [
    "app",
    "main",
    "console",
    "err_console",
    "user_errors",
    "emit_json",
    "write_atomically",
    "parse_now",
    "CatalogOpt",
    "GuardrailsOpt",
    "JsonOpt",
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn nba's errors into ``error: ...`` on stderr and exit status 2."""
    try:
        yield
    except NBAError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def emit_json(doc: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


def write_atomically(
    out: Path,
    write: Callable[[Path], object],
    *,
    directory: bool = False,
    companions: Sequence[str] = (),
    replace_dir: Callable[[Path], bool] | None = None,
) -> Path:
    """Have ``write`` fill a temporary sibling of ``out``, then rename it to ``out``.

    A failed or interrupted command leaves neither a half-written output nor
    the temporary one, and an earlier output at ``out`` stays as it was.
    Every command that writes a file or directory the user names goes
    through here, so that what cannot be written is one ``error: ...`` line.

    Parameters
    ----------
    out
        The file (or directory) to write; missing parent directories are created.
    write
        Called once with the temporary path; writes the output there. Its
        return value is ignored.
    directory
        ``write`` fills a directory (created empty beforehand) rather than a file.
    companions
        Suffixes of files that ``write`` puts next to the temporary file
        (e.g. ``".meta.json"`` for ``FILE.meta.json``); each is renamed to
        ``out`` plus the suffix, before ``out`` itself.
    replace_dir
        With ``directory``: whether a non-empty directory already at ``out``
        may be replaced (e.g. it holds an earlier saved policy). Without it,
        or when it says no, such a directory is refused rather than deleted.

    Returns
    -------
    ``out``.

    Raises
    ------
    InputError
        ``cannot write <out>: <reason>`` if ``out`` cannot be written (a
        directory where a file goes, a file where a directory goes, no
        permission, disk full...). Errors that ``write`` raises other than
        ``OSError`` propagate unchanged, after the clean-up.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "report.txt"
    >>> write_atomically(out, lambda tmp: tmp.write_text("done")).read_text()
    'done'
    >>> from nba.exceptions import InputError
    >>> try:
    ...     write_atomically(out.parent, lambda tmp: tmp.write_text("x"))
    ... except InputError as exc:
    ...     print(str(exc).endswith(": Is a directory"))
    True
    """
    from nba.exceptions import InputError

    tmp: Path | None = None
    made: list[Path] = []
    try:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file where a directory should be
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None
        # What is in the way is refused before writing: the rename would fail after the work.
        in_the_way = out.is_dir() and not out.is_symlink()
        if in_the_way and not directory:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        replacing = directory and in_the_way and any(out.iterdir())
        if replacing and (replace_dir is None or not replace_dir(out)):
            raise OSError(errno.ENOTEMPTY, os.strerror(errno.ENOTEMPTY))
        prefix, suffix = f".{out.name}.", ".tmp"
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=out.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=out.parent)
            os.close(fd)
            tmp = Path(name)
        made = [tmp.with_name(tmp.name + c) for c in companions]
        write(tmp)
        # mkstemp/mkdtemp make the output private; give it the mode a plain open()/mkdir() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, (0o777 if directory else 0o666) & ~umask)
        for companion, part in zip(companions, made, strict=True):
            if part.exists():
                os.replace(part, out.with_name(out.name + companion))
        if replacing:
            # A directory cannot replace a non-empty one in one rename: move the old
            # one aside (onto an empty placeholder), then put the new one in place.
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=out.parent))
            try:
                os.replace(out, old)
            except OSError:
                old.rmdir()
                raise
            try:
                os.replace(tmp, out)
            except OSError:
                os.replace(old, out)
                raise
            tmp = None
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
            tmp = None
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            if directory:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        for part in made:
            part.unlink(missing_ok=True)
    return out


def parse_now(now: str | None) -> datetime:
    from nba.events import parse_timestamp
    from nba.exceptions import ConfigError

    if now is None:
        return datetime.now(UTC)
    try:
        return parse_timestamp(now)
    except ValueError:
        raise ConfigError(f"`--now`: expected an ISO-8601 timestamp, got {now!r}") from None


CatalogOpt = typer.Option(
    None, "--catalog", help="Catalog YAML (default: NBA_CATALOG or the omnichannel example)."
)
GuardrailsOpt = typer.Option(
    None, "--guardrails", help="Guardrails YAML (default: NBA_GUARDRAILS or the example)."
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON document.")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``nba`` console script."""
    command = typer.main.get_command(app)
    command.main(args=argv, prog_name="nba")


# the command modules register on `app` when imported (kept last: they import from here)
from nba.cli import core, experiment, offline, service  # noqa: E402, F401
