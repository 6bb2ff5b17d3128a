"""``retake validate``: check every cassette under some paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from retake.errors import RetakeError

from ._common import EXIT_FAILED, EXIT_USAGE, console, error, find_cassettes, labelled
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import store
else:
    store = lazy("retake.store")


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Cassette files or directories.")],
) -> None:
    """Load and validate every cassette under PATHS; one line per file, exit 1 if any fails."""
    found = list(find_cassettes(paths))
    if not found:
        error(
            f"no cassettes under {', '.join(map(str, paths))} (looking for *{store.SUFFIX} files)."
        )
        raise typer.Exit(EXIT_USAGE)
    failures = 0
    for path in found:
        try:
            cassette = store.load(path)
        except RetakeError as exc:
            failures += 1
            labelled(console, "FAIL", "bold red", f"{path}: {exc}", soft_wrap=True)
        else:
            labelled(console, "ok  ", "green", f"{path} ({len(cassette.events)} events)")
    console.print(f"{len(found) - failures} valid, {failures} invalid", highlight=False)
    if failures:
        raise typer.Exit(EXIT_FAILED)
