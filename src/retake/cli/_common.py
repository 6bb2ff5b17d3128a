"""What every command shares: consoles, turning retake errors into exit codes, finding files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from retake.errors import RetakeError

from ._lazy import lazy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from retake import _yamlfile, redact, store
else:
    _yamlfile, redact, store = lazy("retake._yamlfile"), lazy("retake.redact"), lazy("retake.store")

# Neither console reads rich markup: what they print quotes paths, flag values and recorded
# data, in which "[/x]" is text. Styled words go through ``labelled``.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
"""0: all good; 1: the check failed (invalid cassette, finding); 2: bad input or usage."""


def count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``: ``n`` and the noun, plural unless one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def labelled(to: Console, label: str, style: str, text: object, *, soft_wrap: bool = False) -> None:
    """Print ``label`` in ``style``, then ``text`` as it is."""
    to.print(Text.assemble((label, style), " ", str(text)), highlight=False, soft_wrap=soft_wrap)


def error(text: object) -> None:
    """Print ``error: text`` on stderr."""
    labelled(err_console, "error:", "bold red", text)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a retake error, or a path that cannot be read or written, as one paragraph and
    exit 2; a traceback is never shown."""
    try:
        yield
    except RetakeError as exc:
        error(exc)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:  # a path given on the command line: a missing folder, a directory
        where = f"{str(exc.filename)!r}: " if exc.filename is not None else ""
        error(
            f"{where}{exc.strerror or exc}. Check that the path (for an output, its folder) "
            "exists, is the kind of path the option asks for, and that you may read or write "
            "there."
        )
        raise typer.Exit(EXIT_USAGE) from None


@contextmanager
def progress_bar(
    verb: str, total: int, *, disable: bool = False
) -> Iterator[Callable[[str], None]]:
    """A transient progress bar on stderr; yields ``advance(description)``."""
    with Progress(
        TextColumn(f"[bold]{verb}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
        disable=disable,
    ) as progress:
        bar = progress.add_task("", total=total)

        def advance(description: str = "") -> None:
            progress.update(bar, advance=1, description=description)

        yield advance


def writable(
    path: Path,
    *,
    inputs: Iterable[Path] = (),
    what: str = "the output",
    replaces_cassette: bool = False,
) -> Path:
    """``path``, unless writing there would destroy a recording: when it is one of the
    command's own inputs, or an existing cassette (no export, report or scenario replaces
    one; ``replaces_cassette``: a cassette may, as --overwrite asks). Raises a
    ``RetakeError`` that says so."""
    target = path.resolve()
    for given in inputs:
        if given.exists() and given.resolve() == target:
            raise RetakeError(
                f"{what} {str(path)!r} is also an input of this command; writing it would "
                "replace that input. Choose another path."
            )
    if replaces_cassette or not target.is_file():  # new, or a terminal or pipe (/dev/stdout)
        return path
    try:
        with target.open("rb") as existing:
            head = existing.read(len(store.MAGIC))
    except OSError:  # unreadable: writing there fails with its own clear error
        return path
    if head == store.MAGIC:
        raise RetakeError(
            f"{str(path)!r} is a cassette; writing {what} there would replace the recording "
            "(cassettes are immutable once finalised). Choose another path."
        )
    return path


def as_json_data(model: BaseModel, what: str) -> Any:
    """A model as JSON-ready data; a value too deep to serialise is an input error, not a crash."""
    try:
        return model.model_dump(mode="json")
    except (ValueError, RecursionError) as exc:
        too_deep(what, exc)


def too_deep(what: str, exc: BaseException) -> NoReturn:
    """Say that a value nests too deep to write out, and exit 2."""
    error(
        f"{what} holds a value nested too deep to write as JSON or YAML "
        f"({type(exc).__name__}). Use `retake show` without --json to see the rest of it."
    )
    raise typer.Exit(EXIT_USAGE)


def find_cassettes(paths: list[Path], *, partial: bool = True) -> Iterator[Path]:
    """Every cassette file named by ``paths``: files as given, directories searched deeply."""
    suffixes = (store.SUFFIX, store.SUFFIX + store.PARTIAL_SUFFIX) if partial else (store.SUFFIX,)
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes)
            )
        else:
            yield path


PolicyFile = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="A redaction policy file (YAML): detectors to switch off, extra headers and "
        "secret fields, field rules, user patterns (see the README).",
    ),
]
KeyFile = Annotated[
    Path | None,
    typer.Option(help="Pseudonymisation key file (default: $RETAKE_REDACTION_KEY)."),
]


def redaction_policy(policy: Path | None, key_file: Path | None) -> redact.RedactionPolicy | None:
    """The policy a command redacts or scans with: the ``--policy`` file's (a key file it
    names is found beside it), keyed by ``--key-file`` when given; ``None`` for the default."""
    loaded = (
        _yamlfile.load_model(policy, redact.RedactionPolicy, "redaction policy") if policy else None
    )
    if key_file is not None:
        return (loaded or redact.RedactionPolicy()).model_copy(
            update={"key": redact.KeySource(file=key_file)}
        )
    if policy is not None and loaded is not None:
        named = loaded.key.file
        if named is not None and not named.is_absolute():
            key = loaded.key.model_copy(update={"file": policy.parent / named})
            return loaded.model_copy(update={"key": key})
    return loaded
