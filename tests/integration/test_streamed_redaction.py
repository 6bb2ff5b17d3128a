"""A secret the model streams in pieces: no detector sees it in the raw stream, so redaction
drops the stream and replay serves one rendered from the redacted response."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from retake import capture, player, store
from retake.capture._providers import OpenAIChatAdapter
from retake.redact import RedactionKey, Redactor, redact_cassette, scan_cassette
from retake.schema import Cassette, CassetteHeader, HttpExchange, ModelEvent, Task

KEY = RedactionKey(b"stream-test-key-0123456789abcdef", "given")
HEAD, TAIL = "sk-proj-Ab3_dEf-GhIj", "KlMnOpQrStUvWxYz0123"
URL = "https://api.openai.com/v1/chat/completions"


def _chunk(delta: dict[str, object], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n"


STREAM = (
    _chunk({"role": "assistant", "content": f"Your key is {HEAD}"})
    + _chunk({"content": f"{TAIL}, keep it safe."})
    + _chunk({}, "stop")
    + "data: [DONE]\n\n"
).encode()


def _recorded() -> Cassette:
    request_body = json.dumps({"model": "gpt-4o", "messages": [], "stream": True})
    request, response = OpenAIChatAdapter().parse(request_body, STREAM, {})
    assert response.text == f"Your key is {HEAD}{TAIL}, keep it safe."
    event = ModelEvent(
        seq=0,
        provider="openai-chat",
        request=request,
        response=response,
        http=HttpExchange(
            url=URL,
            response_headers={"content-type": "text/event-stream"},
            response_body=STREAM,
        ),
    )
    header = CassetteHeader(
        session_id="streamed",
        agent="tests:agent",
        release="r1",
        recorded_at=datetime(2026, 11, 27, tzinfo=UTC),
    )
    return Cassette(header=header, events=(event,))


def test_a_secret_split_across_stream_deltas_never_reaches_the_file(tmp_path: Path) -> None:
    redacted = redact_cassette(_recorded(), Redactor(key=KEY))
    path = store.save(redacted, tmp_path / "streamed.retake")
    data = path.read_bytes()
    assert HEAD.encode() not in data and TAIL.encode() not in data
    assert not scan_cassette(store.load(path))
    (event,) = store.load(path).events
    assert isinstance(event, ModelEvent) and event.http is not None
    assert event.http.response_body == b""
    assert event.response.text is not None and HEAD not in event.response.text
    assert any("response_body" in m for m in redacted.header.redaction.masked_whole)


def test_replay_serves_the_dropped_stream_as_a_stream_of_the_redacted_text() -> None:
    redacted = redact_cassette(_recorded(), Redactor(key=KEY))
    (event,) = redacted.events
    assert isinstance(event, ModelEvent)
    recording = capture.RecordingSession(lambda _: None, Task(user_turns=("p",)))
    answering = player.Player(redacted, recording, render=capture.render_model_event)
    call = capture.HttpCall("POST", URL, {}, b'{"model": "gpt-4o", "messages": [], "stream": true}')
    answer = answering.http(call, lambda: (_ for _ in ()).throw(AssertionError("sent")))
    body = b"".join(answer.stream)  # type: ignore[arg-type]
    assert answer.headers["content-type"].startswith("text/event-stream")
    _, served = OpenAIChatAdapter().parse(call.body, body, answer.headers)
    assert served.text == event.response.text
