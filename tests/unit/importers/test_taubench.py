"""tau-bench trajectories: every run imports with the tool calls and tool errors it holds."""

from __future__ import annotations

import pytest

from retake.schema import ModelEvent, OutputEvent, ToolCallEvent, ToolResultEvent, UserEvent
from tests.unit.importers.helpers import TAU, kinds, load, one

# array index -> (tool calls, tool results starting "Error:"), as SOURCES.md lists them
COUNTS = {
    0: (8, 1), 1: (0, 0), 2: (7, 0), 3: (20, 5), 4: (6, 0), 5: (6, 0), 9: (0, 0), 10: (9, 0),
    12: (2, 0), 13: (14, 6), 18: (3, 0), 20: (3, 0), 23: (2, 0), 26: (8, 1), 28: (13, 0),
    30: (9, 0), 33: (23, 0), 35: (1, 0), 37: (7, 0), 42: (2, 0), 44: (2, 0), 47: (3, 0),
    50: (6, 1), 58: (16, 3), 62: (3, 0), 63: (5, 1), 68: (3, 0), 70: (7, 2), 76: (10, 0),
    80: (10, 0), 94: (2, 0), 100: (6, 1), 112: (2, 0), 113: (9, 4), 118: (2, 0), 120: (4, 0),
    126: (11, 1), 130: (9, 0), 144: (2, 0), 150: (13, 4), 162: (0, 0), 163: (7, 3),
    168: (1, 0), 170: (6, 1), 176: (9, 0), 180: (10, 0), 194: (0, 0), 196: (18, 3),
}  # fmt: skip

FILES = sorted(TAU.glob("*.json"))


def test_all_48_trajectories_are_here() -> None:
    assert len(FILES) == 48
    assert {int(f.name.split("__idx")[1][:3]) for f in FILES} == set(COUNTS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[15:21])
def test_tool_calls_and_errors_per_trajectory_match_the_source(path) -> None:  # type: ignore[no-untyped-def]
    imported = load(path)
    assert imported.format == "tau-bench"
    assert imported.skipped == ()
    [cassette] = imported.cassettes
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    results = [e for e in cassette.events if isinstance(e, ToolResultEvent)]
    errors = [r for r in results if r.failure is not None]
    expected_calls, expected_errors = COUNTS[int(path.name.split("__idx")[1][:3])]
    assert (len(calls), len(errors)) == (expected_calls, expected_errors)
    assert len(results) == len(calls)  # every call answered, joined by id
    assert {r.call_id for r in results} == {c.call_id for c in calls}
    assert all(r.failure.message.startswith("Error:") for r in errors if r.failure)
    assert sorted(cassette.header.tags["lacks"]) == [
        "duration", "http", "permission", "recorded_at", "time",
    ]  # fmt: skip


def test_golden_task0_trial0() -> None:
    cassette = one(TAU / "gpt-4o-airline__idx000__task00__trial0__reward0.json")
    header = cassette.header
    assert header.source == "tau-bench"
    assert header.tags["task_id"] == 0 and header.tags["trial"] == 0
    assert header.tags["reward"] == 0.0
    assert header.tags["instruction"].startswith("You are mia_li_3668.")
    assert [a["name"] for a in header.tags["expected_actions"]] == ["book_reservation"]
    assert kinds(cassette)[:8] == [
        "user", "model", "user", "model", "user", "model", "tool_call", "tool_result",
    ]  # fmt: skip
    assert kinds(cassette)[-3:] == ["model", "user", "output"]
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    assert calls[0].tool == "get_user_details"
    assert calls[0].call_id == "call_oIHazX6yQrB8hUwl4cRilFKj"
    assert calls[0].arguments == {"user_id": "mia_li_3668"}
    assert calls[-1].tool == "book_reservation"
    assert calls[-1].arguments["flights"][0] == {"flight_number": "HAT136", "date": "2024-05-20"}
    [error] = [e for e in cassette.events if isinstance(e, ToolResultEvent) and e.failure]
    assert error.failure is not None and error.failure.type == "error"
    assert error.output is None
    first = cassette.events[0]
    assert isinstance(first, UserEvent)
    assert first.text == "Hi! I'm looking to book a flight from New York to Seattle on May 20th."
    model = cassette.events[1]
    assert isinstance(model, ModelEvent) and model.provider == "openai-chat"
    assert [m.role for m in model.request.messages] == ["system", "user"]
    assert model.http is None
    output = cassette.events[-1]
    assert isinstance(output, OutputEvent)
    assert output.text.startswith("Your flight from New York (JFK) to Seattle (SEA) has been")


def test_a_list_of_runs_is_one_session_each(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runs = [FILES[0].read_text(), FILES[1].read_text()]
    path = tmp_path / "two.json"
    path.write_text("[" + ",".join(runs) + "]")
    imported = load(path)
    assert imported.format == "tau-bench"
    ids = [c.header.session_id for c in imported.cassettes]
    assert ids == ["two-0-task0-trial0", "two-1-task1-trial0"]
