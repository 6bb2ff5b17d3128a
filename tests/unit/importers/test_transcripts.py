"""OpenAI chat, OpenAI Responses and Anthropic transcripts: real conversations taken from the
fixtures (a tau-bench trajectory, the request bodies of realdata cassettes) saved as
transcript files, then imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from retake.schema import ModelEvent, OutputEvent, ToolCallEvent, ToolResultEvent
from tests.unit.importers.helpers import REALDATA, TAU, kinds, load, one

PAI = "pydantic-ai/tests"


def _last_request(relpath: str) -> dict[str, Any]:
    data = yaml.safe_load((REALDATA / relpath).read_text(encoding="utf-8"))
    body: dict[str, Any] = data["interactions"][-1]["request"]["parsed_body"]
    return body


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_openai_chat_message_list(tmp_path: Path) -> None:
    run = json.loads((TAU / "gpt-4o-airline__idx058__task08__trial1__reward0.json").read_text())
    imported = load(_write(tmp_path, "chat.json", run["traj"]))
    assert imported.format == "openai-chat"
    [cassette] = imported.cassettes
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    results = [e for e in cassette.events if isinstance(e, ToolResultEvent)]
    assert len(calls) == len(results) == 16
    assert all(r.failure is None for r in results)  # plain chat has no error flag
    assert cassette.header.source == "openai-chat"
    models = [e for e in cassette.events if isinstance(e, ModelEvent)]
    assert sum(1 for m in models if m.response.text is None) >= 1  # content: null turns


def test_openai_chat_parallel_calls_and_tool_messages_without_name(tmp_path: Path) -> None:
    body = _last_request(f"{PAI}/cassettes/test_temporal/test_temporal_agent_with_hitl_tool.yaml")
    cassette = one(_write(tmp_path, "hitl.json", body))
    assert kinds(cassette) == [
        "user",
        "model",
        "tool_call",
        "tool_call",
        "tool_result",
        "tool_result",
    ]
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    results = [e for e in cassette.events if isinstance(e, ToolResultEvent)]
    assert [c.tool for c in calls] == ["delete_file", "create_file"]
    assert [r.call_id for r in results] == [c.call_id for c in calls]
    assert [r.tool for r in results] == ["delete_file", "create_file"]  # named from the call
    assert calls[0].arguments == {"path": ".env"}


def test_responses_items(tmp_path: Path) -> None:
    relpath = (
        f"{PAI}/models/cassettes/test_openai_responses/"
        "test_openai_responses_model_simple_response_with_tool_call.yaml"
    )
    imported = load(_write(tmp_path, "responses.json", _last_request(relpath)))
    assert imported.format == "openai-responses"
    [cassette] = imported.cassettes
    assert kinds(cassette) == ["user", "model", "tool_call", "tool_result"]
    [call] = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    [result] = [e for e in cassette.events if isinstance(e, ToolResultEvent)]
    assert result.call_id == call.call_id and call.call_id.startswith("call_")
    assert call.tool == "get_capital"


def test_anthropic_parallel_tool_use_and_is_error(tmp_path: Path) -> None:
    body = _last_request(
        f"{PAI}/models/cassettes/test_anthropic/test_multiple_parallel_tool_calls.yaml"
    )
    body["messages"][-1]["content"][1]["is_error"] = True
    imported = load(_write(tmp_path, "anthropic.json", body))
    assert imported.format == "anthropic"
    [cassette] = imported.cassettes
    assert kinds(cassette) == ["user", "model"] + ["tool_call"] * 4 + ["tool_result"] * 4
    results = [e for e in cassette.events if isinstance(e, ToolResultEvent)]
    assert [r.failure is not None for r in results] == [False, True, False, False]
    model = cassette.events[1]
    assert isinstance(model, ModelEvent) and model.request.messages[0].role == "system"


def test_a_final_text_answer_becomes_the_output(tmp_path: Path) -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
            {"id": "c2", "type": "function",
             "function": {"name": "weather", "arguments": "not json"}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "name": "weather", "content": "rain"},
        {"role": "assistant", "content": "Sunny, or rain."},
    ]  # fmt: skip
    cassette = one(_write(tmp_path, "t.json", {"messages": messages, "model": "gpt-4o"}))
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    assert calls[1].arguments == {"value": "not json"}  # invalid JSON kept as the model sent it
    assert isinstance(cassette.events[-1], OutputEvent)
    assert cassette.events[-1].text == "Sunny, or rain."
    assert cassette.header.tags["model"] == "gpt-4o"
