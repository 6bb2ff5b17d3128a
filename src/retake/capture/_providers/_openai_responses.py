"""OpenAI Responses (``POST /responses``), JSON and streamed."""

from __future__ import annotations

from collections.abc import Mapping
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

NAME = "openai-responses"
_shape = Shape(NAME)

_NOT_PARAMS = frozenset({"input", "instructions", "tools", "model", "stream"})
"""Request fields held elsewhere in ``ModelRequest``; every other field is a param."""

_TEXT_PARTS = ("input_text", "output_text", "text")
_STATUSES = ("completed", "failed", "in_progress", "cancelled", "queued", "incomplete")
_INCOMPLETE_REASONS = ("max_output_tokens", "content_filter")
# Stop reasons of the other providers, for responses authored in their vocabulary.
_FOREIGN_STOP = {"length": "max_output_tokens", "max_tokens": "max_output_tokens"}
_TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


class OpenAIResponsesAdapter:
    """Responses: ``instructions`` + ``input`` items in, ``output`` items (or events) out."""

    name = NAME

    def matches(self, method: str, url: str) -> bool:
        return path_endswith(method, url, "/responses")

    def parse(
        self, request_body: Body, response_body: Body, response_headers: Mapping[str, str]
    ) -> tuple[ModelRequest, ModelResponse]:
        request = _parse_request(_shape.load(request_body, "request body"))
        text = as_text(NAME, response_body, "response body")
        if _is_stream(header(response_headers, "content-type"), text):
            return request, _parse_stream(text)
        data = _shape.obj(load_json(NAME, text, "response body"), "the response body")
        if "output" not in data:
            _shape.refuse_error_body(data, "response body")
            raise _shape.error("the response body has no 'output'; is it a Responses result?")
        return request, _parse_response(data)

    def parse_request(self, request_body: Body) -> ModelRequest:
        return _parse_request(_shape.load(request_body, "request body"))

    def render(
        self, request: ModelRequest, response: ModelResponse, *, stream: bool
    ) -> tuple[bytes, dict[str, str]]:
        return (_render_stream if stream else _render_response)(request, response)


# --- the request ----------------------------------------------------------------------------


def _parse_request(data: dict[str, Any]) -> ModelRequest:
    messages: list[Message] = []
    instructions = data.get("instructions")
    if isinstance(instructions, str):
        messages.append(Message(role="system", content=instructions))
    elif instructions is not None:
        messages += _items(_shape.array(instructions, "request.instructions"), "instructions")
    raw_input = data.get("input")
    if isinstance(raw_input, str):
        messages.append(Message(role="user", content=raw_input))
    else:
        messages += _items(_shape.array(raw_input, "request.input"), "request.input")
    tools = []
    for i, raw in enumerate(_shape.array(data.get("tools"), "request.tools")):
        tool = _shape.obj(raw, f"request.tools[{i}]")
        name = tool.get("name") if isinstance(tool.get("name"), str) else tool.get("type")
        tools.append(_shape.string(name, f"request.tools[{i}].type") or "")
    return ModelRequest(
        model=_shape.string(data.get("model"), "request.model"),
        messages=tuple(messages),
        tools=tuple(tools),
        params={k: v for k, v in data.items() if k not in _NOT_PARAMS},
    )


def _items(items: list[Any], where: str) -> list[Message]:
    """Input items as messages: consecutive calls join the assistant turn before them, and
    each call's output becomes a tool message named after the call it answers."""
    out: list[Message] = []
    names: dict[str, str] = {}
    for i, raw in enumerate(items):
        here = f"{where}[{i}]"
        item = _shape.obj(raw, here)
        kind = item.get("type", "message")
        if kind == "message" or (kind is None and "role" in item):
            out.append(_message(item, here))
        elif kind in ("function_call", "custom_tool_call"):
            call = _call(item, here)
            names[call.id] = call.name
            if out and out[-1].role == "assistant" and not out[-1].parts:
                out[-1] = out[-1].model_copy(update={"tool_calls": (*out[-1].tool_calls, call)})
            else:
                out.append(Message(role="assistant", tool_calls=(call,)))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = _shape.string(item.get("call_id"), f"{here}.call_id") or ""
            text, parts = _content(item.get("output"), f"{here}.output")
            out.append(
                Message(
                    role="tool",
                    content=text,
                    parts=parts,
                    tool_call_id=call_id,
                    name=names.get(call_id),
                )
            )
        else:  # reasoning, item references, built-in tool calls: kept whole, as sent
            out.append(Message(role="assistant", parts=(item,)))
    return out


def _message(item: dict[str, Any], where: str) -> Message:
    role = item.get("role")
    if role not in ROLES:
        raise _shape.error(f"{where}.role={role!r} is not one of {list(ROLES)}")
    text, parts = _content(item.get("content"), f"{where}.content")
    return Message(role=role, content=text, parts=parts)


def _content(value: Any, where: str) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    if value is None or isinstance(value, str):
        return value, ()
    texts: list[str] = []
    others: list[dict[str, Any]] = []
    for i, raw in enumerate(_shape.array(value, where)):
        part = _shape.obj(raw, f"{where}[{i}]")
        if part.get("type") in _TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            others.append(part)
    return ("\n".join(texts) if texts else None), tuple(others)


def _call(item: dict[str, Any], where: str) -> ToolCallRequest:
    if item.get("type") == "custom_tool_call":  # free-form input, never JSON
        arguments = _shape.string(item.get("input"), f"{where}.input")
    else:
        raw = _shape.string(item.get("arguments"), f"{where}.arguments")
        arguments = None if raw is None else parse_arguments(raw)
    return ToolCallRequest(
        id=_shape.string(item.get("call_id"), f"{where}.call_id") or "",
        name=_shape.string(item.get("name"), f"{where}.name") or "",
        arguments=arguments,
    )


# --- the response ---------------------------------------------------------------------------


def _parse_response(data: dict[str, Any]) -> ModelResponse:
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[ToolCallRequest] = []
    for i, raw in enumerate(_shape.array(data.get("output"), "response.output")):
        where = f"response.output[{i}]"
        item = _shape.obj(raw, where)
        kind = item.get("type")
        if kind == "message":
            for j, raw_part in enumerate(_shape.array(item.get("content"), f"{where}.content")):
                part = _shape.obj(raw_part, f"{where}.content[{j}]")
                if part.get("type") == "output_text":
                    texts.append(_shape.string(part.get("text"), f"{where}.text") or "")
                elif part.get("type") == "refusal":
                    refusals.append(_shape.string(part.get("refusal"), f"{where}.refusal") or "")
        elif kind in ("function_call", "custom_tool_call"):
            calls.append(_call(item, where))
    status = _shape.string(data.get("status"), "response.status")
    details = data.get("incomplete_details")
    if status == "incomplete" and isinstance(details, dict) and details.get("reason"):
        status = _shape.string(details["reason"], "incomplete_details.reason")
    usage = None
    if data.get("usage") is not None:
        raw_usage = _shape.obj(data["usage"], "response.usage")
        usage = Usage(
            input_tokens=_shape.integer(raw_usage.get("input_tokens"), "usage.input_tokens"),
            output_tokens=_shape.integer(raw_usage.get("output_tokens"), "usage.output_tokens"),
        )
    text = "".join(texts) if texts else ("".join(refusals) if refusals else None)
    return ModelResponse(text=text, tool_calls=tuple(calls), stop_reason=status, usage=usage)


def _parse_stream(text: str) -> ModelResponse:
    """The terminal event's response when the stream has one; otherwise the output items
    rebuilt from the ``added`` / ``delta`` / ``done`` events."""
    final: dict[str, Any] | None = None
    latest: dict[str, Any] = {}
    items: dict[int, dict[str, Any]] = {}
    pieces: dict[int, list[str]] = {}
    done: set[int] = set()
    for n, sse in enumerate(iter_events(text)):
        if sse.data.strip() == "[DONE]":
            break
        where = f"stream event {n}"
        event = _shape.obj(load_json(NAME, sse.data, where), where)
        kind = event.get("type")
        if kind == "error":
            raise _shape.error(f"the stream carries an error event: {event.get('message')!r}")
        if isinstance(event.get("response"), dict):
            latest = event["response"]
            if kind in _TERMINAL_EVENTS:
                final = latest
        index = _shape.integer(event.get("output_index"), f"{where}.output_index")
        if index is None:
            continue
        if kind in ("response.output_item.added", "response.output_item.done"):
            items[index] = _shape.obj(event.get("item"), f"{where}.item")
            if kind.endswith(".done"):
                done.add(index)
        elif kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
            pieces.setdefault(index, []).append(_shape.string(event.get("delta"), where) or "")
    if final is not None and (final.get("output") or not items):
        return _parse_response(final)
    for index, item in items.items():
        if index in done:
            continue
        joined = "".join(pieces.get(index, []))
        if item.get("type") == "message":
            items[index] = item | {"content": [{"type": "output_text", "text": joined}]}
        elif item.get("type") == "function_call":
            items[index] = item | {"arguments": joined}
    rebuilt = (final or latest) | {"output": [items[i] for i in sorted(items)]}
    return _parse_response(rebuilt)


# --- rendering ------------------------------------------------------------------------------


def _status(response: ModelResponse) -> tuple[str, dict[str, str] | None]:
    reason = response.stop_reason
    reason = _FOREIGN_STOP.get(reason, reason) if reason is not None else None
    if reason in _INCOMPLETE_REASONS:
        return "incomplete", {"reason": str(reason)}
    if reason in _STATUSES:
        return str(reason), None
    return "completed", None


def _output(response: ModelResponse, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if response.text is not None:
        part = {"type": "output_text", "text": response.text, "annotations": []}
        out.append(
            {
                "id": stable_id("msg_", key),
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [part],
            }
        )
    out.extend(
        {
            "id": stable_id("fc_", key, str(i)),
            "type": "function_call",
            "call_id": call.id,
            "name": call.name,
            "arguments": dump_arguments(call.arguments),
            "status": "completed",
        }
        for i, call in enumerate(response.tool_calls)
    )
    return out


def _body(request: ModelRequest, response: ModelResponse, *, final: bool) -> dict[str, Any]:
    key = response.model_dump_json()
    status, details = _status(response) if final else ("in_progress", None)
    usage = response.usage
    body: dict[str, Any] = {
        "id": stable_id("resp_", key),
        "object": "response",
        "created_at": 0,
        "status": status,
        "error": None,
        "incomplete_details": details,
        "instructions": None,
        "metadata": {},
        "model": request.model or "unknown",
        "output": _output(response, key) if final else [],
        "parallel_tool_calls": True,
        "temperature": None,
        "tool_choice": "auto",
        "tools": [],
        "top_p": None,
        "usage": None,
    }
    if final and usage is not None:
        inp, outp = usage.input_tokens or 0, usage.output_tokens or 0
        body["usage"] = {
            "input_tokens": inp,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": outp,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inp + outp,
        }
    return body


def _render_response(
    request: ModelRequest, response: ModelResponse
) -> tuple[bytes, dict[str, str]]:
    return dumps(_body(request, response, final=True)), dict(JSON_HEADERS)


def _render_stream(request: ModelRequest, response: ModelResponse) -> tuple[bytes, dict[str, str]]:
    final = _body(request, response, final=True)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _body(request, response, final=False)}
    ]
    for index, item in enumerate(final["output"]):
        at = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            part, text = item["content"][0], item["content"][0]["text"]
            opening = item | {"status": "in_progress", "content": []}
            events += [
                {"type": "response.output_item.added", "output_index": index, "item": opening},
                {**at, "type": "response.content_part.added", "content_index": 0}
                | {"part": part | {"text": ""}},
                {**at, "type": "response.output_text.delta", "content_index": 0}
                | {"delta": text, "logprobs": []},
                {**at, "type": "response.output_text.done", "content_index": 0}
                | {"text": text, "logprobs": []},
                {**at, "type": "response.content_part.done", "content_index": 0, "part": part},
            ]
        else:
            opening = item | {"status": "in_progress", "arguments": ""}
            arguments, name = item["arguments"], item["name"]
            events += [
                {"type": "response.output_item.added", "output_index": index, "item": opening},
                {**at, "type": "response.function_call_arguments.delta", "delta": arguments},
                {**at, "type": "response.function_call_arguments.done"}
                | {"arguments": arguments, "name": name},
            ]
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    terminal = {"incomplete": "response.incomplete", "failed": "response.failed"}
    events.append({"type": terminal.get(final["status"], "response.completed"), "response": final})
    numbered = [(e["type"], e | {"sequence_number": n}) for n, e in enumerate(events)]
    return encode_events(numbered), dict(EVENT_STREAM_HEADERS)
