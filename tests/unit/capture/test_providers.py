"""Provider adapters: real recorded traffic in, model exchanges out, and rendered bodies back
through the providers' own SDK types and clients."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
import yaml
from anthropic.types import Message as AnthropicMessage
from anthropic.types import RawMessageStreamEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from retake.capture._providers import (
    ADAPTERS,
    AnthropicMessagesAdapter,
    OpenAIChatAdapter,
    OpenAIResponsesAdapter,
    ProviderAdapter,
    ProviderFormatError,
    adapter_for,
    adapter_named,
    parse_exchange,
)
from retake.capture._providers._sse import iter_events
from retake.schema import Message, ModelRequest, ModelResponse, ToolCallRequest, Usage

REALDATA = Path(__file__).parents[2] / "fixtures" / "realdata"
DD = "dd-trace-py/tests/contrib"
PAI = "pydantic-ai/tests"


# --- reading vcrpy cassettes ----------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    request_body: bytes
    response_body: bytes
    response_headers: dict[str, str]


def _body(raw: Any) -> bytes:
    if raw is None:
        return b""
    return raw if isinstance(raw, bytes) else str(raw).encode("utf-8")


def _flat(headers: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): (v[0] if isinstance(v, list) else v) for k, v in headers.items()}


def load(relpath: str) -> list[Exchange]:
    """Every interaction of a cassette, in stock vcrpy, old-httpx or pydantic-ai form."""
    data = yaml.safe_load((REALDATA / relpath).read_text(encoding="utf-8"))
    exchanges = []
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        if "parsed_body" in request:
            request_body = json.dumps(request["parsed_body"]).encode()
        else:
            request_body = _body(request.get("body"))
        if "parsed_body" in response:
            response_body = json.dumps(response["parsed_body"]).encode()
        elif "content" in response:  # vcrpy's old httpx format
            response_body = _body(response["content"])
        else:
            response_body = _body(response["body"]["string"])
        headers = _flat(response.get("headers") or {})
        if response_body[:2] == b"\x1f\x8b":  # stored still gzip-encoded
            response_body = gzip.decompress(response_body)
        exchanges.append(
            Exchange(request["method"], request["uri"], request_body, response_body, headers)
        )
    return exchanges


def parsed(relpath: str) -> list[tuple[str, ModelRequest, ModelResponse]]:
    out = []
    for ex in load(relpath):
        result = parse_exchange(
            ex.method, ex.url, ex.request_body, ex.response_body, ex.response_headers
        )
        assert result is not None, ex.url
        out.append(result)
    return out


ALL_CASSETTES = sorted(
    str(p.relative_to(REALDATA)) for p in REALDATA.rglob("*.yaml") if "cassettes" in p.parts
)


def test_every_realdata_cassette_is_found() -> None:
    assert len(ALL_CASSETTES) == 11


@pytest.mark.parametrize("relpath", ALL_CASSETTES)
def test_every_realdata_exchange_parses_and_round_trips(relpath: str) -> None:
    for provider, request, response in parsed(relpath):
        adapter = adapter_named(provider)
        assert adapter is not None
        assert request.model
        for stream in (False, True):
            body, headers = adapter.render(request, response, stream=stream)
            assert adapter.parse(b"{}", body, headers)[1] == response


# --- OpenAI Chat Completions ----------------------------------------------------------------

STUDENT = {
    "name": "David Nguyen",
    "major": "computer science",
    "school": "Stanford University",
    "grades": 3.8,
    "clubs": ["Chess Club", "South Asian Student Association"],
}


def test_chat_tool_call_in_the_old_httpx_cassette_format() -> None:
    [(provider, request, response)] = parsed(
        f"{DD}/openai/cassettes/v1/chat_completion_tool_call.yaml"
    )
    assert provider == "openai-chat"
    assert request.model == "gpt-3.5-turbo"
    assert request.tools == ("extract_student_info",)
    assert request.params == {"tool_choice": "auto", "user": "ddtrace-test"}
    [user] = request.messages
    assert user.role == "user"
    assert user.content is not None
    assert user.content.strip().startswith("David Nguyen is a sophomore")
    assert response == ModelResponse(
        text=None,
        tool_calls=(
            ToolCallRequest(
                id="call_FJStsEjxdODw9tBmQRRkm6vY", name="extract_student_info", arguments=STUDENT
            ),
        ),
        stop_reason="tool_calls",
        usage=Usage(input_tokens=157, output_tokens=57),
    )


def test_chat_follow_up_carries_the_assistant_call_and_the_tool_result() -> None:
    [(_, request, response)] = parsed(
        f"{DD}/openai/cassettes/v1/chat_completion_tool_call_follow_up.yaml"
    )
    assert [m.role for m in request.messages] == ["user", "assistant", "tool", "user"]
    assistant, tool = request.messages[1], request.messages[2]
    assert assistant.content is None
    assert assistant.tool_calls == (
        ToolCallRequest(
            id="call_FJStsEjxdODw9tBmQRRkm6vY", name="extract_student_info", arguments=STUDENT
        ),
    )
    assert tool.tool_call_id == "call_FJStsEjxdODw9tBmQRRkm6vY"
    assert tool.content == '{"status": "success", "gpa_verified": true}'
    assert request.messages[3].content == "Can you summarize the student's academic performance?"
    assert request.tools == ()
    assert response.text is not None
    assert response.text.startswith("David Nguyen is a sophomore majoring in computer science")
    assert response.tool_calls == ()
    assert response.stop_reason == "stop"
    assert response.usage == Usage(input_tokens=143, output_tokens=36)


def test_chat_retry_after_a_tool_error_re_calls_with_corrected_arguments() -> None:
    first, second, third = parsed(
        f"{PAI}/cassettes/test_temporal/test_temporal_agent_with_model_retry.yaml"
    )
    assert first[2].tool_calls == (
        ToolCallRequest(
            id="call_fFAB8MNL3tUdfNIIdsIJTo0H",
            name="get_weather_in_city",
            arguments={"city": "CDMX"},
        ),
    )
    retry = second[1].messages[2]
    assert retry.role == "tool"
    assert retry.tool_call_id == "call_fFAB8MNL3tUdfNIIdsIJTo0H"
    assert retry.content == "Did you mean Mexico City?\n\nFix the errors and try again."
    assert second[2].tool_calls[0].id == "call_hLYHO5lK5lmiukTZv6VQzz3x"
    assert second[2].tool_calls[0].arguments == {"city": "Mexico City"}
    assert third[1].messages[-1].content == "sunny"
    assert third[2].text == "The weather in Mexico City is currently sunny."
    assert third[2].stop_reason == "stop"
    assert first[1].params == {"tool_choice": "auto"}


def test_chat_parallel_calls_to_approval_gated_tools() -> None:
    first, second = parsed(f"{PAI}/cassettes/test_temporal/test_temporal_agent_with_hitl_tool.yaml")
    request, response = first[1], first[2]
    assert request.tools == ("create_file", "delete_file")
    assert request.messages[0] == Message(
        role="system", content="Just call tools without asking for confirmation."
    )
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_jYdIdRZHxZTn5bWCq5jlMrJi", "delete_file", {"path": ".env"}),
        ("call_TmlTVWQbzrXCZ4jNsCVNbNqu", "create_file", {"path": "test.txt"}),
    ]
    results = [(m.tool_call_id, m.content) for m in second[1].messages if m.role == "tool"]
    assert results == [
        ("call_jYdIdRZHxZTn5bWCq5jlMrJi", "true"),
        ("call_TmlTVWQbzrXCZ4jNsCVNbNqu", "Success"),
    ]
    assert second[2].text == (
        "The file `.env` has been deleted and `test.txt` has been created successfully."
    )


CHAT_STREAM = (
    "".join(
        f"data: {json.dumps(chunk)}\n\n"
        for chunk in [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
            {"choices": [{"index": 0, "delta": {"content": "Let me "}}]},
            {"choices": [{"index": 0, "delta": {"content": "check."}}]},
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": "call_a",
                                    "type": "function",
                                    "function": {"name": "lookup", "arguments": ""},
                                }
                            ]
                        },
                    }
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [{"index": 0, "function": {"arguments": '{"q": '}}]
                        },
                    }
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 1,
                                    "id": "call_b",
                                    "type": "function",
                                    "function": {"name": "refund", "arguments": '{"id": 7'},
                                }
                            ]
                        },
                    }
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]},
                    }
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"tool_calls": [{"index": 1, "function": {"arguments": "}"}}]},
                    }
                ]
            },
            {"choices": [{"index": 1, "delta": {"content": "another choice, ignored"}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 9}},
        ]
    )
    + "data: [DONE]\n\n"
)


def test_chat_stream_joins_content_and_interleaved_argument_deltas_by_index() -> None:
    request = json.dumps({"model": "gpt-4o", "messages": [], "stream": True, "seed": 3})
    req, resp = OpenAIChatAdapter().parse(request, CHAT_STREAM, {})
    assert req.params == {"seed": 3}
    assert resp == ModelResponse(
        text="Let me check.",
        tool_calls=(
            ToolCallRequest(id="call_a", name="lookup", arguments={"q": "x"}),
            ToolCallRequest(id="call_b", name="refund", arguments={"id": 7}),
        ),
        stop_reason="tool_calls",
        usage=Usage(input_tokens=12, output_tokens=9),
    )


def test_chat_request_content_parts_roles_and_invalid_arguments() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}}
    request = {
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": [{"type": "text", "text": "What is"}, image]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{bad"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "oops"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "temperature": 0.2,
        "max_tokens": 50,
        "stream": False,
    }
    req, _ = OpenAIChatAdapter().parse(json.dumps(request).encode(), _chat_json("hi"), {})
    assert req.messages[0] == Message(role="developer", content="Be brief.")
    assert req.messages[1] == Message(role="user", content="What is", parts=(image,))
    assert req.messages[2].tool_calls == (ToolCallRequest(id="c1", name="f", arguments="{bad"),)
    assert req.params == {"temperature": 0.2, "max_tokens": 50}
    assert req.tools == ("f",)


def test_chat_follow_up_requests_reuse_the_messages_they_resend_and_parse_changed_ones() -> None:
    """A conversation resends its messages on every call; each is parsed once, and a message
    that changed at the same position is parsed afresh, never taken from the last request."""
    adapter = OpenAIChatAdapter()
    system = {"role": "system", "content": "Be brief."}
    asked = {"role": "user", "content": "Where is order 7?"}
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    calling = {"role": "assistant", "content": None, "tool_calls": [call]}
    result = {"role": "tool", "tool_call_id": "c1", "content": "shipped"}

    def parse(*messages: dict[str, Any]) -> tuple[Message, ...]:
        body = json.dumps({"model": "m", "messages": list(messages)}).encode()
        return adapter.parse_request(body).messages

    first = parse(system, asked)
    second = parse(system, asked, calling, result)
    assert second[:2] == first and all(a is b for a, b in zip(first, second, strict=False))
    assert second[3] == Message(role="tool", tool_call_id="c1", content="shipped")
    edited = parse(system, {**asked, "content": "Where is order 8?"}, calling, result)
    assert edited[0] is second[0]
    assert edited[1] == Message(role="user", content="Where is order 8?")
    assert edited[3] is second[3]
    with pytest.raises(ProviderFormatError, match=r"messages\[1\]\.role"):
        parse(system, {"role": "robot", "content": "hi"})
    assert parse(system, asked)[1] == Message(role="user", content="Where is order 7?")


def _chat_json(text: str) -> str:
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop",
    }
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [choice]})


# --- OpenAI Responses -----------------------------------------------------------------------


def test_responses_function_call_then_a_tool_error_output() -> None:
    first, second = parsed(f"{DD}/openai_agents/cassettes/test_agent_with_tool_errors.yaml")
    provider, request, response = first
    assert provider == "openai-responses"
    assert request.model == "gpt-4o"
    assert request.tools == ("add",)
    assert request.params == {"include": []}
    system, user = request.messages
    assert system.role == "system"
    assert system.content is not None
    assert system.content.startswith("You are a helpful assistant specialized in addition")
    assert user == Message(role="user", content="What is the sum of 1 and 2?")
    assert response == ModelResponse(
        tool_calls=(
            ToolCallRequest(
                id="call_HkEqS6psuoEKEXO0hPh87fgm", name="add", arguments={"a": 1, "b": 2}
            ),
        ),
        stop_reason="completed",
        usage=Usage(input_tokens=302, output_tokens=18),
    )
    _, request, response = second
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[2].tool_calls == first[2].tool_calls
    tool = request.messages[3]
    assert tool.tool_call_id == "call_HkEqS6psuoEKEXO0hPh87fgm"
    assert tool.name == "add"
    assert tool.content == (
        "An error occurred while running the tool. Please try again. Error: This is a test error"
    )
    assert response.text == (
        "It seems there was an error while trying to calculate the sum. "
        "Let's try another approach or revisit later."
    )
    assert response.usage == Usage(input_tokens=343, output_tokens=23)


def test_responses_single_agent_and_pydantic_ai_tool_calls() -> None:
    first, second = parsed(f"{DD}/openai_agents/cassettes/test_single_agent_with_tool_calls.yaml")
    assert first[2].tool_calls[0].id == "call_xHztRD2un5qUnUzaZ2Dw5xAh"
    assert second[1].messages[-1].content == "3"
    assert second[2].text == "The sum of 1 and 2 is 3."
    first, second = parsed(
        f"{PAI}/models/cassettes/test_openai_responses/"
        "test_openai_responses_model_simple_response_with_tool_call.yaml"
    )
    assert [m.role for m in first[1].messages] == ["user"]  # no instructions, no system turn
    assert first[1].params == {"tool_choice": "auto"}
    assert first[2].tool_calls == (
        ToolCallRequest(
            id="call_YfwRsW8sUxDKipwyhWTzOXCA",
            name="get_capital",
            arguments={"country": "PotatoLand"},
        ),
    )
    tool = second[1].messages[-1]
    assert (tool.role, tool.name, tool.content) == ("tool", "get_capital", "Potato City")
    assert second[2].text == "The capital of PotatoLand is Potato City."
    assert second[2].usage == Usage(input_tokens=67, output_tokens=11)


def test_responses_stream_prefers_the_completed_response_and_rebuilds_without_it() -> None:
    response = ModelResponse(
        text="Checking.",
        tool_calls=(ToolCallRequest(id="call_1", name="lookup", arguments={"q": "x"}),),
        stop_reason="completed",
        usage=Usage(input_tokens=5, output_tokens=6),
    )
    adapter = OpenAIResponsesAdapter()
    body, headers = adapter.render(ModelRequest(model="gpt-4o"), response, stream=True)
    events = body.decode().split("\n\n")
    completed = [e for e in events if e.startswith("event: response.completed")]
    assert len(completed) == 1
    assert adapter.parse("{}", body, headers)[1] == response
    truncated = "\n\n".join(e for e in events if e not in completed)
    rebuilt = adapter.parse("{}", truncated, headers)[1]
    assert (rebuilt.text, rebuilt.tool_calls) == (response.text, response.tool_calls)
    # without the done events either, the deltas alone carry the answer
    deltas_only = "\n\n".join(e for e in events if ".done" not in e and e not in completed)
    rebuilt = adapter.parse("{}", deltas_only, headers)[1]
    assert (rebuilt.text, rebuilt.tool_calls) == (response.text, response.tool_calls)


def test_responses_incomplete_status_reports_its_reason() -> None:
    body = {
        "object": "response",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [],
    }
    _, response = OpenAIResponsesAdapter().parse('{"input": "hi"}', json.dumps(body), {})
    assert response.stop_reason == "max_output_tokens"


# --- Anthropic Messages ---------------------------------------------------------------------

THINKING = "<thinking>\nThe get_weather tool is directly relevant"
WEATHER_CALL = ToolCallRequest(
    id="toolu_01DYJo37oETVsCdLTTcCWcdq",
    name="get_weather",
    arguments={"location": "San Francisco, CA"},
)


def test_anthropic_tool_use_from_a_gzip_binary_body() -> None:
    [(provider, request, response)] = parsed(
        f"{DD}/anthropic/cassettes/anthropic_completion_tools.yaml"
    )
    assert provider == "anthropic-messages"
    assert request.model == "claude-3-opus-20240229"
    assert request.params == {"max_tokens": 200}
    assert request.tools == ("get_weather",)
    assert request.messages == (
        Message(role="user", content="What is the weather in San Francisco, CA?"),
    )
    assert response.text is not None
    assert response.text.startswith(THINKING)
    assert response.tool_calls == (WEATHER_CALL,)
    assert response.stop_reason == "tool_use"
    assert response.usage == Usage(input_tokens=599, output_tokens=152)


def test_anthropic_tool_result_becomes_a_named_tool_message() -> None:
    [(_, request, response)] = parsed(
        f"{DD}/anthropic/cassettes/anthropic_completion_tools_call_with_tool_result.yaml"
    )
    _, assistant, tool = request.messages
    assert assistant.role == "assistant"
    assert assistant.content is not None
    assert assistant.content.startswith(THINKING)
    assert assistant.tool_calls == (WEATHER_CALL,)
    assert tool == Message(
        role="tool",
        content="The weather is 73f",
        tool_call_id="toolu_01DYJo37oETVsCdLTTcCWcdq",
        name="get_weather",
    )
    assert response.text == (
        "Based on the result from the get_weather tool, the current weather in "
        "San Francisco, CA is 73\u00b0F."
    )
    assert response.stop_reason == "end_turn"
    assert response.usage == Usage(input_tokens=768, output_tokens=29)


def test_anthropic_stream_joins_text_and_input_json_deltas() -> None:
    [(_, request, response)] = parsed(
        f"{DD}/anthropic/cassettes/anthropic_completion_tools_stream.yaml"
    )
    assert "stream" not in request.params
    assert response.text is not None
    assert response.text.startswith(
        "<thinking>\nThe get_weather tool is relevant for answering this question as it provides"
    )
    assert response.text.endswith("calling the get_weather tool.\n</thinking>")
    assert response.tool_calls == (WEATHER_CALL,)
    assert response.stop_reason == "tool_use"
    assert response.usage == Usage(input_tokens=599, output_tokens=135)


def test_anthropic_parallel_tool_uses_and_their_results() -> None:
    first, second = parsed(
        f"{PAI}/models/cassettes/test_anthropic/test_multiple_parallel_tool_calls.yaml"
    )
    request, response = first[1], first[2]
    assert request.messages[0].role == "system"
    assert request.messages[0].content is not None
    assert "Use the `retrieve_entity_info` tool" in request.messages[0].content
    assert request.params == {"max_tokens": 4096, "tool_choice": {"type": "auto"}}
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("toolu_0167cfEnoQaPviGdVXA95zcu", {"name": "Alice"}),
        ("toolu_01EEe2V5HD1Ac4rKiUR4HD2T", {"name": "Bob"}),
        ("toolu_01XFyAjstT3966qvRynZyVPo", {"name": "Charlie"}),
        ("toolu_013mnQZbgtK2oe3Mo3XKJsx3", {"name": "Daisy"}),
    ]
    assert {c.name for c in response.tool_calls} == {"retrieve_entity_info"}
    results = [m for m in second[1].messages if m.role == "tool"]
    assert [(m.tool_call_id, m.name, m.content, m.parts) for m in results] == [
        ("toolu_0167cfEnoQaPviGdVXA95zcu", "retrieve_entity_info", "alice is bob's wife", ()),
        ("toolu_01EEe2V5HD1Ac4rKiUR4HD2T", "retrieve_entity_info", "bob is alice's husband", ()),
        ("toolu_01XFyAjstT3966qvRynZyVPo", "retrieve_entity_info", "charlie is alice's son", ()),
        (
            "toolu_013mnQZbgtK2oe3Mo3XKJsx3",
            "retrieve_entity_info",
            "daisy is bob's daughter and charlie's younger sister",
            (),
        ),
    ]
    assert second[2].text is not None
    assert "Daisy is the youngest" in second[2].text
    assert second[2].stop_reason == "end_turn"
    assert second[2].usage == Usage(input_tokens=771, output_tokens=77)


def test_anthropic_is_error_system_blocks_and_mixed_user_content() -> None:
    request = {
        "model": "claude-x",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "Be kind.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "pay", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "is_error": True,
                        "content": "429",
                    },
                    {"type": "text", "text": "Try again?"},
                ],
            },
        ],
    }
    body: dict[str, Any] = {"type": "message", "content": [], "stop_reason": "end_turn"}
    req, _ = AnthropicMessagesAdapter().parse(json.dumps(request), json.dumps(body), {})
    system, assistant, tool, user = req.messages
    assert system.content == "Be kind."  # cache_control is transport detail of a text block
    assert assistant.tool_calls == (ToolCallRequest(id="t1", name="pay", arguments={}),)
    assert (tool.tool_call_id, tool.name, tool.content) == ("t1", "pay", "429")
    assert tool.parts == ({"type": "tool_result_error", "is_error": True},)
    assert user == Message(role="user", content="Try again?")


# --- round trips through the SDKs -----------------------------------------------------------

SAMPLES = {
    "text": ModelResponse(
        text="Hello there.", stop_reason=None, usage=Usage(input_tokens=3, output_tokens=2)
    ),
    "tools": ModelResponse(
        tool_calls=(
            ToolCallRequest(id="call_1", name="lookup_order", arguments={"order_id": "A-17"}),
            ToolCallRequest(
                id="call_2", name="issue_refund", arguments={"amount": 12.5, "notes": ["é", None]}
            ),
        ),
        usage=Usage(input_tokens=40, output_tokens=12),
    ),
    "both": ModelResponse(
        text="I'll look that up.",
        tool_calls=(ToolCallRequest(id="call_9", name="search", arguments={}),),
        usage=Usage(input_tokens=1, output_tokens=1),
    ),
}
NATIVE_STOP = {
    "openai-chat": {"text": "stop", "tools": "tool_calls", "both": "tool_calls"},
    "openai-responses": {"text": "completed", "tools": "completed", "both": "completed"},
    "anthropic-messages": {"text": "end_turn", "tools": "tool_use", "both": "tool_use"},
}
REQUEST = ModelRequest(model="test-model", messages=(Message(role="user", content="hi"),))


def _native(adapter: ProviderAdapter, key: str) -> ModelResponse:
    return SAMPLES[key].model_copy(update={"stop_reason": NATIVE_STOP[adapter.name][key]})


CASES = [(a, key) for a in ADAPTERS for key in SAMPLES]
IDS = [f"{a.name}-{key}" for a, key in CASES]


@pytest.mark.parametrize(("adapter", "key"), CASES, ids=IDS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_render_then_parse_gives_the_same_response(
    adapter: ProviderAdapter, key: str, stream: bool
) -> None:
    response = _native(adapter, key)
    body, headers = adapter.render(REQUEST, response, stream=stream)
    expected_type = "text/event-stream" if stream else "application/json"
    assert headers["content-type"].startswith(expected_type)
    assert adapter.parse(b"{}", body, headers)[1] == response
    # the same bytes, with no content-type at all, are still recognised
    assert adapter.parse(b"{}", body, {})[1] == response
    # rendering is deterministic, so replay serves the same bytes every time
    assert adapter.render(REQUEST, response, stream=stream)[0] == body


def test_invalid_json_arguments_survive_a_round_trip() -> None:
    call = ToolCallRequest(id="c", name="f", arguments='{"a": ')
    quoted = ToolCallRequest(id="d", name="g", arguments="{}")  # a JSON string holding "{}"
    response = ModelResponse(tool_calls=(call, quoted), stop_reason="tool_calls")
    for adapter in (OpenAIChatAdapter(), OpenAIResponsesAdapter()):
        for stream in (False, True):
            body, headers = adapter.render(REQUEST, response, stream=stream)
            parsed_calls = adapter.parse(b"{}", body, headers)[1].tool_calls
            assert parsed_calls == (call, quoted), (adapter.name, stream)
    anthropic_adapter = AnthropicMessagesAdapter()
    body, headers = anthropic_adapter.render(REQUEST, response, stream=True)
    assert anthropic_adapter.parse(b"{}", body, headers)[1].tool_calls == (call, quoted)
    with pytest.raises(ProviderFormatError, match="stream=True"):
        anthropic_adapter.render(REQUEST, response, stream=False)


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_rendered_bodies_validate_as_sdk_types(key: str) -> None:
    chat, responses, messages = ADAPTERS
    body = json.loads(chat.render(REQUEST, _native(chat, key), stream=False)[0])
    completion = ChatCompletion.model_validate(body)
    assert completion.choices[0].message.content == SAMPLES[key].text
    calls = completion.choices[0].message.tool_calls or []
    assert all(c.type == "function" for c in calls)
    assert [(c.id, json.loads(c.function.arguments)) for c in calls if c.type == "function"] == [
        (c.id, c.arguments) for c in SAMPLES[key].tool_calls
    ]
    body = json.loads(responses.render(REQUEST, _native(responses, key), stream=False)[0])
    result = Response.model_validate(body)
    assert (result.output_text or None) == SAMPLES[key].text
    calls_out = [
        (o.call_id, json.loads(o.arguments)) for o in result.output if o.type == "function_call"
    ]
    assert calls_out == [(c.id, c.arguments) for c in SAMPLES[key].tool_calls]
    body = json.loads(messages.render(REQUEST, _native(messages, key), stream=False)[0])
    message = AnthropicMessage.model_validate(body)
    uses = [(b.id, b.input) for b in message.content if b.type == "tool_use"]
    assert uses == [(c.id, c.arguments) for c in SAMPLES[key].tool_calls]


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_rendered_stream_events_validate_as_sdk_types(key: str) -> None:
    chat, responses, messages = ADAPTERS
    chunk_events = iter_events(chat.render(REQUEST, _native(chat, key), stream=True)[0].decode())
    for sse in chunk_events:
        if sse.data != "[DONE]":
            ChatCompletionChunk.model_validate_json(sse.data)
    stream_event: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    body = responses.render(REQUEST, _native(responses, key), stream=True)[0]
    for sse in iter_events(body.decode()):
        assert stream_event.validate_json(sse.data).type == sse.event
    raw_event: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    for sse in iter_events(
        messages.render(REQUEST, _native(messages, key), stream=True)[0].decode()
    ):
        assert raw_event.validate_json(sse.data).type == sse.event


def _serving(
    adapter: ProviderAdapter, response: ModelResponse, stream: bool, http: Any = httpx
) -> Any:
    """A client of the ``http`` module (httpx, or httpx2 for the anthropic SDK) whose every
    request is answered, in process, with a rendered body."""

    def handle(request: Any) -> Any:
        assert adapter.matches(request.method, str(request.url))
        body, headers = adapter.render(REQUEST, response, stream=stream)
        return http.Response(200, headers=headers, content=body)

    return http.Client(transport=http.MockTransport(handle))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_sdk_clients_read_rendered_bodies(stream: bool) -> None:
    chat, responses, messages = ADAPTERS
    both = SAMPLES["both"]
    with openai.OpenAI(
        api_key="test", http_client=_serving(chat, _native(chat, "both"), stream)
    ) as oc:
        kwargs: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        if stream:
            with oc.chat.completions.stream(**kwargs) as chat_stream:
                completion = chat_stream.get_final_completion()
        else:
            completion = oc.chat.completions.create(**kwargs)
        message = completion.choices[0].message
        assert message.content == both.text
        tool_calls = message.tool_calls or []
        calls = [(c.id, c.function.name) for c in tool_calls if c.type == "function"]
        assert calls == [("call_9", "search")]
    with openai.OpenAI(
        api_key="test", http_client=_serving(responses, _native(responses, "both"), stream)
    ) as oc:
        result: Response
        if stream:
            with oc.responses.stream(model="m", input="hi") as resp_stream:
                result = resp_stream.get_final_response()
        else:
            result = oc.responses.create(model="m", input="hi")
        assert result.output_text == both.text
        assert [o.call_id for o in result.output if o.type == "function_call"] == ["call_9"]
    client = _serving(messages, _native(messages, "both"), stream, httpx2)
    with anthropic.Anthropic(api_key="test", http_client=client) as ac:
        call: dict[str, Any] = {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
        }
        if stream:
            with ac.messages.stream(**call) as msg_stream:
                final = msg_stream.get_final_message()
        else:
            final = ac.messages.create(**call)
        assert [(b.type, getattr(b, "input", None)) for b in final.content] == [
            ("text", None),
            ("tool_use", {}),
        ]
        assert final.stop_reason == "tool_use"


# --- routing and malformed input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "name"),
    [
        ("POST", "https://api.openai.com/v1/chat/completions", "openai-chat"),
        (
            "post",
            "http://127.0.0.1:8000/openai/deployments/x/chat/completions?api-version=1",
            "openai-chat",
        ),
        ("POST", "https://api.openai.com/v1/responses", "openai-responses"),
        ("POST", "https://api.anthropic.com/v1/messages?beta=true", "anthropic-messages"),
        ("POST", "/v1/messages", "anthropic-messages"),
        ("GET", "https://api.openai.com/v1/responses", None),
        ("POST", "https://api.openai.com/v1/responses/resp_1/cancel", None),
        ("POST", "https://api.anthropic.com/v1/messages/count_tokens", None),
        ("POST", "https://api.openai.com/v1/embeddings", None),
    ],
)
def test_adapter_for_routes_by_method_and_path(method: str, url: str, name: str | None) -> None:
    adapter = adapter_for(method, url)
    assert (adapter.name if adapter else None) == name


def test_other_traffic_is_not_a_model_exchange() -> None:
    assert parse_exchange("POST", "https://example.test/v1/embeddings", b"{", b"{", {}) is None
    assert adapter_named("nope") is None
    assert all(isinstance(a, ProviderAdapter) for a in ADAPTERS)


GOOD_REQUEST = {
    "openai-chat": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    "openai-responses": {"model": "m", "input": "hi"},
    "anthropic-messages": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
}

TOKENS = {"prompt_tokens": "many", "input_tokens": "many"}
MALFORMED = [
    ("request", b"{not json", "not valid JSON"),
    ("request", b"\xff\xfe", "not UTF-8"),
    ("request", b"[1, 2]", "must be a JSON object"),
    ("request", {"messages": "hi", "input": 3}, "must be a JSON array"),
    ("request", {"messages": [{"role": "wizard"}], "input": [{"role": "wizard"}]}, "role='wizard'"),
    ("request", {"messages": [7], "input": [7]}, "must be a JSON object"),
    ("response", b"", "not valid JSON"),
    ("response", b"{}", "has no"),
    ("response", {"error": {"message": "overloaded", "type": "x"}}, "API error"),
    (
        "response",
        {"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}},
        "API error",
    ),
    ("response", {"choices": [{"message": 5}], "output": [5], "content": [5]}, "JSON object"),
    ("response", {"choices": [], "output": [], "content": [], "usage": TOKENS}, "an integer"),
    ("response", "data: {broken\n\n", "not valid JSON"),
]


@pytest.mark.parametrize("adapter", ADAPTERS, ids=[a.name for a in ADAPTERS])
@pytest.mark.parametrize(("side", "body", "words"), MALFORMED)
def test_malformed_bodies_raise_provider_format_error(
    adapter: ProviderAdapter, side: str, body: Any, words: str
) -> None:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    request = raw if side == "request" else json.dumps(GOOD_REQUEST[adapter.name])
    response = raw if side == "response" else "{}"
    with pytest.raises(ProviderFormatError) as caught:
        adapter.parse(request, response, {})
    assert isinstance(caught.value, ValueError)
    assert caught.value.provider == adapter.name
    assert str(caught.value).startswith(f"{adapter.name}: ")
    assert words in str(caught.value)


def test_bodies_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(ProviderFormatError, match="bytes or str"):
        OpenAIChatAdapter().parse(123, "{}", {})  # type: ignore[arg-type]


# --- hostile shapes: only ProviderFormatError ever escapes ----------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return value | {head: _replace(value[head], rest, new)}
    return [_replace(v, rest, new) if i == head else v for i, v in enumerate(value)]


REAL_JSON = [
    (ex, json.loads(ex.request_body), json.loads(ex.response_body))
    for relpath in ALL_CASSETTES
    for ex in load(relpath)
    if not ex.response_body.lstrip().startswith(b"event:")
]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), new=JSON)
def test_a_real_body_with_any_subtree_replaced_parses_or_raises_the_format_error(
    data: st.DataObject, new: Any
) -> None:
    ex, request, response = data.draw(st.sampled_from(REAL_JSON))
    which = data.draw(st.sampled_from(["request", "response"]))
    target = request if which == "request" else response
    path = data.draw(st.sampled_from(list(_paths(target))))
    mutated = _replace(target, path, new)
    req = mutated if which == "request" else request
    resp = mutated if which == "response" else response
    with contextlib.suppress(ProviderFormatError):
        parse_exchange(ex.method, ex.url, json.dumps(req), json.dumps(resp), {})


@settings(max_examples=200, deadline=None)
@given(adapter=st.sampled_from(ADAPTERS), events=st.lists(JSON, max_size=6))
def test_any_stream_of_json_events_parses_or_raises_the_format_error(
    adapter: ProviderAdapter, events: list[Any]
) -> None:
    body = "".join(f"event: x\ndata: {json.dumps(e)}\n\n" for e in events)
    with contextlib.suppress(ProviderFormatError):
        adapter.parse(
            json.dumps(GOOD_REQUEST[adapter.name]), body, {"content-type": "text/event-stream"}
        )


def test_long_integers_in_model_traffic_are_kept_exact() -> None:
    # Ids and seeds past 64 bits: a fast JSON reader rounds them to floats.
    big, seed = 123456789012345678901234567890, 18446744073709551616
    arguments = json.dumps({"order_id": big, "line": -9223372036854775809})
    request = {
        "model": "gpt-4o",
        "seed": seed,
        "messages": [{"role": "user", "content": "refund it"}],
    }
    response = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "issue_refund", "arguments": arguments},
                        }
                    ],
                },
            }
        ],
    }
    result = parse_exchange(
        "POST",
        "https://api.openai.com/v1/chat/completions",
        json.dumps(request).encode(),
        json.dumps(response).encode(),
        {"content-type": "application/json"},
    )
    assert result is not None
    _, asked, answered = result
    assert asked.params["seed"] == seed and type(asked.params["seed"]) is int
    (call,) = answered.tool_calls
    assert call.arguments == {"order_id": big, "line": -9223372036854775809}
    assert all(type(v) is int for v in call.arguments.values())
