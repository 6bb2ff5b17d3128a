"""OpenTelemetry GenAI spans, as the OTLP JSON file exporter writes them, both ways.

Reading (one session per trace): ``invoke_agent`` spans give the user turns and the answer,
``chat`` spans the model calls (``gen_ai.input.messages`` / ``gen_ai.output.messages``),
``execute_tool`` spans a tool call and its result (``gen_ai.tool.name``,
``gen_ai.tool.call.id``, ``gen_ai.tool.call.arguments``, ``gen_ai.tool.call.result``,
``error.type``), and ``apply_guardrail`` spans permission decisions
(``gen_ai.security.decision.type``, ``.reason``, ``gen_ai.security.policy.id``, ``.version``).

Writing (``to_otel``): the same spans under one ``invoke_agent`` root, plus ``retake.*``
attributes for what the conventions have no name for (the event order, the HTTP exchange,
request params, typed failures), and the user turns, answer, errors and notes as events of
the root span. Reading that back gives the cassette again, up to span ids.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, get_args

from retake.schema import (
    Cassette,
    CassetteHeader,
    ErrorEvent,
    FailureType,
    HttpExchange,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    OutputEvent,
    PermissionEvent,
    ToolCallEvent,
    ToolCallRequest,
    ToolFailure,
    ToolResultEvent,
    Usage,
    UserEvent,
)

from ._build import SessionBuilder, Skipped, session_name

NAME = "otel"

OPERATION = "gen_ai.operation.name"
INPUT, OUTPUT, SYSTEM = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
)
TOOL_NAME, CALL_ID = "gen_ai.tool.name", "gen_ai.tool.call.id"
CALL_ARGS, CALL_RESULT = "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"
DECISION, DECISION_REASON = "gen_ai.security.decision.type", "gen_ai.security.decision.reason"
POLICY_ID, POLICY_VERSION = "gen_ai.security.policy.id", "gen_ai.security.policy.version"
TARGET_TYPE, TARGET_ID = "gen_ai.security.target.type", "gen_ai.security.target.id"
ERROR_TYPE = "error.type"
SEQ = "retake.seq"
"""The event's place in the cassette; spans exported by retake carry it."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MODEL_OPS = ("chat", "text_completion", "generate_content")
_FAILURES: tuple[str, ...] = get_args(FailureType)
_STATUS_ERROR = 2

# --- OTLP JSON values -------------------------------------------------------------------------


def _value(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    if "stringValue" in raw:
        return raw["stringValue"]
    if "boolValue" in raw:
        return bool(raw["boolValue"])
    if "intValue" in raw:
        return int(raw["intValue"])
    if "doubleValue" in raw:
        return float(raw["doubleValue"])
    if "arrayValue" in raw:
        return [_value(v) for v in (raw["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in raw:
        return _attributes((raw["kvlistValue"] or {}).get("values"))
    if "bytesValue" in raw:
        return base64.b64decode(raw["bytesValue"])
    return None


def _attributes(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in raw or ():
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = _value(kv.get("value"))
    return out


def _any(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_any(v) for v in value]}}
    return {"stringValue": str(value)}


def _kv(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _any(v)} for k, v in attributes.items() if v is not None]


def _json(attrs: dict[str, Any], key: str) -> Any:
    """A structured attribute: JSON text (as the conventions ask) or an OTLP structured value."""
    value = attrs.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- messages ---------------------------------------------------------------------------------


def _parts_of(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.role == "tool" and (message.tool_call_id is not None or message.content is not None):
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "response": message.content}
        )
    elif message.content is not None:
        parts.append({"type": "text", "content": message.content})
    parts += [
        {"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments}
        for c in message.tool_calls
    ]
    parts += [{"type": "retake_part", "content": p} for p in message.parts]
    return parts


def _otel_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "parts": _parts_of(message)}
    if message.name is not None:
        out["name"] = message.name
    return out


def _message(raw: Any) -> Message | None:
    if not isinstance(raw, dict) or raw.get("role") not in (
        "system",
        "developer",
        "user",
        "assistant",
        "tool",
    ):
        return None
    texts: list[str] = []
    calls: list[ToolCallRequest] = []
    extra: list[dict[str, Any]] = []
    call_id: str | None = None
    response: Any = None
    for part in raw.get("parts") or ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("content"), str):
            texts.append(part["content"])
        elif kind == "tool_call":
            calls.append(
                ToolCallRequest(
                    id=str(part.get("id") or ""),
                    name=str(part.get("name") or ""),
                    arguments=part.get("arguments"),
                )
            )
        elif kind == "tool_call_response":
            call_id = part.get("id")
            response = part.get("response", part.get("result"))
        elif kind == "retake_part" and isinstance(part.get("content"), dict):
            extra.append(part["content"])
        elif isinstance(part, dict):
            extra.append(part)
    content = "\n".join(texts) if texts else None
    if response is not None:
        content = response if isinstance(response, str) else _dumps(response)
    name = raw.get("name")
    return Message(
        role=raw["role"],
        content=content,
        parts=tuple(extra),
        tool_calls=tuple(calls),
        tool_call_id=call_id if isinstance(call_id, str) else None,
        name=name if isinstance(name, str) else None,
    )


def _messages(value: Any) -> list[Message]:
    if not isinstance(value, list):
        return []
    return [m for m in (_message(raw) for raw in value) if m is not None]


# --- reading ----------------------------------------------------------------------------------


_SIGNALS = ("resourceSpans", "resourceMetrics", "resourceLogs")
"""The top-level key of each kind of OTLP JSON document; a collector's file exporter may write
metrics and logs lines into the same file as traces."""


def is_otlp(data: Any) -> bool:
    """Whether ``data`` is OTLP JSON (a document, or a file's lines) holding a trace."""
    docs = data if isinstance(data, list) else [data]
    return all(isinstance(d, dict) and any(k in d for k in _SIGNALS) for d in docs) and any(
        "resourceSpans" in d for d in docs
    )


def _operation(span: dict[str, Any], attrs: dict[str, Any]) -> str | None:
    op = attrs.get(OPERATION)
    if isinstance(op, str):
        return op
    first = str(span.get("name", "")).split(" ", 1)[0]
    return (
        first if first in (*_MODEL_OPS, "invoke_agent", "execute_tool", "apply_guardrail") else None
    )


def _decision(value: Any) -> str:
    """OTel's decision types as a permission decision: what was let through is ``allow``."""
    if value in ("deny", "ask"):
        return str(value)
    return "allow"


def import_data(data: Any, file: str, skipped: list[Skipped]) -> list[Cassette]:
    traces: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    docs = data if isinstance(data, list) else [data]
    for number, doc in enumerate(docs, 1):
        if "resourceSpans" not in doc:
            signal = next((k for k in _SIGNALS if k in doc), "no resourceSpans")
            where = f"line {number}" if len(docs) > 1 else "the document"
            skipped.append(Skipped(file, where, f"OTLP {signal}, not a trace: left out"))
            continue
        for rs in doc.get("resourceSpans") or ():
            resource = _attributes(((rs or {}).get("resource") or {}).get("attributes"))
            for ss in (
                (rs or {}).get("scopeSpans") or (rs or {}).get("instrumentationLibrarySpans") or ()
            ):
                for span in (ss or {}).get("spans") or ():
                    if isinstance(span, dict):
                        traces.setdefault(str(span.get("traceId", "")), []).append((span, resource))
    cassettes = []
    for index, (trace_id, spans) in enumerate(traces.items()):
        cassette = _session(trace_id, spans, file, skipped, index if len(traces) > 1 else None)
        if cassette is not None:
            cassettes.append(cassette)
    return cassettes


def _session(
    trace_id: str,
    spans: list[tuple[dict[str, Any], dict[str, Any]]],
    file: str,
    skipped: list[Skipped],
    index: int | None,
) -> Cassette | None:
    builder = SessionBuilder(file)
    header_json = next((r["retake.header"] for _, r in spans if "retake.header" in r), None)
    exported = isinstance(header_json, str)
    base = min((int(s.get("startTimeUnixNano") or 0) for s, _ in spans), default=0)
    if exported:
        header = CassetteHeader.model_validate_json(header_json)  # type: ignore[arg-type]
        base = (header.recorded_at - _EPOCH) // timedelta(microseconds=1) * 1000

    def t(ns: Any) -> float:
        return max(0, int(ns or 0) - base) / 1e9

    steps: list[tuple[tuple[float, int], Callable[[], None]]] = []
    users: list[str] = []

    def step(key: float | None, ns: Any, fn: Callable[[], None]) -> None:
        order = key if key is not None else float(int(ns or 0))
        steps.append(((order, len(steps)), fn))

    def new_users(messages: list[Message], at: float, span_id: str | None) -> None:
        texts = [m.content for m in messages if m.role == "user" and m.content is not None]
        for text in texts[len(users) :]:
            users.append(text)
            builder.user(text, t=at, span_id=span_id)

    by_id = {str(s.get("spanId")): (s, _attributes(s.get("attributes"))) for s, _ in spans}
    tool_call_ids = {
        a.get(CALL_ID) for _, a in by_id.values() if a.get(OPERATION) == "execute_tool"
    }
    other = 0
    for span_id, (span, attrs) in by_id.items():
        op = _operation(span, attrs)
        parent = str(span.get("parentSpanId") or "") or None
        start = span.get("startTimeUnixNano")
        end = span.get("endTimeUnixNano") or start
        status = span.get("status") or {}
        failed = ERROR_TYPE in attrs or status.get("code") in (_STATUS_ERROR, "STATUS_CODE_ERROR")
        seq = attrs.get(SEQ) if exported else None
        where = f"trace {trace_id} span {span_id} ({span.get('name', '')})"
        ids: dict[str, Any] = {"span_id": span_id, "parent_id": parent}
        if op == "invoke_agent" and exported:
            for ev in span.get("events") or ():
                ev_attrs = _attributes(ev.get("attributes"))
                at = t(ev.get("timeUnixNano"))
                run = _root_event(builder, str(ev.get("name")), ev_attrs, at)
                step(ev_attrs.get(SEQ), ev.get("timeUnixNano"), run)
        elif op == "invoke_agent":
            inputs, outputs = _messages(_json(attrs, INPUT)), _messages(_json(attrs, OUTPUT))
            step(None, start, partial(new_users, inputs, t(start), span_id))
            answer = "\n".join(m.content for m in outputs if m.role == "assistant" and m.content)
            if answer:
                step(None, end, partial(builder.output, answer, t=t(end), span_id=span_id))
            if failed:
                kind, message = (
                    str(attrs.get(ERROR_TYPE) or "error"),
                    str(status.get("message") or ""),
                )
                step(None, end, partial(builder.error, kind, message, t=t(end)))
        elif op in _MODEL_OPS:
            run = _model_step(builder, attrs, t(start), ids, exported, tool_call_ids, new_users)
            step(seq, start, run)
            if failed and not exported:
                what = f"{attrs.get(ERROR_TYPE) or 'error'}: {status.get('message') or ''}"
                note = partial(builder.note, f"model call failed: {what}", level="error", t=t(end))
                step(None, end, note)
        elif op == "execute_tool":
            call_id = str(attrs.get(CALL_ID) or span_id)
            name = str(span.get("name", "")).removeprefix("execute_tool ").strip()
            tool = str(attrs.get(TOOL_NAME) or name)
            arguments = _json(attrs, CALL_ARGS)
            args = {} if arguments is None else arguments
            step(seq, start, partial(builder.tool_call, call_id, tool, args, t=t(start), **ids))
            if exported and "retake.result.seq" not in attrs:
                continue
            failure = _failure(attrs, status) if failed or "retake.failure" in attrs else None
            duration = attrs.get("retake.tool.duration", (int(end or 0) - int(start or 0)) / 1e9)
            result = _json(attrs, CALL_RESULT)
            answer_of = partial(builder.tool_result, where, call_id, result, failure=failure, **ids)
            key = attrs.get("retake.result.seq") if exported else None
            step(key, end, partial(answer_of, duration=float(duration), t=t(end)))
        elif op == "apply_guardrail":
            event = _permission(attrs, by_id.get(parent or "", ({}, {}))[1], exported)
            if event is None:
                reason = (
                    f"a guardrail on {attrs.get(TARGET_TYPE)!r}, not on a tool call, is no "
                    "permission decision; left out"
                )
                skipped.append(Skipped(file, where, reason))
                continue
            step(seq, start, partial(builder.permission, {**event, "t": t(start), **ids}))
        elif op is not None:
            reason = f"operation {op!r} has no event kind in a cassette; left out"
            skipped.append(Skipped(file, where, reason))
        else:
            other += 1
    if other:
        skipped.append(
            Skipped(file, f"trace {trace_id}", f"{other} spans without a GenAI operation; left out")
        )
    for _, fn in sorted(steps, key=lambda s: s[0]):
        fn()
    skipped += builder.skipped
    if exported:
        return Cassette(header=header, events=tuple(builder.events))
    if not builder.events:
        skipped.append(
            Skipped(file, f"trace {trace_id}", "no GenAI spans in this trace; no session")
        )
        return None
    lacks = [] if any(isinstance(e, PermissionEvent) for e in builder.events) else ["permission"]
    agent = next(
        (str(a["gen_ai.agent.name"]) for _, a in by_id.values() if a.get("gen_ai.agent.name")), None
    )
    service = next((str(r["service.name"]) for _, r in spans if r.get("service.name")), None)
    return builder.finish(
        session_id=session_name(file, index, trace_id[:16] or None),
        source=NAME,
        agent=agent or service or NAME,
        recorded_at=_EPOCH + timedelta(microseconds=base // 1000),
        lacks=[*lacks, "http"],
        tags={"trace_id": trace_id},
    )


def _failure(attrs: dict[str, Any], status: dict[str, Any]) -> ToolFailure:
    if "retake.failure" in attrs:
        return ToolFailure.model_validate_json(attrs["retake.failure"])
    kind = str(attrs.get(ERROR_TYPE) or "error")
    known = kind in _FAILURES
    return ToolFailure(
        type=kind if known else "error",
        message=str(status.get("message") or attrs.get(CALL_RESULT) or ""),
        exception_type=None if known else kind,
    )


def _permission(
    attrs: dict[str, Any], parent: dict[str, Any], exported: bool
) -> dict[str, Any] | None:
    """A permission event's fields from an ``apply_guardrail`` span (and the tool span it
    guards); ``None`` when it guards no tool call."""
    call_id = attrs.get(CALL_ID)
    if call_id is None and attrs.get(TARGET_TYPE) == "tool_call":
        call_id = attrs.get(TARGET_ID)
    if call_id is None and not exported:
        call_id = parent.get(CALL_ID)
    tool = attrs.get(TOOL_NAME) or parent.get(TOOL_NAME)
    if not tool:
        return None
    return {
        "call_id": call_id,
        "tool": str(tool),
        "decision": _decision(attrs.get(DECISION)),
        "rule_id": attrs.get(POLICY_ID),
        "reason": str(attrs.get(DECISION_REASON) or ""),
        "policy_version": attrs.get(POLICY_VERSION),
    }


def _root_event(
    builder: SessionBuilder, name: str, attrs: dict[str, Any], at: float
) -> Callable[[], None]:
    def run() -> None:
        if name == "retake.user":
            builder.user(str(attrs.get("retake.text", "")), t=at)
        elif name == "retake.output":
            builder.events.append(
                OutputEvent(
                    seq=builder.seq,
                    t=at,
                    text=str(attrs.get("retake.text", "")),
                    data=_json(attrs, "retake.data"),
                )
            )
        elif name == "exception":
            builder.events.append(
                ErrorEvent(
                    seq=builder.seq,
                    t=at,
                    type=str(attrs.get("exception.type", "")),
                    message=str(attrs.get("exception.message", "")),
                    traceback=attrs.get("exception.stacktrace"),
                )
            )
        elif name == "retake.note":
            builder.events.append(
                NoteEvent(
                    seq=builder.seq,
                    t=at,
                    message=str(attrs.get("retake.message", "")),
                    level=str(attrs.get("retake.level", "info")),
                    call_id=attrs.get("retake.call_id"),
                    data=_json(attrs, "retake.data") or {},
                )
            )

    return run


def _model_step(
    builder: SessionBuilder,
    attrs: dict[str, Any],
    at: float,
    ids: dict[str, Any],
    exported: bool,
    tool_call_ids: set[Any],
    new_users: Callable[[list[Message], float, str | None], None],
) -> Callable[[], None]:
    system = _json(attrs, SYSTEM)
    messages = _messages(_json(attrs, INPUT))
    if isinstance(system, list) and system:
        lines = [str(p["content"]) for p in system if isinstance(p, dict) and "content" in p]
        messages.insert(0, Message(role="system", content="\n".join(lines)))
    outputs = [m for m in _messages(_json(attrs, OUTPUT)) if m.role == "assistant"]
    texts = [str(m.content) for m in outputs if m.content is not None]
    calls = tuple(c for m in outputs for c in m.tool_calls)
    reasons = attrs.get("gen_ai.response.finish_reasons")
    raw_output = _json(attrs, OUTPUT)
    finish = (
        raw_output[0].get("finish_reason")
        if isinstance(raw_output, list) and raw_output and isinstance(raw_output[0], dict)
        else None
    )
    stop = finish or (reasons[0] if isinstance(reasons, list) and reasons else None)
    if "retake.usage" in attrs:
        usage = (
            Usage.model_validate_json(attrs["retake.usage"])
            if attrs["retake.usage"] != "null"
            else None
        )
    elif "gen_ai.usage.input_tokens" in attrs or "gen_ai.usage.output_tokens" in attrs:
        usage = Usage(
            input_tokens=attrs.get("gen_ai.usage.input_tokens"),
            output_tokens=attrs.get("gen_ai.usage.output_tokens"),
        )
    else:
        usage = None
    tools = _json(attrs, "gen_ai.tool.definitions")
    params = _json(attrs, "retake.request.params")
    request = ModelRequest(
        model=attrs.get("gen_ai.request.model"),
        messages=tuple(messages),
        tools=tuple(str(d.get("name", "")) for d in tools if isinstance(d, dict))
        if isinstance(tools, list)
        else (),
        params=params if isinstance(params, dict) else {},
    )
    response = ModelResponse(
        text="\n".join(texts) if texts else None, tool_calls=calls, stop_reason=stop, usage=usage
    )
    http = (
        HttpExchange.model_validate_json(attrs["retake.http"]) if "retake.http" in attrs else None
    )
    provider = attrs.get("gen_ai.provider.name", attrs.get("gen_ai.system"))

    def run() -> None:
        if not exported:
            new_users(messages, at, ids["span_id"])
        builder.model(
            request, response, provider=provider, http=http, t=at, with_calls=False, **ids
        )
        if not exported:
            for call in calls:
                if call.id not in tool_call_ids:
                    builder.tool_call(call.id, call.name, call.arguments, t=at)

    return run


# --- writing ----------------------------------------------------------------------------------


def _id(session: str, key: str, size: int) -> str:
    return hashlib.sha256(f"{session}\x00{key}".encode()).hexdigest()[:size]


def to_otel(cassette: Cassette) -> dict[str, Any]:
    """The cassette as one OTLP JSON trace (``{"resourceSpans": [...]}``), GenAI conventions."""
    header = cassette.header
    session = header.session_id
    trace_id = _id(session, "trace", 32)
    root = _id(session, "root", 16)
    base = (header.recorded_at - _EPOCH) // timedelta(microseconds=1) * 1000

    def ns(t: float) -> str:
        return str(base + round(t * 1e9))

    spans: list[dict[str, Any]] = []
    root_events: list[dict[str, Any]] = []
    tool_spans: dict[str, dict[str, Any]] = {}
    users = [e.text for e in cassette.events if isinstance(e, UserEvent)]
    outputs = [e.text for e in cassette.events if isinstance(e, OutputEvent)]
    errors = [e for e in cassette.events if isinstance(e, ErrorEvent)]

    def span(
        key: str, name: str, kind: int, t0: float, attributes: dict[str, Any], parent: str = root
    ) -> dict[str, Any]:
        new = {
            "traceId": trace_id,
            "spanId": _id(session, key, 16),
            "parentSpanId": parent,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": ns(t0),
            "endTimeUnixNano": ns(t0),
            "attributes": attributes,
            "status": {},
        }
        spans.append(new)
        return new

    for event in cassette.events:
        if isinstance(event, UserEvent):
            root_events.append(
                {
                    "name": "retake.user",
                    "timeUnixNano": ns(event.t),
                    "attributes": {SEQ: event.seq, "retake.text": event.text},
                }
            )
        elif isinstance(event, OutputEvent):
            root_events.append(
                {
                    "name": "retake.output",
                    "timeUnixNano": ns(event.t),
                    "attributes": {
                        SEQ: event.seq,
                        "retake.text": event.text,
                        "retake.data": None if event.data is None else _dumps(event.data),
                    },
                }
            )
        elif isinstance(event, ErrorEvent):
            root_events.append(
                {
                    "name": "exception",
                    "timeUnixNano": ns(event.t),
                    "attributes": {
                        SEQ: event.seq,
                        "exception.type": event.type,
                        "exception.message": event.message,
                        "exception.stacktrace": event.traceback,
                    },
                }
            )
        elif isinstance(event, NoteEvent):
            root_events.append(
                {
                    "name": "retake.note",
                    "timeUnixNano": ns(event.t),
                    "attributes": {
                        SEQ: event.seq,
                        "retake.message": event.message,
                        "retake.level": event.level,
                        "retake.call_id": event.call_id,
                        "retake.data": _dumps(event.data) if event.data else None,
                    },
                }
            )
        elif isinstance(event, ModelEvent):
            span(
                f"model{event.seq}",
                f"chat {event.request.model or ''}".strip(),
                3,
                event.t,
                _model_attributes(event),
            )
        elif isinstance(event, ToolCallEvent):
            attributes = {
                OPERATION: "execute_tool",
                TOOL_NAME: event.tool,
                CALL_ID: event.call_id,
                "gen_ai.tool.type": "function",
                CALL_ARGS: _dumps(event.arguments),
                SEQ: event.seq,
            }
            tool_spans[event.call_id] = span(
                f"tool{event.seq}", f"execute_tool {event.tool}", 1, event.t, attributes
            )
        elif isinstance(event, ToolResultEvent):
            _add_result(tool_spans.get(event.call_id), event, ns)
        elif isinstance(event, PermissionEvent):
            parent = tool_spans[event.call_id]["spanId"] if event.call_id in tool_spans else root
            attributes = {
                OPERATION: "apply_guardrail",
                TARGET_TYPE: "tool_call",
                TARGET_ID: event.call_id,
                TOOL_NAME: event.tool,
                CALL_ID: event.call_id,
                DECISION: event.decision,
                DECISION_REASON: event.reason or None,
                POLICY_ID: event.rule_id,
                POLICY_VERSION: event.policy_version,
                SEQ: event.seq,
            }
            span(
                f"permission{event.seq}",
                f"apply_guardrail {event.tool}",
                1,
                event.t,
                attributes,
                parent,
            )
    end = max((e.t for e in cassette.events), default=0.0)
    root_attributes = {
        OPERATION: "invoke_agent",
        "gen_ai.agent.name": header.agent,
        "gen_ai.conversation.id": session,
        INPUT: _dumps([{"role": "user", "parts": [{"type": "text", "content": u}]} for u in users])
        if users
        else None,
        OUTPUT: _dumps(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": o}],
                    "finish_reason": "stop",
                }
                for o in outputs
            ]
        )
        if outputs
        else None,
        ERROR_TYPE: errors[-1].type if errors else None,
    }
    root_span = {
        "traceId": trace_id,
        "spanId": root,
        "parentSpanId": "",
        "name": f"invoke_agent {header.agent}",
        "kind": 1,
        "startTimeUnixNano": ns(0.0),
        "endTimeUnixNano": ns(end),
        "attributes": root_attributes,
        "events": root_events,
        "status": {"code": _STATUS_ERROR, "message": errors[-1].message} if errors else {},
    }
    for s in (root_span, *spans):
        s["attributes"] = _kv(s["attributes"])
        for ev in s.get("events", ()):
            ev["attributes"] = _kv(ev["attributes"])
    resource = {"service.name": header.agent, "retake.header": header.model_dump_json()}
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _kv(resource)},
                "scopeSpans": [{"scope": {"name": "retake"}, "spans": [root_span, *spans]}],
            }
        ]
    }


def _model_attributes(event: ModelEvent) -> dict[str, Any]:
    request, response = event.request, event.response
    output: dict[str, Any] = {
        "role": "assistant",
        "parts": _parts_of(
            Message(role="assistant", content=response.text, tool_calls=response.tool_calls)
        ),
    }
    if response.stop_reason is not None:
        output["finish_reason"] = response.stop_reason
    usage = response.usage
    return {
        OPERATION: "chat",
        "gen_ai.provider.name": event.provider,
        "gen_ai.request.model": request.model,
        INPUT: _dumps([_otel_message(m) for m in request.messages]),
        OUTPUT: _dumps([output]),
        "gen_ai.response.finish_reasons": [response.stop_reason] if response.stop_reason else None,
        "gen_ai.usage.input_tokens": usage.input_tokens if usage else None,
        "gen_ai.usage.output_tokens": usage.output_tokens if usage else None,
        "retake.usage": usage.model_dump_json() if usage else "null",
        "gen_ai.tool.definitions": _dumps([{"type": "function", "name": n} for n in request.tools])
        if request.tools
        else None,
        "retake.request.params": _dumps(request.params) if request.params else None,
        "retake.http": event.http.model_dump_json() if event.http else None,
        SEQ: event.seq,
    }


def _add_result(
    span: dict[str, Any] | None, event: ToolResultEvent, ns: Callable[[float], str]
) -> None:
    if span is None:  # a result without a call: nothing in the trace can hold it
        return
    attributes = span["attributes"]
    attributes["retake.result.seq"] = event.seq
    attributes["retake.tool.duration"] = float(event.duration)
    span["endTimeUnixNano"] = ns(event.t)
    if event.failure is None:
        attributes[CALL_RESULT] = _dumps(event.output)
    else:
        attributes[ERROR_TYPE] = event.failure.exception_type or event.failure.type
        attributes["retake.failure"] = event.failure.model_dump_json()
        span["status"] = {"code": _STATUS_ERROR, "message": event.failure.message}
