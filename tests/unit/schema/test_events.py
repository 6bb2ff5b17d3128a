"""The event schema: every kind validates, round-trips, is frozen and strict."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from retake.report import event_summary
from retake.schema import (
    EVENT_TYPES,
    Cassette,
    CassetteHeader,
    Event,
    EventAdapter,
    NoteEvent,
    ToolFailure,
    ToolResultEvent,
    UserEvent,
)

KINDS = sorted(EVENT_TYPES)


def _by_kind(events: tuple[Event, ...]) -> dict[str, Event]:
    found: dict[str, Event] = {}
    for event in events:
        found.setdefault(event.kind, event)
    return found


def test_the_fixture_session_holds_every_kind(events: tuple[Event, ...]) -> None:
    assert set(_by_kind(events)) == set(EVENT_TYPES)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_through_python_and_json(
    kind: str, events: tuple[Event, ...]
) -> None:
    event = _by_kind(events)[kind]
    assert isinstance(event, EVENT_TYPES[kind])
    assert EventAdapter.validate_python(event.model_dump()) == event
    # JSON turns bytes into text, so compare JSON to JSON for that leg.
    again = EventAdapter.validate_json(event.model_dump_json())
    assert type(again) is type(event)
    assert again.model_dump_json() == event.model_dump_json()


@pytest.mark.parametrize("kind", KINDS)
def test_the_discriminator_picks_the_class_from_kind(kind: str, events: tuple[Event, ...]) -> None:
    data = _by_kind(events)[kind].model_dump()
    assert type(EventAdapter.validate_python(data)) is EVENT_TYPES[kind]


def test_an_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValidationError, match="kind"):
        EventAdapter.validate_python({"kind": "telepathy", "seq": 0})


@pytest.mark.parametrize("kind", KINDS)
def test_events_are_frozen(kind: str, events: tuple[Event, ...]) -> None:
    event = _by_kind(events)[kind]
    with pytest.raises(ValidationError, match="frozen"):
        event.seq = 99  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        event.t = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_field_is_rejected(kind: str, events: tuple[Event, ...]) -> None:
    data: dict[str, Any] = _by_kind(events)[kind].model_dump()
    data["from_a_newer_writer"] = 1
    with pytest.raises(ValidationError, match="from_a_newer_writer"):
        EventAdapter.validate_python(data)


def test_unknown_header_field_is_rejected(header: CassetteHeader) -> None:
    data = header.model_dump()
    data["colour"] = "blue"
    with pytest.raises(ValidationError, match="colour"):
        CassetteHeader.model_validate(data)


def test_a_negative_seq_is_rejected() -> None:
    with pytest.raises(ValidationError, match="seq"):
        UserEvent(seq=-1, text="hi")


@pytest.mark.parametrize("seqs", [(1,), (0, 2), (0, 1, 1), (1, 0)])
def test_cassette_rejects_gaps_and_disorder_in_seq(
    header: CassetteHeader, seqs: tuple[int, ...]
) -> None:
    events = tuple(NoteEvent(seq=s, message=f"n{s}") for s in seqs)
    with pytest.raises(ValidationError, match="seq="):
        Cassette(header=header, events=events)


def test_cassette_accepts_numbered_events_and_round_trips(cassette: Cassette) -> None:
    assert [e.seq for e in cassette.events] == list(range(len(cassette.events)))
    assert Cassette.model_validate(cassette.model_dump()) == cassette
    assert not cassette.truncated


def test_header_defaults_to_the_current_format_version(header: CassetteHeader) -> None:
    from retake.schema import FORMAT_VERSION

    assert header.format_version == FORMAT_VERSION
    assert next(iter(CassetteHeader.model_fields)) == "format_version"


def test_tool_result_status_is_ok_or_the_failure_type() -> None:
    ok = ToolResultEvent(seq=0, call_id="c", tool="t", output={"a": 1})
    assert ok.status == "ok"
    for failure in ("error", "timeout", "rate_limited", "denied", "malformed"):
        failed = ToolResultEvent(
            seq=0, call_id="c", tool="t", failure=ToolFailure(type=failure, message="x")
        )
        assert failed.status == failure


def test_an_unknown_failure_type_is_rejected() -> None:
    with pytest.raises(ValidationError, match="type"):
        ToolFailure(type="exploded")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()), ids=KINDS)
def test_every_field_is_documented(cls: type) -> None:
    undocumented = [
        name
        for name, field in cls.model_fields.items()  # type: ignore[attr-defined]
        if name != "kind" and not field.description
    ]
    assert undocumented == []


@pytest.mark.parametrize("kind", KINDS)
def test_tripwire_every_kind_has_a_timeline_row(kind: str, events: tuple[Event, ...]) -> None:
    tool, detail, status = event_summary(_by_kind(events)[kind])
    assert all(isinstance(part, str) for part in (tool, detail, status))


def test_tripwire_show_kind_filter_offers_every_kind() -> None:
    from retake.cli._show import KINDS as SHOW_KINDS

    assert sorted(SHOW_KINDS) == KINDS
