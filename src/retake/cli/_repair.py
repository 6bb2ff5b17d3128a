"""``retake repair``: finalise recordings that were cut short."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from retake.errors import RetakeError

from ._common import console, user_errors
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import store
else:
    store = lazy("retake.store")


def repair(
    paths: Annotated[list[Path], typer.Argument(help="Unfinished recordings (*.partial).")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a finalised cassette of the same name.")
    ] = False,
) -> None:
    """Finalise recordings that never finished: keep every intact event and add a footer."""
    for path in paths:
        with user_errors():
            info = store.inspect(path)
            if info.complete:
                console.print(f"{path}: already complete ({info.events} events); left alone.")
                continue
            try:
                target, kept = store.repair(path, overwrite=overwrite)
            except RetakeError:
                raise
            except OSError as exc:  # the disk filled up, the folder is read-only...
                raise RetakeError(
                    f"could not write the repaired recording of {str(path)!r} "
                    f"({exc.strerror or exc}); it is left as it was. Free some space or make its "
                    "folder writable, and run `retake repair` again."
                ) from exc
        lost = " (a torn last frame was dropped)" if info.torn else ""
        console.print(f"repaired {path} -> {target}: {kept} events kept{lost}", highlight=False)
