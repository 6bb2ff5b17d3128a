"""A cassette as a readable timeline: one row per event."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text

from retake.schema import (
    Cassette,
    ErrorEvent,
    Event,
    ModelEvent,
    NoteEvent,
    OutputEvent,
    PermissionEvent,
    ToolCallEvent,
    ToolResultEvent,
    UserEvent,
)

_KIND_STYLE = {
    "user": "bold cyan",
    "model": "magenta",
    "tool_call": "bold",
    "permission": "yellow",
    "tool_result": "green",
    "output": "bold cyan",
    "error": "bold red",
    "note": "dim",
}
_STATUS_STYLE = {"ok": "green", "allow": "green", "deny": "bold red", "ask": "yellow"}


def abridge(value: Any, width: int = 80) -> str:
    """One line of at most ``width`` characters showing a value."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=repr)
        except (ValueError, RecursionError):  # too deep to render: never crash a view
            text = f"<{type(value).__name__} nested too deep to show>"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def event_summary(event: Event, width: int = 80) -> tuple[str, str, str]:
    """(tool, detail, status) of an event, for one row of a timeline."""
    if isinstance(event, UserEvent):
        return "", abridge(event.text, width), ""
    if isinstance(event, ModelEvent):
        response = event.response
        calls = ", ".join(f"{c.name}({abridge(c.arguments, 40)})" for c in response.tool_calls)
        said = abridge(response.text, width) if response.text else ""
        detail = " | ".join(part for part in (said, calls and f"calls {calls}") if part)
        model = event.request.model or ""
        return model, abridge(detail, width), response.stop_reason or ""
    if isinstance(event, ToolCallEvent):
        return event.tool, abridge(event.arguments, width), ""
    if isinstance(event, PermissionEvent):
        rule = f"[{event.rule_id}] " if event.rule_id else ""
        return event.tool, abridge(rule + event.reason, width), event.decision
    if isinstance(event, ToolResultEvent):
        if event.failure is not None:
            detail = event.failure.message or event.failure.type
        else:
            detail = abridge(event.output, width)
        return event.tool, abridge(detail, width), event.status
    if isinstance(event, OutputEvent):
        return "", abridge(event.text, width), ""
    if isinstance(event, ErrorEvent):
        return "", abridge(f"{event.type}: {event.message}", width), "raised"
    if isinstance(event, NoteEvent):
        return "", abridge(event.message, width), event.level
    raise TypeError(f"no timeline row for event kind {event.kind!r}")


def timeline_table(cassette: Cassette, events: list[Event], *, width: int = 80) -> Table:
    """A rich table of ``events`` (a selection of the cassette's)."""
    header = cassette.header
    title = f"{header.agent} · release {header.release} · session {header.session_id}"
    caption = f"{len(events)} of {len(cassette.events)} events"
    if cassette.truncated:
        caption += " · TRUNCATED: the recording never finalised"
    table = Table(title=title, caption=caption, expand=False, show_lines=False)
    table.add_column("step", justify="right", style="dim", no_wrap=True)
    table.add_column("t", justify="right", style="dim", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("tool / model", no_wrap=True, max_width=24)
    table.add_column("detail", overflow="fold", ratio=1, min_width=20)
    table.add_column("status", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    for event in events:
        tool, detail, status = event_summary(event, width)
        duration = f"{event.duration * 1000:.0f} ms" if isinstance(event, ToolResultEvent) else ""
        table.add_row(
            str(event.seq),
            f"{event.t:.2f}",
            Text(event.kind, style=_KIND_STYLE.get(event.kind, "")),
            Text(tool),  # Text, not a str: recorded data is never read as rich markup
            Text(detail),
            Text(status, style=_STATUS_STYLE.get(status, "red" if status else "")),
            duration,
        )
    return table
