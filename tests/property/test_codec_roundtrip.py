"""Hypothesis: any session encodes and decodes to an equal cassette, in memory and on disk.

Model requests draw their messages from a shared pool, so requests overlap, repeat messages,
slide a window and reorder: every shape the message interning in ``_codec`` must survive.
"""

from __future__ import annotations

import contextlib
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retake.errors import RetakeError
from retake.schema import (
    EVENT_TYPES,
    Cassette,
    CassetteHeader,
    Event,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    PermissionContext,
    ToolCallRequest,
    ToolFailure,
    ToolResultEvent,
    ToolSpec,
    Usage,
)
from retake.store import CassetteWriter, dumps, load, loads

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(max_size=12)
names = st.text(min_size=1, max_size=8)
maybe_text = st.none() | text
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
offsets = st.floats(min_value=0, max_value=1e6, allow_nan=False)

# JSON-like values, plus bytes (tools return them); what arguments and outputs hold.
json_leaf = st.none() | st.booleans() | int64 | finite | text
json_like = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
value = st.recursive(
    json_leaf | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
value_dicts = st.dictionaries(text, value, max_size=3)
json_dicts = st.dictionaries(text, json_like, max_size=3)

tool_call_requests = st.builds(ToolCallRequest, id=names, name=names, arguments=value)
messages = st.builds(
    Message,
    role=st.sampled_from(["system", "developer", "user", "assistant", "tool"]),
    content=maybe_text,
    parts=st.lists(value_dicts, max_size=2).map(tuple),
    tool_calls=st.lists(tool_call_requests, max_size=2).map(tuple),
    tool_call_id=st.none() | names,
    name=st.none() | names,
)

headers = st.builds(
    CassetteHeader,
    session_id=names,
    agent=names,
    release=names,
    recorded_at=st.datetimes(
        min_value=datetime(1990, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
    ),
    permission_context=st.builds(
        PermissionContext,
        principal=st.none() | names,
        roles=st.lists(names, max_size=2).map(tuple),
        attributes=json_dicts,
    ),
    tools=st.lists(
        st.builds(
            ToolSpec,
            name=names,
            description=text,
            parameters=json_dicts,
            effect=st.sampled_from(["read", "write"]),
        ),
        max_size=2,
    ).map(tuple),
    tags=json_dicts,
)

failures = st.none() | st.builds(
    ToolFailure,
    type=st.sampled_from(["error", "timeout", "rate_limited", "denied", "malformed"]),
    message=text,
    status_code=st.none() | st.integers(100, 599),
    retry_after=st.none() | offsets,
)


@st.composite
def requests(draw: st.DrawFn, pool: list[Message]) -> ModelRequest:
    """A request whose messages overlap, repeat and slide over the session's pool."""
    start = draw(st.integers(0, len(pool)))
    # mostly the conversation so far (a growing or sliding window), sometimes a middle part
    end = draw(st.just(len(pool)) | st.integers(start, len(pool)))
    chosen = pool[start:end]
    chosen += draw(st.lists(st.sampled_from(pool), max_size=3))  # repeats, out of order
    if draw(st.booleans()):
        chosen = chosen[::-1]
    return ModelRequest(
        model=draw(st.none() | names),
        messages=tuple(chosen),
        tools=tuple(draw(st.lists(names, max_size=2))),
        params=draw(json_dicts),
    )


long_outputs = (
    st.text(min_size=64, max_size=90)
    | st.dictionaries(text, st.text(min_size=64, max_size=90), min_size=1, max_size=2)
    | st.lists(st.text(min_size=70, max_size=90), min_size=1, max_size=2)
)
"""Outputs long enough that the encoder stores a tool message repeating them as a reference."""

SPELLINGS = (
    json.dumps,
    lambda v: json.dumps(v, separators=(",", ":")),
    lambda v: json.dumps(v, ensure_ascii=False),
    lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
    lambda v: json.dumps(v, indent=2),  # not a spelling the encoder knows: stored as is
    lambda v: v if isinstance(v, str) else repr(v),
)


@st.composite
def sessions(draw: st.DrawFn) -> Cassette:
    pool = draw(st.lists(messages, min_size=1, max_size=6))
    common = {"t": offsets, "span_id": st.none() | names, "parent_id": st.none() | names}
    kinds = {
        "user": st.fixed_dictionaries({"text": text, **common}),
        "model": st.fixed_dictionaries(
            {
                "provider": st.none() | names,
                "response": st.builds(
                    ModelResponse,
                    text=maybe_text,
                    tool_calls=st.lists(tool_call_requests, max_size=2).map(tuple),
                    stop_reason=st.none() | names,
                    usage=st.none() | st.builds(Usage, input_tokens=st.none() | int64),
                ),
                **common,
            }
        ),
        "tool_call": st.fixed_dictionaries(
            {"call_id": names, "tool": names, "arguments": value_dicts, **common}
        ),
        "permission": st.fixed_dictionaries(
            {
                "call_id": st.none() | names,
                "tool": names,
                "decision": st.sampled_from(["allow", "deny", "ask"]),
                "reason": text,
                **common,
            }
        ),
        "tool_result": st.fixed_dictionaries(
            {
                "call_id": st.sampled_from(["call_1", "call_2"]) | names,
                "tool": names,
                "output": long_outputs | value,
                "failure": failures,
                "duration": offsets,
                **common,
            }
        ),
        "output": st.fixed_dictionaries({"text": text, "data": value, **common}),
        "error": st.fixed_dictionaries({"type": names, "message": text, **common}),
        "note": st.fixed_dictionaries(
            {"message": text, "level": names, "data": value_dicts, **common}
        ),
    }
    assert set(kinds) == set(EVENT_TYPES)  # a new kind must be generated here too
    chosen = draw(st.lists(st.sampled_from(sorted(kinds)), max_size=12))
    events: list[Event] = []
    for kind in chosen:
        fields = draw(kinds[kind])
        if kind == "model":
            fields["request"] = draw(requests(pool))
        event = EVENT_TYPES[kind](seq=len(events), **fields)  # type: ignore[arg-type]
        events.append(event)
        if isinstance(event, ToolResultEvent) and draw(st.booleans()):
            # the agent echoes the result to the model, in some spelling, maybe for another call
            spell = draw(st.sampled_from(SPELLINGS))
            with contextlib.suppress(TypeError, ValueError):
                content = spell(event.output)
                call_id = draw(st.sampled_from([event.call_id, event.call_id, "call_1"]))
                pool.append(Message(role="tool", tool_call_id=call_id, content=content))
    return Cassette(header=draw(headers), events=tuple(events))


@st.composite
def agent_loops(draw: st.DrawFn) -> Cassette:
    """Loop-shaped sessions: each tool result is echoed to the model in some spelling (or
    not), and each request resends the conversation so far through a sliding window."""
    history = draw(st.lists(messages, min_size=1, max_size=2))
    window = draw(st.integers(1, 6))
    events: list[Event] = []
    for step in range(draw(st.integers(1, 5))):
        call_id = f"call_{step % 2}"  # ids repeat across steps, as some providers do
        result = ToolResultEvent(
            seq=len(events), call_id=call_id, tool="t", output=draw(long_outputs | value)
        )
        events.append(result)
        spell = draw(st.sampled_from(SPELLINGS))
        with contextlib.suppress(TypeError, ValueError):
            history.append(Message(role="tool", tool_call_id=call_id, content=spell(result.output)))
        events.append(
            ModelEvent(
                seq=len(events),
                request=ModelRequest(messages=(history[0], *history[1:][-window:])),
                response=ModelResponse(text=draw(maybe_text)),
            )
        )
    return Cassette(header=draw(headers), events=tuple(events))


@SETTINGS
@given(agent_loops())
def test_agent_loops_with_echoed_results_round_trip(cassette: Cassette) -> None:
    assert loads(dumps(cassette)) == cassette


@SETTINGS
@given(sessions())
def test_dumps_then_loads_gives_an_equal_cassette(cassette: Cassette) -> None:
    loaded = loads(dumps(cassette))
    assert loaded == cassette
    assert not loaded.truncated


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
def test_encoding_is_deterministic(cassette: Cassette) -> None:
    assert dumps(cassette) == dumps(loads(dumps(cassette)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session=sessions())
def test_streaming_writer_then_load_gives_an_equal_cassette(
    session: Cassette, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("rt") / "s.retake"
    with CassetteWriter(path, session.header) as writer:
        writer.extend(session.events)
    assert load(path) == session
    assert path.read_bytes() == dumps(session)


def test_repeated_conversation_is_stored_once() -> None:
    """The size of a growing conversation stays linear: resent messages are references."""
    header = CassetteHeader(
        session_id="s", agent="a", release="r", recorded_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    big = [Message(role="user", content=f"{i}:" + "x" * 1000) for i in range(40)]
    events = [
        ModelEvent(
            seq=i, request=ModelRequest(messages=tuple(big[: i + 1])), response=ModelResponse()
        )
        for i in range(40)
    ]
    cassette = Cassette(header=header, events=tuple(events))
    size = len(dumps(cassette))
    assert size < 2 * 40 * 1000  # the naive encoding is ~ 40 * 41 / 2 * 1000 bytes
    loaded = loads(dumps(cassette))
    assert loaded == cassette
    # messages are shared objects after loading, not copies
    assert loaded.events[39].request.messages[0] is loaded.events[1].request.messages[0]


@pytest.mark.parametrize(
    "tag", [math.inf, b"\x00\xff", b"plain"], ids=["infinity", "binary", "ascii-bytes"]
)
def test_header_tags_are_never_silently_changed(tag: Any) -> None:
    """A header value round-trips exactly, or saving refuses it; it never comes back altered."""
    header = CassetteHeader(
        session_id="s",
        agent="a",
        release="r",
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        tags={"reward": tag},
    )
    cassette = Cassette(header=header, events=(NoteEvent(seq=0, message="m"),))
    try:
        data = dumps(cassette)
    except (RetakeError, ValueError, TypeError):
        return
    assert loads(data).header.tags == {"reward": tag}


@pytest.mark.parametrize(
    "output",
    [{1: "one"}, {"nested": {2: "two"}}],
    ids=["int-key", "nested-int-key"],
)
def test_a_tool_output_retake_writes_is_one_it_can_read(output: Any) -> None:
    """Tools return Python dicts; one retake accepts on write must load back, or be refused
    at write time, never written and then reported as a damaged file."""
    header = CassetteHeader(
        session_id="s", agent="a", release="r", recorded_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    cassette = Cassette(
        header=header,
        events=(ToolResultEvent(seq=0, call_id="c", tool="t", output=output),),
    )
    try:
        data = dumps(cassette)
    except (RetakeError, ValueError, TypeError):
        return
    assert loads(data) == cassette


def test_tool_messages_echoing_a_result_round_trip_and_are_not_stored_twice() -> None:
    output = {"order_id": "A-1", "lines": [{"note": "é" * 40, "qty": 2}], "status": "shipped"}
    header = CassetteHeader(
        session_id="s", agent="a", release="r", recorded_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    spelled = [spell(output) for spell in SPELLINGS[:4]]
    events: list[Event] = [ToolResultEvent(seq=0, call_id="c1", tool="t", output=output)]
    for text_ in spelled:
        message = Message(role="tool", tool_call_id="c1", content=text_)
        events.append(
            ModelEvent(
                seq=len(events),
                request=ModelRequest(messages=(message,)),
                response=ModelResponse(),
            )
        )
    cassette = Cassette(header=header, events=tuple(events))
    data = dumps(cassette)
    assert loads(data) == cassette
    # Format 2 stores the output as its json.dumps text, once; every echo is a reference.
    assert data.count(spelled[0].encode()) == 1
    assert all(text_.encode() not in data for i, text_ in enumerate(spelled) if i)


# Values in every corner the JSON encoder spells its own way: NaN and infinities, -0.0,
# non-ASCII and lone surrogates, keys that are not text (json writes 1, None and 2.5 as text).
odd_json = st.recursive(
    st.none() | st.booleans() | int64 | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.none() | st.booleans() | int64 | st.floats() | text, inner, max_size=3)
    ),
    max_leaves=10,
)


@SETTINGS
@given(value=odd_json, spell=st.sampled_from(SPELLINGS[:4]))
def test_an_echoed_tool_message_loads_with_the_exact_text_the_agent_sent(
    value: Any, spell: Any
) -> None:
    output = {"padding": "x" * 64, "value": value}  # long enough to be stored as a reference
    try:
        content = spell(output)
    except (TypeError, ValueError):
        return
    header = CassetteHeader(
        session_id="s", agent="a", release="r", recorded_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    message = Message(role="tool", tool_call_id="c1", content=content)
    cassette = Cassette(
        header=header,
        events=(
            ToolResultEvent(seq=0, call_id="c1", tool="t", output=output),
            ModelEvent(seq=1, request=ModelRequest(messages=(message,)), response=ModelResponse()),
        ),
    )
    data = dumps(cassette)
    # Stored once at most (as the output's own text, when JSON holds it exactly), never twice.
    assert data.count(content.encode("utf-8", "surrogatepass")) <= 1
    loaded = loads(data)
    assert isinstance(loaded.events[1], ModelEvent)
    assert loaded.events[1].request.messages[0].content == content
