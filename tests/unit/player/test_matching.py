"""Matching a live tool call to a recorded one: each matcher, misses, and what a loose match
leaves in the candidate trace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from retake import capture, player
from retake.player import CallIndex, Match
from retake.schema import (
    Cassette,
    CassetteHeader,
    NoteEvent,
    Task,
    ToolCallEvent,
    ToolResultEvent,
)

HEADER = CassetteHeader(
    session_id="s", agent="a:b", release="1", recorded_at=datetime(2026, 11, 27, tzinfo=UTC)
)


def recording(*calls: tuple[str, dict[str, Any], Any]) -> Cassette:
    events: list[Any] = []
    for i, (tool, arguments, output) in enumerate(calls):
        call_id = f"c{i}"
        events.append(
            ToolCallEvent(seq=len(events), call_id=call_id, tool=tool, arguments=arguments)
        )
        events.append(ToolResultEvent(seq=len(events), call_id=call_id, tool=tool, output=output))
    return Cassette(header=HEADER, events=tuple(events))


CASSETTE = recording(
    ("lookup_order", {"order_id": "A-1"}, {"status": "shipped"}),
    ("lookup_order", {"order_id": "A-2"}, {"status": "pending"}),
    ("search_kb", {"query": "returns"}, ["30 days"]),
)


def served(index: CallIndex, tool: str, arguments: dict[str, Any]) -> tuple[str, Any] | None:
    found = index.match(tool, arguments)
    if not isinstance(found, Match):
        return None
    assert found.recorded.result is not None
    return found.matcher, found.recorded.result.output


def test_exact_matches_by_tool_and_canonical_arguments_in_recorded_order() -> None:
    index = CallIndex.of(CASSETTE, ("exact",))
    assert served(index, "lookup_order", {"order_id": "A-2"}) == ("exact", {"status": "pending"})
    assert served(index, "lookup_order", {"order_id": "A-1"}) == ("exact", {"status": "shipped"})
    # each recorded occurrence answers once: a third identical call is a miss
    assert served(index, "lookup_order", {"order_id": "A-1"}) is None


def test_order_serves_the_next_unserved_call_of_the_tool_whatever_its_arguments() -> None:
    index = CallIndex.of(CASSETTE, ("exact", "order"))
    assert served(index, "lookup_order", {"order_id": "Z-9"}) == ("order", {"status": "shipped"})
    assert served(index, "lookup_order", {"order_id": "A-2"}) == ("exact", {"status": "pending"})
    assert served(index, "lookup_order", {"order_id": "Z-9"}) is None  # all served


def test_tool_serves_the_last_recorded_call_again() -> None:
    index = CallIndex.of(CASSETTE, ("exact", "tool"))
    for _ in range(3):
        assert served(index, "search_kb", {"query": "refunds"}) == ("tool", ["30 days"])


def test_a_miss_names_the_nearest_recorded_calls_and_why_each_failed() -> None:
    index = CallIndex.of(CASSETTE, ("exact",))
    miss = index.match("lookup_order", {"order_id": "A-3"})
    assert isinstance(miss, player.Miss)
    text = miss.explain()
    assert 'live call   lookup_order({"order_id":"A-3"})' in text
    assert "order_id: recorded 'A-1', live 'A-3'" in text
    assert "order: matcher not enabled" in text
    other = index.match("issue_refund", {"order_id": "A-1"})
    assert isinstance(other, player.Miss)
    assert "the recording never called 'issue_refund'" in other.explain()


@pytest.mark.parametrize("matchers", [("exact", "order"), ("exact", "tool")])
def test_a_loose_match_is_noted_in_the_candidate_trace(matchers: tuple[str, ...]) -> None:
    snapshots: list[capture.Snapshot] = []
    session = capture.RecordingSession(snapshots.append, Task(user_turns=("hi",)))
    answering = player.Player(CASSETTE, session, matchers=matchers)  # type: ignore[arg-type]

    @capture.tool
    def lookup_order(order_id: str) -> dict[str, Any]:
        raise AssertionError("a replayed tool never runs")

    with capture.activate(answering):
        assert lookup_order("A-1") == {"status": "shipped"}  # exact: no note
        assert lookup_order("Z-9") == {"status": "pending"}  # loose: noted
    notes = [e for e in map(capture.build_event, snapshots) if isinstance(e, NoteEvent)]
    (note,) = notes
    assert note.level == "replay" and note.data["matcher"] == matchers[1]
    assert "order_id: recorded 'A-2', live 'Z-9'" in note.message
