"""The real openai and anthropic SDKs over real loopback HTTP, recorded through the httpx
transport, and the same requests recorded through vcrpy: the same model events either way, and
no secret on disk.

The current SDKs are built on httpx2, which vcrpy does not patch; so the vcrpy path sends the
very request the SDK sent (its bytes, as the server saw them) with httpx, which vcrpy does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

import retake.capture as rc
from retake import redact, runner, store
from retake.pipeline import Recorder
from retake.schema import ModelEvent, Task
from tests.support import agents
from tests.support.model_server import model_server

KEY = redact.RedactionKey.from_text("tests-only key, not a secret")
API_KEY = "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA9z8y7x6w5"
SECRET_IN_TEXT = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with model_server() as served:
        yield served


def openai_call(base: str, transport: httpx2.BaseTransport | None, stream: bool) -> None:
    client = openai.OpenAI(
        api_key=API_KEY,
        base_url=f"{base}/v1",
        http_client=httpx2.Client(transport=transport) if transport else None,
        max_retries=0,
    )
    with client:
        kwargs: dict[str, Any] = {
            "model": "scripted-1",
            "messages": [
                {"role": "system", "content": "You are a support desk."},
                {"role": "user", "content": f"Where is A-1042? my aws key is {SECRET_IN_TEXT}"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "lookup_order",
                        "parameters": {"type": "object", "properties": {}},
                    },
                }
            ],
            "temperature": 0,
        }
        if stream:
            with client.chat.completions.create(stream=True, **kwargs) as chunks:
                calls = [c for chunk in chunks for c in (chunk.choices[0].delta.tool_calls or [])]
            assert calls[0].function is not None and calls[0].function.name == "lookup_order"
        else:
            completion = client.chat.completions.create(**kwargs)
            tool_calls = completion.choices[0].message.tool_calls
            assert tool_calls is not None and tool_calls[0].id == "call_lookup_1"


def anthropic_call(base: str, transport: httpx2.BaseTransport | None, stream: bool) -> None:
    client = anthropic.Anthropic(
        api_key="sk-ant-api03-" + "q" * 80,
        base_url=base,
        http_client=httpx2.Client(transport=transport) if transport else None,
        max_retries=0,
    )
    with client:
        kwargs: dict[str, Any] = {
            "model": "scripted-1",
            "max_tokens": 256,
            "system": "You are a support desk.",
            "messages": [{"role": "user", "content": f"Where is A-1042? key {SECRET_IN_TEXT}"}],
            "tools": [{"name": "lookup_order", "input_schema": {"type": "object"}}],
        }
        if stream:
            with client.messages.stream(**kwargs) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(**kwargs)
        assert message.content[0].type == "tool_use"


CALLERS: dict[str, Callable[[str, httpx2.BaseTransport | None, bool], None]] = {
    "openai-chat": openai_call,
    "anthropic-messages": anthropic_call,
}


def resend_with_httpx(base: str, seen: dict[str, Any]) -> None:
    """Send the request the SDK sent, byte for byte, with httpx (which vcrpy patches)."""
    skip = {"host", "content-length", "accept-encoding", "connection"}
    headers = {k: v for k, v in seen["headers"].items() if k.lower() not in skip}
    with httpx.Client() as client:
        response = client.post(base + seen["path"], content=seen["raw"], headers=headers)
        response.read()
    assert response.status_code == 200


def record(
    tmp_path: Path,
    server: tuple[str, list[dict[str, Any]]],
    provider: str,
    stream: bool,
    path: str,
) -> ModelEvent:
    base, seen = server
    recorder = Recorder(
        tmp_path / path, agent="tests", release="r1", redaction=redact.Redactor(key=KEY)
    )
    with recorder.session("where is my order?"):
        if path == "transport":
            CALLERS[provider](base, rc.Transport2(), stream)
        else:
            sdk_request = seen[-1]
            with rc.recording_http():
                resend_with_httpx(base, sdk_request)
    recorder.wait()
    (cassette_path,) = (tmp_path / path).glob("*.retake")
    raw = cassette_path.read_bytes()
    assert API_KEY.encode() not in raw, "the API key reached the file"
    assert SECRET_IN_TEXT.encode() not in raw, "a secret in the request/response reached the file"
    models = [e for e in store.load(cassette_path).events if isinstance(e, ModelEvent)]
    assert len(models) == 1
    return models[0]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("provider", sorted(CALLERS))
def test_transport_and_vcrpy_record_the_same_model_event(
    tmp_path: Path, server: tuple[str, list[dict[str, Any]]], provider: str, stream: bool
) -> None:
    by_transport = record(tmp_path, server, provider, stream, "transport")
    by_vcrpy = record(tmp_path, server, provider, stream, "vcrpy")

    for event in (by_transport, by_vcrpy):
        assert event.provider == provider
        (call,) = event.response.tool_calls
        assert call.name == "lookup_order"
        assert call.arguments["order_id"] == "A-1042"
        assert "<REDACTED:" in call.arguments["note"]  # the streamed secret was redacted
        assert event.request.model == "scripted-1"
        assert [m.role for m in event.request.messages][-1] == "user"
        assert event.http is not None and event.http.status == 200
        assert "authorization" not in event.http.request_headers or "<REDACTED" in (
            event.http.request_headers.get("authorization", "")
            + event.http.request_headers.get("x-api-key", "")
        )
    assert by_transport.request == by_vcrpy.request
    assert by_transport.response == by_vcrpy.response
    assert by_transport.http is not None and by_vcrpy.http is not None
    assert by_transport.http.response_body == by_vcrpy.http.response_body


def test_without_a_session_the_transport_only_forwards(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    base, seen = server
    before = len(seen)
    openai_call(base, rc.Transport2(), stream=False)
    assert len(seen) == before + 1


def test_vcrpy_replays_the_recorded_model_answers_without_sending(
    tmp_path: Path, server: tuple[str, list[dict[str, Any]]]
) -> None:
    base, seen = server
    agent = "tests.support.agents:chats_through_vcrpy"
    recorder = Recorder(tmp_path, agent=agent, release="r1", redaction=redact.Redactor(key=KEY))
    task = Task(user_turns=("where is my order?",), metadata={"base": base})
    with recorder.session(task) as session:
        assert session is not None
        session.output(agents.chats_through_vcrpy(task))
    recorder.wait()
    (path,) = tmp_path.glob("*.retake")
    recorded = store.load(path)
    sent = len(seen)

    outcome = runner.replay_cassette(recorded, runner.ReplayConfig(agent=agent))
    assert outcome.result.status == "completed", outcome.result.error
    assert outcome.result.answer == "lookup_order,lookup_order"
    assert len(seen) == sent  # answered from the cassette: nothing reached the server
    assert outcome.candidate is not None
    models = [e for e in outcome.candidate.events if isinstance(e, ModelEvent)]
    assert len(models) == 2  # the retry was asked for (and recorded) again
    assert [c.name for m in models for c in m.response.tool_calls] == ["lookup_order"] * 2
    assert not outcome.result.request_drift
