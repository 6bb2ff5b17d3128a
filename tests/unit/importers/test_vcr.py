"""vcrpy cassettes: every realdata cassette imports; golden checks of events, tools, arguments,
call ids and errors, through the provider adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retake.schema import ModelEvent, ToolCallEvent, ToolResultEvent
from tests.unit.importers.helpers import REALDATA, kinds, load

DD = "dd-trace-py/tests/contrib"
PAI = "pydantic-ai/tests"

# file -> (event kinds, [(tool, call id, arguments)], {call id: failed?}, provider)
GOLDEN: dict[str, tuple[str, list[tuple[str, str, Any]], dict[str, bool], str]] = {
    f"{DD}/anthropic/cassettes/anthropic_completion_tools.yaml": (
        "user model tool_call",
        [("get_weather", "toolu_01DYJo37oETVsCdLTTcCWcdq", {"location": "San Francisco, CA"})],
        {},
        "anthropic-messages",
    ),
    f"{DD}/anthropic/cassettes/anthropic_completion_tools_call_with_tool_result.yaml": (
        "user model tool_call tool_result model output",
        [("get_weather", "toolu_01DYJo37oETVsCdLTTcCWcdq", {"location": "San Francisco, CA"})],
        {"toolu_01DYJo37oETVsCdLTTcCWcdq": False},
        "anthropic-messages",
    ),
    f"{DD}/anthropic/cassettes/anthropic_completion_tools_stream.yaml": (
        "user model tool_call", [], {}, "anthropic-messages",
    ),
    f"{DD}/openai/cassettes/v1/chat_completion_tool_call.yaml": (
        "user model tool_call", [], {}, "openai-chat",
    ),
    f"{DD}/openai/cassettes/v1/chat_completion_tool_call_follow_up.yaml": (
        "user model tool_call tool_result user model output", [], {}, "openai-chat",
    ),
    f"{DD}/openai_agents/cassettes/test_agent_with_tool_errors.yaml": (
        "user model tool_call tool_result model output", [], {}, "openai-responses",
    ),
    f"{DD}/openai_agents/cassettes/test_single_agent_with_tool_calls.yaml": (
        "user model tool_call tool_result model output", [], {}, "openai-responses",
    ),
    f"{PAI}/models/cassettes/test_anthropic/test_multiple_parallel_tool_calls.yaml": (
        (
            "user model tool_call tool_call tool_call tool_call "
            "tool_result tool_result tool_result tool_result model output"
        ),
        [],
        {},
        "anthropic-messages",
    ),
    f"{PAI}/cassettes/test_temporal/test_temporal_agent_with_model_retry.yaml": (
        "user model tool_call tool_result model tool_call tool_result model output",
        [],
        {},
        "openai-chat",
    ),
    f"{PAI}/cassettes/test_temporal/test_temporal_agent_with_hitl_tool.yaml": (
        "user model tool_call tool_call tool_result tool_result model output",
        [],
        {},
        "openai-chat",
    ),
    f"{PAI}/models/cassettes/test_openai_responses/"
    "test_openai_responses_model_simple_response_with_tool_call.yaml": (
        "user model tool_call tool_result model output", [], {}, "openai-responses",
    ),
}  # fmt: skip


def test_every_realdata_cassette_has_a_golden() -> None:
    found = {str(p.relative_to(REALDATA)) for p in REALDATA.rglob("*.yaml")}
    assert found == set(GOLDEN) and len(found) == 11


@pytest.mark.parametrize("relpath", sorted(GOLDEN), ids=lambda p: Path(p).stem)
def test_realdata_cassette_golden(relpath: str) -> None:
    expected_kinds, expected_calls, expected_failed, provider = GOLDEN[relpath]
    imported = load(REALDATA / relpath)
    assert imported.format == "vcr"
    assert imported.skipped == ()
    [cassette] = imported.cassettes
    assert kinds(cassette) == expected_kinds.split()
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    results = [e for e in cassette.events if isinstance(e, ToolResultEvent)]
    if expected_calls:
        assert [(c.tool, c.call_id, c.arguments) for c in calls] == expected_calls
    for call_id, failed in expected_failed.items():
        [result] = [r for r in results if r.call_id == call_id]
        assert (result.failure is not None) is failed
    assert {r.call_id for r in results} <= {c.call_id for c in calls}
    served = [e for e in cassette.events if isinstance(e, ModelEvent) and e.http is not None]
    assert served and all(e.provider == provider for e in served)
    assert all(e.http.response_body for e in served if e.http)
    assert "http" not in cassette.header.tags["lacks"]
    assert cassette.header.source == "vcr"


def _calls(relpath: str) -> list[ToolCallEvent]:
    [cassette] = load(REALDATA / relpath).cassettes
    return [e for e in cassette.events if isinstance(e, ToolCallEvent)]


def _results(relpath: str) -> list[ToolResultEvent]:
    [cassette] = load(REALDATA / relpath).cassettes
    return [e for e in cassette.events if isinstance(e, ToolResultEvent)]


def test_parallel_anthropic_calls_keep_ids_and_arguments() -> None:
    path = f"{PAI}/models/cassettes/test_anthropic/test_multiple_parallel_tool_calls.yaml"
    calls, results = _calls(path), _results(path)
    assert len({c.call_id for c in calls}) == 4
    assert [r.call_id for r in results] == [c.call_id for c in calls]
    assert all(c.call_id.startswith("toolu_") for c in calls)


def test_tool_error_texts_become_typed_failures() -> None:
    [result] = _results(f"{DD}/openai_agents/cassettes/test_agent_with_tool_errors.yaml")
    assert result.failure is not None and result.failure.type == "error"
    assert "This is a test error" in result.failure.message
    [ok] = _results(f"{DD}/openai_agents/cassettes/test_single_agent_with_tool_calls.yaml")
    assert ok.failure is None
    retry = _results(f"{PAI}/cassettes/test_temporal/test_temporal_agent_with_model_retry.yaml")
    assert [r.failure is not None for r in retry] == [True, False]
    calls = _calls(f"{PAI}/cassettes/test_temporal/test_temporal_agent_with_model_retry.yaml")
    assert [c.tool for c in calls] == ["get_weather_in_city", "get_weather_in_city"]
    assert calls[0].arguments != calls[1].arguments  # the model corrected its arguments


def test_streamed_and_gzip_bodies_give_the_same_call() -> None:
    streamed = _calls(f"{DD}/anthropic/cassettes/anthropic_completion_tools_stream.yaml")
    assert streamed[0].tool == "get_weather" and "location" in streamed[0].arguments
    chat = _calls(f"{DD}/openai/cassettes/v1/chat_completion_tool_call.yaml")
    assert chat[0].call_id.startswith("call_") and chat[0].arguments
