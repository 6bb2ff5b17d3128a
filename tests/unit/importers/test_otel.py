"""OpenTelemetry GenAI spans: a trace from an instrumentation imports; every cassette goes
to spans and back unchanged, up to the span ids OTel renames."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from retake import importers
from retake.schema import (
    Cassette,
    CassetteHeader,
    ErrorEvent,
    HttpExchange,
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
from tests.unit.importers.helpers import OTEL, REALDATA, TAU, kinds, load


def test_golden_instrumented_trace() -> None:
    imported = load(OTEL / "support_desk_refund_denied.jsonl")
    assert imported.format == "otel"
    [cassette] = imported.cassettes
    assert kinds(cassette) == [
        "user", "model", "tool_call", "tool_result", "model", "tool_call", "permission",
        "tool_result", "model", "output",
    ]  # fmt: skip
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    assert [(c.tool, c.call_id, c.arguments) for c in calls] == [
        ("lookup_order", "call_lookup", {"order_id": "1042"}),
        ("issue_refund", "call_refund", {"order_id": "1042", "amount": 80}),
    ]
    [permission] = [e for e in cassette.events if isinstance(e, PermissionEvent)]
    assert (permission.call_id, permission.tool, permission.decision) == (
        "call_refund", "issue_refund", "deny",
    )  # fmt: skip
    assert permission.rule_id == "refund-needs-manager" and permission.policy_version == "2025-01"
    ok, denied = [e for e in cassette.events if isinstance(e, ToolResultEvent)]
    assert ok.failure is None and ok.output == {"status": "delivered", "total": 80}
    assert ok.duration == pytest.approx(0.05)
    assert denied.failure is not None
    assert denied.failure.exception_type == "PermissionDenied"
    assert denied.failure.message == "refunds need the refund_manager role"
    model = cassette.events[1]
    assert isinstance(model, ModelEvent) and model.provider == "openai"
    assert model.request.messages[0].role == "system"
    assert model.response.usage == Usage(input_tokens=52, output_tokens=17)
    assert cassette.header.agent == "support-desk"
    assert cassette.header.recorded_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert cassette.header.tags["lacks"] == ["http"]
    reasons = " ".join(s.reason for s in imported.skipped)
    assert "'embeddings'" in reasons and "1 spans without a GenAI operation" in reasons


def _sample() -> Cassette:
    """A cassette with every event kind, failures, a permission denial and an HTTP exchange."""
    request = ModelRequest(model="m", tools=("lookup",), params={"temperature": 0})
    events = [
        UserEvent(seq=0, t=0.0, text="hi"),
        ModelEvent(
            seq=1, t=0.25, provider="openai-chat", request=request,
            response=ModelResponse(
                tool_calls=(ToolCallRequest(id="c1", name="lookup", arguments={"q": 1}),),
                stop_reason="tool_calls", usage=Usage(input_tokens=3),
            ),
            http=HttpExchange(url="https://x/v1/chat/completions", response_body=b"\x00{}"),
        ),
        ToolCallEvent(seq=2, t=0.5, call_id="c1", tool="lookup", arguments={"q": 1}),
        PermissionEvent(seq=3, t=0.5, call_id="c1", tool="lookup", decision="ask", reason="r"),
        ToolResultEvent(
            seq=4, t=0.75, call_id="c1", tool="lookup", duration=0.125,
            failure=ToolFailure(type="rate_limited", message="slow down", retry_after=2.0),
        ),
        PermissionEvent(seq=5, t=0.8, tool="refund", decision="deny", rule_id="x"),
        NoteEvent(seq=6, t=0.9, message="audit", level="audit", call_id="c1", data={"a": 1}),
        OutputEvent(seq=7, t=1.0, text="done", data={"ok": True}),
        ErrorEvent(seq=8, t=1.5, type="ValueError", message="late", traceback="tb"),
    ]  # fmt: skip
    header = CassetteHeader(
        session_id="s1", agent="a", release="r1",
        recorded_at=datetime(2025, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), tags={"k": [1]},
    )  # fmt: skip
    return Cassette(header=header, events=tuple(events))


def _without_ids(cassette: Cassette) -> Cassette:
    events = tuple(
        e.model_copy(update={"span_id": None, "parent_id": None, "t": round(e.t, 6)})
        for e in cassette.events
    )
    return cassette.model_copy(update={"events": events})


def _round_trip(cassette: Cassette, tmp_path: Path) -> Cassette:
    path = tmp_path / "trace.jsonl"
    path.write_text(json.dumps(importers.to_otel(cassette)) + "\n", encoding="utf-8")
    [back] = load(path).cassettes
    return back


def test_round_trip_keeps_every_kind(tmp_path: Path) -> None:
    cassette = _sample()
    back = _round_trip(cassette, tmp_path)
    assert _without_ids(back) == _without_ids(cassette)


def test_exported_spans_follow_the_conventions() -> None:
    doc = importers.to_otel(_sample())
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    ops = [
        next(
            a["value"]["stringValue"]
            for a in s["attributes"]
            if a["key"] == "gen_ai.operation.name"
        )
        for s in spans
    ]
    assert ops == ["invoke_agent", "chat", "execute_tool", "apply_guardrail", "apply_guardrail"]
    tool = {a["key"]: a["value"] for a in spans[2]["attributes"]}
    assert tool["gen_ai.tool.name"] == {"stringValue": "lookup"}
    assert tool["gen_ai.tool.call.id"] == {"stringValue": "c1"}
    assert tool["error.type"] == {"stringValue": "rate_limited"}
    assert spans[2]["status"]["code"] == 2
    assert spans[3]["parentSpanId"] == spans[2]["spanId"]  # the guardrail guards the call


SOURCES = sorted(TAU.glob("*.json")) + sorted(REALDATA.rglob("*.yaml"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem[:40])
def test_round_trip_of_every_real_source(path: Path, tmp_path: Path) -> None:
    [cassette] = load(path).cassettes
    assert _without_ids(_round_trip(cassette, tmp_path)) == _without_ids(cassette)
