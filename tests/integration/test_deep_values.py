"""A value nested absurdly deep, in a tool's arguments, its output, a note or the answer, never
crashes the agent or costs the recording its other events: the part past the bound is kept as
a marker that says so, and the cassette is written, loads, and saves again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import retake
from retake import redact

KEY = redact.RedactionKey.from_text("tests-only key, not a secret")


def nested(levels: int) -> Any:
    value: Any = "the bottom"
    for i in range(levels):
        value = {"level": value} if i % 2 else [value]
    return value


def depth_and_bottom(value: Any) -> tuple[int, Any]:
    """How many containers nest down the single path, and what is at the bottom."""
    depth = 0
    while isinstance(value, dict | list):
        value = value["level"] if isinstance(value, dict) else value[0]
        depth += 1
    return depth, value


@retake.tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order."""
    return {"order_id": order_id, "total": 240.0}


@retake.tool
def search(query: str, filters: Any) -> Any:
    """A tool that echoes its filters back."""
    return {"query": query, "hits": filters}


@pytest.mark.parametrize(
    ("levels", "kept", "marker"),
    [
        # The event's own map is the first of the 256 levels kept.
        (500, 255, "<list nested deeper than 256 levels: not recorded>"),
        # Too deep for msgpack even to copy: the other arguments are still kept.
        (5_000, 0, "<unrecordable dict: recursion limit exceeded.>"),
    ],
    ids=["500 levels", "past msgpack's bound"],
)
def test_a_deeply_nested_value_is_recorded_as_a_marker_and_the_session_goes_on(
    tmp_path: Path, levels: int, kept: int, marker: str
) -> None:
    rec = retake.Recorder(
        tmp_path / "cassettes",
        agent="tests:deep",
        release="r1",
        redaction=redact.Redactor(key=KEY),
        tools=[lookup_order, search],
    )

    @rec
    def agent(task: retake.Task) -> str:
        lookup_order("A-1")
        found = search("refunds", filters=nested(levels))
        retake.note("searched", level="audit", data={"filters": nested(levels)})
        lookup_order("A-2")
        return f"found {len(found)} fields"

    assert agent(retake.Task(user_turns=("find my refunds",))) == "found 2 fields"
    rec.wait()  # nothing failed to publish

    (path,) = (tmp_path / "cassettes").glob("*.retake")
    cassette = retake.load(path)
    kinds = [e.kind for e in cassette.events]
    assert kinds == [
        "user",
        "tool_call",
        "tool_result",
        "tool_call",
        "tool_result",
        "note",
        "tool_call",
        "tool_result",
        "output",
    ]
    call, result, note = cassette.events[3:6]
    assert isinstance(call, retake.ToolCallEvent) and call.arguments["query"] == "refunds"
    assert isinstance(result, retake.ToolResultEvent) and result.output["query"] == "refunds"
    assert isinstance(note, retake.NoteEvent)
    for deep in (call.arguments["filters"], result.output["hits"], note.data["filters"]):
        assert depth_and_bottom(deep) == (kept, marker)
    assert cassette.events[-1].text == "found 2 fields"  # type: ignore[union-attr]

    # The loaded cassette is within every bound of the store: it saves and loads again.
    again = retake.load(retake.save(cassette, tmp_path / "again.retake"))
    assert again.events == cassette.events


def test_a_value_just_within_the_bound_is_recorded_whole(tmp_path: Path) -> None:
    rec = retake.Recorder(
        tmp_path, agent="tests:deep", release="r1", redaction=redact.Redactor(key=KEY)
    )
    with rec.session("search") as session:
        assert session is not None
        search("refunds", filters=nested(100))
    rec.wait()
    (path,) = tmp_path.glob("*.retake")
    call = retake.load(path).events[1]
    assert isinstance(call, retake.ToolCallEvent)
    assert call.arguments["filters"] == nested(100)
