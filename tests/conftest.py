"""Shared fixtures: one small, realistic cassette that holds every event kind."""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from retake.schema import (
    FORMAT_VERSION,
    Cassette,
    CassetteHeader,
    ErrorEvent,
    Event,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    OutputEvent,
    PermissionContext,
    PermissionEvent,
    ToolCallEvent,
    ToolCallRequest,
    ToolFailure,
    ToolResultEvent,
    ToolSpec,
    Usage,
    UserEvent,
)
from retake.store import _format, save

# When a Hypothesis test fails, its pytest plugin imports libcst to suggest a patch, and libcst
# warns on import (mypy_extensions.TypedDict); with warnings as errors that turns a readable
# failure into an INTERNALERROR. Import it once here, quietly.
with contextlib.suppress(ImportError), warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401


def make_header(session_id: str = "sess-0001") -> CassetteHeader:
    return CassetteHeader(
        session_id=session_id,
        agent="tests.agent:desk",
        release="desk-1.0",
        recorded_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        permission_context=PermissionContext(
            principal="agent-7", roles=("support_agent",), tenant="acme"
        ),
        tools=(
            ToolSpec(
                name="lookup_order",
                description="Look up an order.",
                parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
            ),
            ToolSpec(name="issue_refund", description="Refund an order.", effect="write"),
        ),
        tags={"task": "refund", "attempt": 1},
    )


def make_events() -> tuple[Event, ...]:
    """Twelve events, every kind at least once, with a growing conversation and a failure."""
    ask = "Order A-1042 arrived broken — please refund 240 €."
    system = Message(role="system", content="You are Acme's support desk.")
    user = Message(role="user", content=ask)
    lookup = ToolCallRequest(id="call_1", name="lookup_order", arguments={"order_id": "A-1042"})
    refund = ToolCallRequest(
        id="call_2", name="issue_refund", arguments={"order_id": "A-1042", "amount": 240.0}
    )
    order = {"order_id": "A-1042", "total": 240.0, "lines": [{"sku": "X", "qty": 2}], "raw": b"\0"}
    history1 = (system, user)
    history2 = (
        *history1,
        Message(role="assistant", tool_calls=(lookup,)),
        Message(role="tool", tool_call_id="call_1", content="{'order_id': 'A-1042'}"),
    )
    return (
        UserEvent(seq=0, t=0.0, text=ask),
        ModelEvent(
            seq=1,
            t=0.4,
            provider="openai-chat",
            span_id="s1",
            request=ModelRequest(
                model="m-1", messages=history1, tools=("lookup_order",), params={"seed": 7}
            ),
            response=ModelResponse(
                tool_calls=(lookup,), stop_reason="tool_calls", usage=Usage(input_tokens=9)
            ),
        ),
        ToolCallEvent(
            seq=2, t=0.41, call_id="call_1", tool="lookup_order", arguments={"order_id": "A-1042"}
        ),
        PermissionEvent(seq=3, t=0.41, call_id="call_1", tool="lookup_order", decision="allow"),
        ToolResultEvent(
            seq=4, t=0.45, call_id="call_1", tool="lookup_order", output=order, duration=0.031
        ),
        ModelEvent(
            seq=5,
            t=0.9,
            provider="openai-chat",
            span_id="s2",
            parent_id="s1",
            request=ModelRequest(model="m-1", messages=history2),
            response=ModelResponse(tool_calls=(refund,), stop_reason="tool_calls"),
        ),
        ToolCallEvent(seq=6, t=0.91, call_id="call_2", tool="issue_refund", arguments={"n": 1}),
        PermissionEvent(
            seq=7,
            t=0.91,
            call_id="call_2",
            tool="issue_refund",
            decision="deny",
            rule_id="refund.limit",
            reason="above 100 EUR",
        ),
        ToolResultEvent(
            seq=8,
            t=0.92,
            call_id="call_2",
            tool="issue_refund",
            failure=ToolFailure(type="denied", message="above 100 EUR", status_code=403),
        ),
        NoteEvent(seq=9, t=0.92, level="audit", call_id="call_2", message="refund denied"),
        OutputEvent(seq=10, t=1.5, text="A manager will contact you.", data={"escalated": True}),
        ErrorEvent(seq=11, t=1.6, type="builtins.RuntimeError", message="boom", traceback="..."),
    )


# Models are frozen, so the session-wide fixtures are safe to share (and Hypothesis tests may
# use them).


@pytest.fixture(scope="session")
def header() -> CassetteHeader:
    return make_header()


@pytest.fixture(scope="session")
def events() -> tuple[Event, ...]:
    return make_events()


@pytest.fixture(scope="session")
def cassette() -> Cassette:
    """A small, finalised-shape cassette with every event kind."""
    return Cassette(header=make_header(), events=make_events())


@pytest.fixture
def cassette_path(tmp_path: Path) -> Path:
    """Where a test may write a cassette: nothing exists there yet."""
    return tmp_path / "session.retake"


@pytest.fixture
def saved(cassette: Cassette, cassette_path: Path) -> Path:
    """The small cassette, saved (finalised) at ``cassette_path``."""
    return save(cassette, cassette_path)


def craft(
    header: dict[str, Any] | bytes,
    events: list[dict[str, Any] | bytes],
    *,
    version: int = FORMAT_VERSION,
    footer: bool = True,
) -> bytes:
    """The bytes of a cassette built frame by frame, with valid checksums (and footer).

    ``header`` and each event are a dict (packed with msgpack) or a raw payload.
    """
    payloads = [e if isinstance(e, bytes) else _format.pack(e) for e in events]
    head = header if isinstance(header, bytes) else _format.pack(header)
    body = _format.preamble(version) + _format.frame(_format.HEADER, head)
    body += b"".join(_format.frame(_format.EVENT, p) for p in payloads)
    if footer:
        summary = {"events": len(payloads), "sha256": hashlib.sha256(body).hexdigest()}
        body += _format.frame(_format.FOOTER, _format.pack(summary))
    return body


@pytest.fixture(name="craft", scope="session")
def craft_fixture() -> Callable[..., bytes]:
    """``craft(header, events, version=..., footer=...)``: hand-built cassette bytes."""
    return craft
