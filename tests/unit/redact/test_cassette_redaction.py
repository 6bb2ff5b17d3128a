"""Redaction of whole cassettes, the manifest, and the write-time leak scan at finalise."""

from __future__ import annotations

from pathlib import Path

import pytest

from retake.errors import LeakDetected, RedactionError
from retake.redact import (
    FieldRule,
    RedactionKey,
    RedactionPolicy,
    Redactor,
    assert_no_leaks,
    redact_cassette,
    scan_cassette,
)
from retake.schema import (
    EVENT_TYPES,
    Cassette,
    HttpExchange,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    ToolCallEvent,
    ToolCallRequest,
    ToolResultEvent,
    UserEvent,
)
from retake.store import CassetteWriter, load, partial_path

KEY = RedactionKey(b"cassette-test-key-0123456789abcd", "given")
EMAIL = "mia.li3818@example.com"
CARD = "4111 1111 1111 1111"


def leaky(cassette: Cassette) -> Cassette:
    events = (
        *cassette.events,
        UserEvent(seq=len(cassette.events), text=f"I'm {EMAIL}, card {CARD}"),
        ToolCallEvent(
            seq=len(cassette.events) + 1,
            call_id="call_9",
            tool="send_email",
            arguments={"to": EMAIL, "body": "Dear Mia, your key is sk-" + "a1" * 20},
        ),
        ModelEvent(
            seq=len(cassette.events) + 2,
            request=ModelRequest(messages=(Message(role="user", content=f"I'm {EMAIL}"),)),
            response=ModelResponse(
                tool_calls=(
                    ToolCallRequest(
                        id="call_9", name="send_email", arguments={"to": EMAIL, "body": "Dear Mia"}
                    ),
                )
            ),
        ),
        ToolResultEvent(
            seq=len(cassette.events) + 3,
            call_id="call_9",
            tool="send_email",
            output={"raw": f'{{"sent_to": "{EMAIL}"}}'.encode()},
        ),
        NoteEvent(
            seq=len(cassette.events) + 4,
            message="audit",
            data={"headers": {"Authorization": "Bearer abc"}},
        ),
    )
    header = cassette.header.model_copy(update={"tags": {"customer": EMAIL}})
    return cassette.model_copy(update={"header": header, "events": events})


def test_every_event_kind_passes_through(cassette: Cassette) -> None:
    kinds = {e.kind for e in cassette.events}
    assert kinds == set(EVENT_TYPES)
    out = redact_cassette(cassette, Redactor(key=KEY))
    assert out.events == cassette.events
    assert out.header.redaction.applied
    assert out.header.redaction.key_fingerprint == KEY.fingerprint


def test_redact_cassette_removes_everything_the_scan_sees(cassette: Cassette) -> None:
    dirty = leaky(cassette)
    findings = scan_cassette(dirty)
    detectors = {f.detector for f in findings}
    assert {"email", "card", "openai_key", "header:authorization"} <= detectors
    assert any(f.path == "header.tags.customer" for f in findings)
    out = redact_cassette(dirty, Redactor(key=KEY))
    assert scan_cassette(out) == []
    dump = out.model_dump_json()
    assert EMAIL not in dump and CARD not in dump
    assert out.header.redaction.counts["email"] >= 4
    assert out.header.session_id == cassette.header.session_id
    assert isinstance(out.events[-2].output["raw"], bytes)


def test_redacting_twice_changes_nothing(cassette: Cassette) -> None:
    once = redact_cassette(leaky(cassette), Redactor(key=KEY))
    twice = redact_cassette(once, Redactor(key=KEY))
    assert twice == once


def test_the_http_headers_of_a_model_call_are_masked_by_the_header_rules(
    cassette: Cassette,
) -> None:
    """A recorded model call keeps its HTTP exchange; credentials in its headers that no
    text detector knows (an opaque bearer token, a proxy key, a session cookie) go too."""
    http = HttpExchange(
        url="https://llm-proxy.example.com/v1/chat/completions",
        request_headers={
            "authorization": "Bearer team-proxy-7f3k",
            "x-api-key": "my-litellm-master",
            "openai-project": "proj_acme",
            "accept": "application/json",
        },
        status=200,
        response_headers={"set-cookie": "__cf_bm=q8Zr1; path=/", "content-type": "text/plain"},
        response_body=b"hi",
    )
    call = ModelEvent(
        seq=len(cassette.events),
        request=ModelRequest(),
        response=ModelResponse(text="hi"),
        http=http,
    )
    recorded = cassette.model_copy(update={"events": (*cassette.events, call)})
    assert {f.detector for f in scan_cassette(recorded)} >= {
        "header:authorization",
        "header:x-api-key",
        "header:openai-project",
        "header:set-cookie",
    }
    out = redact_cassette(recorded, Redactor(key=KEY))
    headers = out.events[-1].http.request_headers  # type: ignore[union-attr]
    text = str(headers) + str(out.events[-1].http.response_headers)  # type: ignore[union-attr]
    for secret in ("team-proxy-7f3k", "my-litellm-master", "proj_acme", "q8Zr1"):
        assert secret not in text
    assert headers["authorization"].startswith("<REDACTED:authorization:")
    assert headers["accept"] == "application/json"
    assert scan_cassette(out) == []


def test_field_rule_on_a_cassette(cassette: Cassette) -> None:
    policy = RedactionPolicy(field_rules=(FieldRule(path="tool_call[send_email].arguments.body"),))
    out = redact_cassette(leaky(cassette), Redactor(policy, key=KEY))
    call = out.events[-4]
    assert isinstance(call, ToolCallEvent)
    assert call.arguments["body"].startswith("<REDACTED:field:")
    model = out.events[-3]
    assert isinstance(model, ModelEvent)
    assert model.response.tool_calls[0].arguments["body"].startswith("<REDACTED:field:")
    assert out.header.redaction.counts["field:tool_call[send_email].arguments.body"] == 2


def test_field_rule_on_a_typed_field_is_a_clear_error(cassette: Cassette) -> None:
    policy = RedactionPolicy(field_rules=(FieldRule(path="tool_result.duration"),))
    with pytest.raises(RedactionError, match="no longer valid after redaction"):
        redact_cassette(cassette, Redactor(policy, key=KEY))


def test_leak_message_names_event_path_and_detector(cassette: Cassette) -> None:
    dirty = leaky(cassette)
    with pytest.raises(LeakDetected) as info:
        assert_no_leaks(dirty)
    message = str(info.value)
    assert "first in the header at path='header.tags.customer' (detector='email')" in message
    assert "event 12: events[12].text: email (starts " in message
    assert EMAIL not in message and CARD not in message
    assert EMAIL[:5] not in message
    assert "redact_cassette" in message


def test_finalise_refuses_a_leaky_cassette_and_leaves_nothing(
    cassette: Cassette, tmp_path: Path
) -> None:
    dirty = leaky(cassette)
    path = tmp_path / "leaky.retake"
    writer = CassetteWriter(path, dirty.header)
    for event in dirty.events:
        writer.append(event)
    with pytest.raises(LeakDetected):
        writer.finalise(check=assert_no_leaks)
    assert not path.exists()
    assert not partial_path(path).exists()


def test_finalise_accepts_a_redacted_cassette(cassette: Cassette, tmp_path: Path) -> None:
    clean = redact_cassette(leaky(cassette), Redactor(key=KEY))
    path = tmp_path / "clean.retake"
    writer = CassetteWriter(path, clean.header)
    for event in clean.events:
        writer.append(event)
    writer.finalise(check=assert_no_leaks)
    assert load(path) == clean
