"""What every command shares: consoles, turning retake errors into exit codes, finding files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from retake.errors import RetakeError
from retake.store import PARTIAL_SUFFIX, SUFFIX

console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
"""0: all good; 1: the check failed (invalid cassette, finding); 2: bad input or usage."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a retake error as one paragraph and exit 2; a traceback is never shown."""
    try:
        yield
    except RetakeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


def find_cassettes(paths: list[Path], *, partial: bool = True) -> Iterator[Path]:
    """Every cassette file named by ``paths``: files as given, directories searched deeply."""
    suffixes = (SUFFIX, SUFFIX + PARTIAL_SUFFIX) if partial else (SUFFIX,)
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes)
            )
        else:
            yield path
