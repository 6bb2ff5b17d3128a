"""Anthropic Messages (``POST /v1/messages``), JSON and streamed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from retake.schema import Message, ModelRequest, ModelResponse, ToolCallRequest, Usage

from ._base import (
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

NAME = "anthropic-messages"
_shape = Shape(NAME)

_NOT_PARAMS = frozenset({"messages", "system", "tools", "model", "stream"})
"""Request fields held elsewhere in ``ModelRequest``; every other field is a param."""

# Stop reasons of the other providers, for responses authored in their vocabulary.
_FOREIGN_STOP = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "max_output_tokens": "max_tokens",
    "content_filter": "refusal",
}

IS_ERROR_PART: dict[str, Any] = {"type": "tool_result_error", "is_error": True}
"""The part a ``tool`` message carries when its ``tool_result`` was sent with ``is_error``."""


class AnthropicMessagesAdapter:
    """Messages: ``system`` + ``messages`` blocks in, ``content`` blocks (or events) out."""

    name = NAME

    def matches(self, method: str, url: str) -> bool:
        return path_endswith(method, url, "/messages")

    def parse(
        self, request_body: Body, response_body: Body, response_headers: Mapping[str, str]
    ) -> tuple[ModelRequest, ModelResponse]:
        request = _parse_request(_shape.load(request_body, "request body"))
        text = as_text(NAME, response_body, "response body")
        if _is_stream(header(response_headers, "content-type"), text):
            return request, _parse_stream(text)
        data = _shape.obj(load_json(NAME, text, "response body"), "the response body")
        if data.get("type") == "error" or "content" not in data:
            _shape.refuse_error_body(data, "response body")
            raise _shape.error("the response body has no 'content'; is it a message?")
        return request, _parse_message(data)

    def parse_request(self, request_body: Body) -> ModelRequest:
        return _parse_request(_shape.load(request_body, "request body"))

    def render(
        self, request: ModelRequest, response: ModelResponse, *, stream: bool
    ) -> tuple[bytes, dict[str, str]]:
        return (_render_stream if stream else _render_message)(request, response)


# --- the request ----------------------------------------------------------------------------


def _parse_request(data: dict[str, Any]) -> ModelRequest:
    messages: list[Message] = []
    if data.get("system") is not None:
        text, parts = _split(data["system"], "request.system")
        messages.append(Message(role="system", content=text, parts=parts))
    names: dict[str, str] = {}
    for i, raw in enumerate(_shape.array(data.get("messages"), "request.messages")):
        messages += _message(_shape.obj(raw, f"request.messages[{i}]"), names, i)
    tools = []
    for i, raw in enumerate(_shape.array(data.get("tools"), "request.tools")):
        tool = _shape.obj(raw, f"request.tools[{i}]")
        name = tool.get("name") if isinstance(tool.get("name"), str) else tool.get("type")
        tools.append(_shape.string(name, f"request.tools[{i}].name") or "")
    return ModelRequest(
        model=_shape.string(data.get("model"), "request.model"),
        messages=tuple(messages),
        tools=tuple(tools),
        params={k: v for k, v in data.items() if k not in _NOT_PARAMS},
    )


def _split(value: Any, where: str) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    """Text or blocks as the joined text of the ``text`` blocks plus the other blocks."""
    if value is None or isinstance(value, str):
        return value, ()
    texts: list[str] = []
    others: list[dict[str, Any]] = []
    for i, raw in enumerate(_shape.array(value, where)):
        block = _shape.obj(raw, f"{where}[{i}]")
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        else:
            others.append(block)
    return ("\n".join(texts) if texts else None), tuple(others)


def _message(msg: dict[str, Any], names: dict[str, str], i: int) -> list[Message]:
    """One API message as neutral messages: each ``tool_result`` block becomes a ``tool``
    message (named after the ``tool_use`` it answers), the rest stays with its role."""
    where = f"request.messages[{i}]"
    role = msg.get("role")
    if role not in ("user", "assistant"):
        raise _shape.error(f"{where}.role={role!r} must be 'user' or 'assistant'")
    content = msg.get("content")
    if content is None or isinstance(content, str):
        return [Message(role=role, content=content)]
    out: list[Message] = []
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    calls: list[ToolCallRequest] = []

    def flush() -> None:
        if texts or parts or calls:
            text = "\n".join(texts) if texts else None
            out.append(
                Message(role=role, content=text, parts=tuple(parts), tool_calls=tuple(calls))
            )
        texts.clear()
        parts.clear()
        calls.clear()

    for j, raw in enumerate(_shape.array(content, f"{where}.content")):
        here = f"{where}.content[{j}]"
        block = _shape.obj(raw, here)
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use" and role == "assistant":
            call = _tool_use(block, here)
            names[call.id] = call.name
            calls.append(call)
        elif kind == "tool_result":
            flush()
            call_id = _shape.string(block.get("tool_use_id"), f"{here}.tool_use_id") or ""
            text, extra = _split(block.get("content"), f"{here}.content")
            if block.get("is_error"):
                extra = (*extra, IS_ERROR_PART)
            out.append(
                Message(
                    role="tool",
                    content=text,
                    parts=extra,
                    tool_call_id=call_id,
                    name=names.get(call_id),
                )
            )
        else:
            parts.append(block)
    flush()
    return out


def _tool_use(block: dict[str, Any], where: str) -> ToolCallRequest:
    return ToolCallRequest(
        id=_shape.string(block.get("id"), f"{where}.id") or "",
        name=_shape.string(block.get("name"), f"{where}.name") or "",
        arguments=block.get("input"),
    )


# --- the response ---------------------------------------------------------------------------


def _usage(raw: Any, where: str) -> Usage:
    usage = _shape.obj(raw, where)
    return Usage(
        input_tokens=_shape.integer(usage.get("input_tokens"), f"{where}.input_tokens"),
        output_tokens=_shape.integer(usage.get("output_tokens"), f"{where}.output_tokens"),
    )


def _parse_message(data: dict[str, Any]) -> ModelResponse:
    texts: list[str] = []
    calls: list[ToolCallRequest] = []
    for i, raw in enumerate(_shape.array(data.get("content"), "response.content")):
        where = f"response.content[{i}]"
        block = _shape.obj(raw, where)
        if block.get("type") == "text":
            texts.append(_shape.string(block.get("text"), f"{where}.text") or "")
        elif block.get("type") == "tool_use":
            calls.append(_tool_use(block, where))
    return ModelResponse(
        text="".join(texts) if texts else None,
        tool_calls=tuple(calls),
        stop_reason=_shape.string(data.get("stop_reason"), "response.stop_reason"),
        usage=None if data.get("usage") is None else _usage(data["usage"], "response.usage"),
    )


def _parse_stream(text: str) -> ModelResponse:
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    pieces: dict[int, list[str]] = {}
    stop_reason: str | None = None
    usage: Usage | None = None
    for n, sse in enumerate(iter_events(text)):
        where = f"stream event {n}"
        event = _shape.obj(load_json(NAME, sse.data, where), where)
        kind = event.get("type")
        if kind == "error":
            _shape.refuse_error_body(event, where)
            raise _shape.error(f"{where} is an error event")
        if kind == "message_start":
            message = _shape.obj(event.get("message"), f"{where}.message")
            stop_reason = _shape.string(message.get("stop_reason"), "stop_reason")
            if message.get("usage") is not None:
                usage = _usage(message["usage"], f"{where}.usage")
        elif kind == "content_block_start":
            index = _index(event, where)
            blocks[index] = _shape.obj(event.get("content_block"), f"{where}.content_block")
            pieces[index] = []
        elif kind == "content_block_delta":
            delta = _shape.obj(event.get("delta"), f"{where}.delta")
            field = {"text_delta": "text", "input_json_delta": "partial_json"}.get(
                str(delta.get("type"))
            )
            if field is not None:  # thinking, signatures, citations: not part of the answer
                piece = _shape.string(delta.get(field), f"{where}.delta.{field}") or ""
                pieces.setdefault(_index(event, where), []).append(piece)
        elif kind == "message_delta":
            delta = _shape.obj(event.get("delta") or {}, f"{where}.delta")
            stop_reason = _shape.string(delta.get("stop_reason"), "stop_reason") or stop_reason
            if event.get("usage") is not None:
                late, early = _usage(event["usage"], f"{where}.usage"), usage or Usage()
                usage = Usage(  # the delta's counts are cumulative; it may omit the input's
                    input_tokens=late.input_tokens or early.input_tokens,
                    output_tokens=late.output_tokens or early.output_tokens,
                )
    texts: list[str] = []
    calls: list[ToolCallRequest] = []
    for index in sorted(blocks):
        block, joined = blocks[index], "".join(pieces.get(index, []))
        if block.get("type") == "text":
            texts.append((_shape.string(block.get("text"), "text block") or "") + joined)
        elif block.get("type") == "tool_use":
            call = _tool_use(block, f"content block {index}")
            if joined:
                call = call.model_copy(update={"arguments": parse_arguments(joined)})
            calls.append(call)
    if not message and not blocks:
        raise _shape.error("the stream has no message_start and no content blocks")
    return ModelResponse(
        text="".join(texts) if texts else None,
        tool_calls=tuple(calls),
        stop_reason=stop_reason,
        usage=usage,
    )


def _index(event: dict[str, Any], where: str) -> int:
    index = _shape.integer(event.get("index"), f"{where}.index")
    if index is None:
        raise _shape.error(f"{where} has no block index")
    return index


# --- rendering ------------------------------------------------------------------------------


def _stop_reason(response: ModelResponse) -> str:
    reason = response.stop_reason
    if reason is None or reason == "completed":
        return "tool_use" if response.tool_calls else "end_turn"
    return _FOREIGN_STOP.get(reason, reason)


def _envelope(request: ModelRequest, response: ModelResponse) -> dict[str, Any]:
    return {
        "id": stable_id("msg_", response.model_dump_json()),
        "type": "message",
        "role": "assistant",
        "model": request.model or "unknown",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }


def _tokens(response: ModelResponse) -> tuple[int, int]:
    usage = response.usage or Usage()
    return usage.input_tokens or 0, usage.output_tokens or 0


def _object_input(call: ToolCallRequest) -> dict[str, Any]:
    if not isinstance(call.arguments, dict):
        raise _shape.error(
            f"tool call {call.id!r} ({call.name}) has arguments={call.arguments!r}; a tool_use "
            "block carries a JSON object, so render this response with stream=True"
        )
    return call.arguments


def _render_message(request: ModelRequest, response: ModelResponse) -> tuple[bytes, dict[str, str]]:
    content: list[dict[str, Any]] = []
    if response.text is not None:
        content.append({"type": "text", "text": response.text})
    content.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": _object_input(call)}
        for call in response.tool_calls
    )
    inp, out = _tokens(response)
    body = _envelope(request, response) | {
        "content": content,
        "stop_reason": _stop_reason(response),
        "usage": {"input_tokens": inp, "output_tokens": out},
    }
    return dumps(body), dict(JSON_HEADERS)


def _render_stream(request: ModelRequest, response: ModelResponse) -> tuple[bytes, dict[str, str]]:
    inp, out = _tokens(response)
    start = _envelope(request, response) | {"usage": {"input_tokens": inp, "output_tokens": 0}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    blocks: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if response.text is not None:
        blocks.append(({"type": "text", "text": ""}, {"type": "text_delta", "text": response.text}))
    for call in response.tool_calls:
        opening = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": dump_arguments(call.arguments)}
        blocks.append((opening, delta))
    for index, (opening, delta) in enumerate(blocks):
        events += [
            {"type": "content_block_start", "index": index, "content_block": opening},
            {"type": "content_block_delta", "index": index, "delta": delta},
            {"type": "content_block_stop", "index": index},
        ]
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(response), "stop_sequence": None},
            "usage": {"output_tokens": out},
        },
        {"type": "message_stop"},
    ]
    return encode_events((e["type"], e) for e in events), dict(EVENT_STREAM_HEADERS)
