"""``retake show``: a cassette as a timeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import as_json_data, console, user_errors
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import report, store
else:
    report = lazy("retake.report")
    store = lazy("retake.store")

KINDS = ("user", "model", "tool_call", "permission", "tool_result", "output", "error", "note")


def show(
    cassette: Annotated[Path, typer.Argument(help="The cassette file.")],
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", "-k", help=f"Only these kinds: {', '.join(KINDS)}."),
    ] = None,
    tool: Annotated[
        list[str] | None, typer.Option("--tool", "-t", help="Only events about these tools.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the selected events as JSON lines.")
    ] = False,
    allow_truncated: Annotated[
        bool, typer.Option("--allow-truncated", help="Show a recording that never finalised.")
    ] = False,
    width: Annotated[
        int, typer.Option(min=1, help="Abridge details to this many characters.")
    ] = 80,
) -> None:
    """Show a cassette as a timeline: step, kind, tool, arguments, status, duration."""
    unknown = sorted(set(kind or ()) - set(KINDS))
    if unknown:
        raise typer.BadParameter(
            f"unknown kind {unknown[0]!r}; choose from {', '.join(KINDS)}", param_hint="--kind"
        )
    with user_errors():
        loaded = store.load(cassette, allow_truncated=allow_truncated)
    events = [
        e
        for e in loaded.events
        if (not kind or e.kind in kind) and (not tool or getattr(e, "tool", None) in tool)
    ]
    if as_json:
        for event in events:
            data = as_json_data(event, f"event {event.seq} of {str(cassette)!r}")
            typer.echo(json.dumps(data, ensure_ascii=False))
        return
    console.print(report.timeline_table(loaded, events, width=width))
