"""OpenAI Chat Completions (``POST /chat/completions``), JSON and streamed."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from retake.schema import Message, ModelRequest, ModelResponse, ToolCallRequest, Usage

from ._base import (
    ROLES,
    Body,
    Shape,
    as_text,
    dump_arguments,
    dumps,
    header,
    load_json,
    parse_arguments,
    path_endswith,
    stable_id,
)
from ._sse import EVENT_STREAM_HEADERS, JSON_HEADERS, encode_events, iter_events
from ._sse import looks_like_event_stream as _is_stream

NAME = "openai-chat"
_shape = Shape(NAME)

_NOT_PARAMS = frozenset({"messages", "tools", "functions", "model", "stream"})
"""Request fields held elsewhere in ``ModelRequest``; every other field is a param."""

# Stop reasons of the other providers, for responses authored in their vocabulary (a forced
# decision, a scripted model); a Chat Completions client only knows its own five.
_FOREIGN_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class OpenAIChatAdapter:
    """Chat Completions: ``messages`` in, ``choices[0].message`` (or its deltas) out."""

    name = NAME

    def matches(self, method: str, url: str) -> bool:
        return path_endswith(method, url, "/chat/completions")

    def parse(
        self, request_body: Body, response_body: Body, response_headers: Mapping[str, str]
    ) -> tuple[ModelRequest, ModelResponse]:
        request = parse_request(_shape.load(request_body, "request body"))
        text = as_text(NAME, response_body, "response body")
        if _is_stream(header(response_headers, "content-type"), text):
            return request, _parse_stream(text)
        data = _shape.obj(load_json(NAME, text, "response body"), "the response body")
        return request, _parse_completion(data)

    def parse_request(self, request_body: Body) -> ModelRequest:
        return parse_request(_shape.load(request_body, "request body"))

    def render(
        self, request: ModelRequest, response: ModelResponse, *, stream: bool
    ) -> tuple[bytes, dict[str, str]]:
        return (_render_stream if stream else _render_completion)(request, response)


# --- the request ----------------------------------------------------------------------------


class _Previous(threading.local):
    """The messages of the request this thread parsed last: raw, and as ``Message``."""

    raw: Sequence[Any] = ()
    parsed: tuple[Message, ...] = ()


_previous = _Previous()


def _messages(raw: list[Any]) -> tuple[Message, ...]:
    """The request's messages. Each request resends the conversation, so most messages are
    the previous request's at the same index: an equal raw message reuses that parsed one
    (a message is parsed from its raw form alone, and ``Message`` is frozen)."""
    prev_raw, prev = _previous.raw, _previous.parsed
    known = min(len(prev_raw), len(prev))
    parsed = tuple(
        prev[i] if i < known and m == prev_raw[i] else _message(m, f"request.messages[{i}]")
        for i, m in enumerate(raw)
    )
    _previous.raw, _previous.parsed = raw, parsed
    return parsed


def parse_request(data: dict[str, Any]) -> ModelRequest:
    messages = _shape.array(data.get("messages"), "request.messages")
    tools = [
        _tool_name(tool, f"request.tools[{i}]")
        for i, tool in enumerate(_shape.array(data.get("tools"), "request.tools"))
    ]
    tools += [
        _shape.string(_shape.obj(f, "request.functions[]").get("name"), "function name") or ""
        for f in _shape.array(data.get("functions"), "request.functions")
    ]
    return ModelRequest(
        model=_shape.string(data.get("model"), "request.model"),
        messages=_messages(messages),
        tools=tuple(tools),
        params={k: v for k, v in data.items() if k not in _NOT_PARAMS},
    )


def _tool_name(raw: Any, where: str) -> str:
    tool = _shape.obj(raw, where)
    kind = _shape.string(tool.get("type"), f"{where}.type") or "function"
    inner = tool.get(kind)
    if isinstance(inner, dict) and isinstance(inner.get("name"), str):
        return str(inner["name"])
    return _shape.string(tool.get("name"), f"{where}.name") or kind


def _message(raw: Any, where: str) -> Message:
    msg = _shape.obj(raw, where)
    role = msg.get("role")
    if role == "function":  # the deprecated function-calling turn is a tool result
        role = "tool"
    if role not in ROLES:
        raise _shape.error(f"{where}.role={role!r} is not one of {list(ROLES)}")
    content, parts = split_content(msg.get("content"), f"{where}.content")
    calls = [
        _request_tool_call(tc, f"{where}.tool_calls[{i}]")
        for i, tc in enumerate(_shape.array(msg.get("tool_calls"), f"{where}.tool_calls"))
    ]
    legacy = msg.get("function_call")
    if legacy is not None:
        fn = _shape.obj(legacy, f"{where}.function_call")
        calls.append(_call("", fn.get("name"), fn.get("arguments"), f"{where}.function_call"))
    return Message(
        role=role,
        content=content,
        parts=parts,
        tool_calls=tuple(calls),
        tool_call_id=_shape.string(msg.get("tool_call_id"), f"{where}.tool_call_id"),
        name=_shape.string(msg.get("name"), f"{where}.name"),
    )


def split_content(value: Any, where: str) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    """A content field (text, null, or a list of parts) as joined text plus the other parts."""
    if value is None or isinstance(value, str):
        return value, ()
    texts: list[str] = []
    others: list[dict[str, Any]] = []
    for i, raw in enumerate(_shape.array(value, where)):
        part = _shape.obj(raw, f"{where}[{i}]")
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            others.append(part)
    return ("\n".join(texts) if texts else None), tuple(others)


def _request_tool_call(raw: Any, where: str) -> ToolCallRequest:
    call = _shape.obj(raw, where)
    kind = call.get("type") or "function"
    if kind == "custom":  # free-form tools send their input as raw text
        custom = _shape.obj(call.get("custom"), f"{where}.custom")
        return _call(call.get("id"), custom.get("name"), custom.get("input"), where, raw=True)
    fn = _shape.obj(call.get("function"), f"{where}.function")
    return _call(call.get("id"), fn.get("name"), fn.get("arguments"), where)


def _call(
    call_id: Any, name: Any, arguments: Any, where: str, *, raw: bool = False
) -> ToolCallRequest:
    args_text = _shape.string(arguments, f"{where} arguments")
    return ToolCallRequest(
        id=_shape.string(call_id, f"{where}.id") or "",
        name=_shape.string(name, f"{where} name") or "",
        arguments=args_text if raw or args_text is None else parse_arguments(args_text),
    )


# --- the response ---------------------------------------------------------------------------


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    usage = _shape.obj(raw, "response.usage")
    return Usage(
        input_tokens=_shape.integer(usage.get("prompt_tokens"), "usage.prompt_tokens"),
        output_tokens=_shape.integer(usage.get("completion_tokens"), "usage.completion_tokens"),
    )


def _parse_completion(data: dict[str, Any]) -> ModelResponse:
    if "choices" not in data:
        _shape.refuse_error_body(data, "response body")
        raise _shape.error("the response body has no 'choices'; is it a chat completion?")
    choices = _shape.array(data.get("choices"), "response.choices")
    usage = _usage(data.get("usage"))
    if not choices:
        return ModelResponse(usage=usage)
    choice = _shape.obj(choices[0], "response.choices[0]")
    message = _shape.obj(choice.get("message"), "response.choices[0].message")
    where = "response.choices[0].message"
    text = _shape.string(message.get("content"), f"{where}.content")
    if text is None:  # a refusal is the answer's text when there is no content
        text = _shape.string(message.get("refusal"), f"{where}.refusal")
    calls = [
        _request_tool_call(tc, f"{where}.tool_calls[{i}]")
        for i, tc in enumerate(_shape.array(message.get("tool_calls"), f"{where}.tool_calls"))
    ]
    legacy = message.get("function_call")
    if legacy is not None:
        fn = _shape.obj(legacy, f"{where}.function_call")
        calls.append(_call("", fn.get("name"), fn.get("arguments"), f"{where}.function_call"))
    return ModelResponse(
        text=text,
        tool_calls=tuple(calls),
        stop_reason=_shape.string(choice.get("finish_reason"), "finish_reason"),
        usage=usage,
    )


def _parse_stream(text: str) -> ModelResponse:
    content: list[str] = []
    refusal: list[str] = []
    calls: dict[int, dict[str, list[str]]] = {}
    stop_reason: str | None = None
    usage: Usage | None = None
    for n, event in enumerate(iter_events(text)):
        if event.data.strip() == "[DONE]":
            break
        where = f"stream chunk {n}"
        chunk = _shape.obj(load_json(NAME, event.data, where), where)
        _shape.refuse_error_body(chunk, where)
        if chunk.get("usage") is not None:
            usage = _usage(chunk["usage"])
        for raw in _shape.array(chunk.get("choices"), f"{where}.choices"):
            choice = _shape.obj(raw, f"{where}.choices[]")
            if choice.get("index", 0) != 0:  # only the first choice is the agent's answer
                continue
            stop_reason = _shape.string(choice.get("finish_reason"), "finish_reason") or (
                stop_reason
            )
            delta = _shape.obj(choice.get("delta") or {}, f"{where}.delta")
            content.append(_shape.string(delta.get("content"), f"{where}.delta.content") or "")
            refusal.append(_shape.string(delta.get("refusal"), f"{where}.delta.refusal") or "")
            for position, raw_call in enumerate(_shape.array(delta.get("tool_calls"), where)):
                _join_call_delta(calls, position, _shape.obj(raw_call, f"{where} tool call"))
    joined = "".join(content) or "".join(refusal) or None
    return ModelResponse(
        text=joined,
        tool_calls=tuple(
            ToolCallRequest(
                id="".join(c["id"]),
                name="".join(c["name"]),
                arguments=parse_arguments("".join(c["arguments"])),
            )
            for _, c in sorted(calls.items())
        ),
        stop_reason=stop_reason,
        usage=usage,
    )


def _join_call_delta(calls: dict[int, dict[str, list[str]]], position: int, delta: Any) -> None:
    """Add one tool-call delta to the call at its ``index``; every text piece concatenates."""
    index = _shape.integer(delta.get("index"), "tool call delta index")
    slot = calls.setdefault(
        position if index is None else index, {"id": [], "name": [], "arguments": []}
    )
    slot["id"].append(_shape.string(delta.get("id"), "tool call delta id") or "")
    fn = _shape.obj(delta.get("function") or {}, "tool call delta function")
    slot["name"].append(_shape.string(fn.get("name"), "tool call delta name") or "")
    slot["arguments"].append(_shape.string(fn.get("arguments"), "tool call delta arguments") or "")


# --- rendering ------------------------------------------------------------------------------


def _finish_reason(response: ModelResponse) -> str:
    reason = response.stop_reason
    if reason is None or reason == "completed":
        return "tool_calls" if response.tool_calls else "stop"
    return _FOREIGN_STOP.get(reason, reason)


def _usage_json(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    prompt, completion = usage.input_tokens or 0, usage.output_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_calls_json(response: ModelResponse) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": dump_arguments(call.arguments)},
        }
        for call in response.tool_calls
    ]


def _head(request: ModelRequest, response: ModelResponse, kind: str) -> dict[str, Any]:
    return {
        "id": stable_id("chatcmpl-", response.model_dump_json()),
        "object": kind,
        "created": 0,
        "model": request.model or "unknown",
    }


def _render_completion(
    request: ModelRequest, response: ModelResponse
) -> tuple[bytes, dict[str, str]]:
    message: dict[str, Any] = {"role": "assistant", "content": response.text, "refusal": None}
    if response.tool_calls:
        message["tool_calls"] = _tool_calls_json(response)
    body = _head(request, response, "chat.completion") | {
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(response),
            }
        ],
    }
    if response.usage is not None:
        body["usage"] = _usage_json(response.usage)
    return dumps(body), dict(JSON_HEADERS)


def _render_stream(request: ModelRequest, response: ModelResponse) -> tuple[bytes, dict[str, str]]:
    head = _head(request, response, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return head | {"choices": [choice]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    if response.text:
        chunks.append(chunk({"content": response.text}))
    for index, call in enumerate(response.tool_calls):
        # the call's id and name open it; its arguments follow as a delta of their own
        function = {"name": call.name, "arguments": ""}
        opening = {"index": index, "id": call.id, "type": "function", "function": function}
        arguments = {"index": index, "function": {"arguments": dump_arguments(call.arguments)}}
        chunks.append(chunk({"tool_calls": [opening]}))
        chunks.append(chunk({"tool_calls": [arguments]}))
    chunks.append(chunk({}, _finish_reason(response)))
    if response.usage is not None:
        chunks.append(head | {"choices": [], "usage": _usage_json(response.usage)})
    events: list[tuple[str | None, Any]] = [(None, c) for c in chunks]
    events.append((None, "[DONE]"))
    return encode_events(events), dict(EVENT_STREAM_HEADERS)
