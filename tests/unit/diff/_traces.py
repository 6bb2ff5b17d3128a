"""Small hand-built traces for the divergence engine's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from retake.schema import (
    Cassette,
    CassetteHeader,
    Event,
    OutputEvent,
    PermissionEvent,
    ToolCallEvent,
    ToolResultEvent,
    ToolSpec,
    UserEvent,
)

TOOLS = (ToolSpec(name="lookup_order"), ToolSpec(name="issue_refund", effect="write"))


def trace(*steps: tuple[str, dict[str, Any]], session: str = "s") -> Cassette:
    """A cassette from ``(kind, fields)`` steps; seq and t are filled in."""
    kinds = {
        "user": UserEvent,
        "call": ToolCallEvent,
        "permission": PermissionEvent,
        "result": ToolResultEvent,
        "output": OutputEvent,
    }
    events: list[Event] = [
        kinds[kind](seq=i, t=i * 0.1, **fields)  # type: ignore[arg-type]
        for i, (kind, fields) in enumerate(steps)
    ]
    header = CassetteHeader(
        session_id=session,
        agent="tests",
        release="r1",
        recorded_at=datetime(2026, 11, 27, tzinfo=UTC),
        tools=TOOLS,
    )
    return Cassette(header=header, events=tuple(events))


def call(cid: str, tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    return "call", {"call_id": cid, "tool": tool, "arguments": arguments}


def result(cid: str, tool: str, output: Any = "ok", **more: Any) -> tuple[str, dict[str, Any]]:
    return "result", {"call_id": cid, "tool": tool, "output": output, **more}


def gate(cid: str, tool: str, decision: str) -> tuple[str, dict[str, Any]]:
    return "permission", {"call_id": cid, "tool": tool, "decision": decision}


def user(text: str) -> tuple[str, dict[str, Any]]:
    return "user", {"text": text}


def output(text: str) -> tuple[str, dict[str, Any]]:
    return "output", {"text": text}
