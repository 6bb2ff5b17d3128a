"""Old cassettes keep loading: one fixture file per format version, and the migration chain.

``tests/fixtures/formats/v1.retake`` was written once by retake's format-1 writer, and
``v2.retake`` by the format-2 writer; both are committed. Never regenerate one (their sha256
are pinned below). To add ``v3.retake`` when the format changes, add ``expected_v3`` and run
``python tests/unit/store/test_migrations.py`` with the new writer: it writes the fixture of the
current version if that file is missing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from retake.schema import (
    FORMAT_VERSION,
    Cassette,
    CassetteHeader,
    ErrorEvent,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    OutputEvent,
    PermissionContext,
    PermissionEvent,
    RedactionManifest,
    ToolCallEvent,
    ToolCallRequest,
    ToolFailure,
    ToolResultEvent,
    ToolSpec,
    Usage,
    UserEvent,
)
from retake.store import _format, _migrate, inspect, load, loads
from retake.store._migrate import Migration, upgrade

FORMATS = Path(__file__).parents[2] / "fixtures" / "formats"
V1 = FORMATS / "v1.retake"
V1_SHA256 = "e2ef08ede3937b5978aaea15c76c9c8001e9c837df3efc141cc8cc21748f55fa"
V2 = FORMATS / "v2.retake"
V2_SHA256 = "c7916ba5e72084a14b62ef5334657fe2d7807c00be0f86b2e7ea4c293a676213"


def expected_v1() -> Cassette:
    """Exactly what ``v1.retake`` holds: every event kind, requests sharing messages."""
    system = Message(role="system", content="You are the desk. Be brief.")
    ask = Message(role="user", content="Où est ma commande 7? 📦")
    call = ToolCallRequest(id="c1", name="lookup", arguments={"id": 7, "deep": [1, {"x": None}]})
    return Cassette(
        header=CassetteHeader(
            format_version=1,
            session_id="fixture-v1",
            agent="fixtures:agent",
            release="fixture-1.0",
            recorded_at=datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=UTC),
            permission_context=PermissionContext(
                principal="u-1",
                roles=("agent",),
                tenant="acme",
                scopes=("orders:read",),
                confirmations=("send_email",),
                attributes={"region": "eu"},
            ),
            tools=(
                ToolSpec(
                    name="lookup",
                    description="Look up an order.",
                    parameters={"type": "object", "properties": {"id": {"type": "integer"}}},
                ),
                ToolSpec(name="refund", effect="write"),
            ),
            redaction=RedactionManifest(
                applied=True,
                rule_set_version="r1",
                key_fingerprint="fp",
                counts={"email": 1},
                masked_whole=("events.3.output",),
            ),
            source="recorder",
            tags={"task": "where-is-my-order", "reward": 1.0},
        ),
        events=(
            UserEvent(seq=0, t=0.0, text=ask.content or ""),
            ModelEvent(
                seq=1,
                t=0.25,
                span_id="a",
                provider="openai-chat",
                request=ModelRequest(
                    model="m", messages=(system, ask), tools=("lookup",), params={"seed": 1}
                ),
                response=ModelResponse(
                    tool_calls=(call,),
                    stop_reason="tool_calls",
                    usage=Usage(input_tokens=30, output_tokens=5),
                ),
            ),
            ToolCallEvent(seq=2, t=0.26, call_id="c1", tool="lookup", arguments={"id": 7}),
            ToolResultEvent(
                seq=3,
                t=0.3,
                call_id="c1",
                tool="lookup",
                output={"id": 7, "status": "shipped", "blob": b"\x00\xff"},
                duration=0.04,
            ),
            PermissionEvent(
                seq=4,
                t=0.31,
                call_id="c2",
                tool="refund",
                decision="deny",
                rule_id="r.limit",
                reason="too much",
                policy_version="p1",
            ),
            ToolResultEvent(
                seq=5,
                t=0.31,
                call_id="c2",
                tool="refund",
                failure=ToolFailure(
                    type="rate_limited",
                    message="slow down",
                    status_code=429,
                    retry_after=2.5,
                    exception_type="x.RateLimited",
                ),
            ),
            NoteEvent(seq=6, t=0.32, level="audit", call_id="c2", message="n", data={"k": [1]}),
            ModelEvent(
                seq=7,
                t=0.6,
                span_id="b",
                parent_id="a",
                request=ModelRequest(
                    model="m",
                    messages=(
                        system,
                        ask,
                        Message(role="assistant", tool_calls=(call,)),
                        Message(role="tool", tool_call_id="c1", content="shipped", name="lookup"),
                        Message(role="user", parts=({"type": "image", "data": b"\x89PNG"},)),
                    ),
                ),
                response=ModelResponse(text="It has shipped.", stop_reason="stop"),
            ),
            OutputEvent(seq=8, t=0.61, text="It has shipped.", data={"status": "shipped"}),
            ErrorEvent(seq=9, t=0.7, type="x.Boom", message="late", traceback="Traceback ..."),
        ),
    )


LOOKUP = {"id": 8, "lines": [{"sku": "A-1", "price": 12.5, "qty": 2}], "note": "Café ☕"}
"""A tool output that JSON holds exactly: format 2 stores it as ``output_json``."""


def expected_v2() -> Cassette:
    """Exactly what ``v2.retake`` holds: format 1's content, then a JSON output echoed to the
    model in the spelling it is stored in and in a compact one."""
    v1 = expected_v1()
    system = Message(role="system", content="You are the desk. Be brief.")
    events = (
        ToolResultEvent(seq=10, t=0.8, call_id="c3", tool="lookup", output=LOOKUP),
        ToolResultEvent(seq=11, t=0.81, call_id="c4", tool="lookup", output=[1, 2.5, None]),
        ModelEvent(
            seq=12,
            t=0.9,
            request=ModelRequest(
                model="m",
                messages=(
                    system,
                    Message(role="tool", tool_call_id="c3", content=json.dumps(LOOKUP)),
                    Message(
                        role="tool",
                        tool_call_id="c3",
                        content=json.dumps(LOOKUP, separators=(",", ":"), ensure_ascii=False),
                    ),
                ),
            ),
            response=ModelResponse(text="Two of A-1.", stop_reason="stop"),
        ),
    )
    return Cassette(
        header=v1.header.model_copy(update={"format_version": 2, "session_id": "fixture-v2"}),
        events=v1.events + events,
    )


EXPECTED = {1: expected_v1, 2: expected_v2}


def _write_fixture() -> None:
    """Write the fixture of the current format version, if missing (never overwrite one)."""
    from retake.store import save

    path = FORMATS / f"v{FORMAT_VERSION}.retake"
    if not path.exists():
        save(EXPECTED[FORMAT_VERSION](), path)


# --- the committed fixtures -----------------------------------------------------------------


@pytest.mark.parametrize(("path", "sha256"), [(V1, V1_SHA256), (V2, V2_SHA256)])
def test_fixtures_are_the_committed_files(path: Path, sha256: str) -> None:
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, (
        f"tests/fixtures/formats/{path.name} changed: old fixtures are never regenerated; "
        "restore it from git"
    )


@pytest.mark.parametrize("version", [1, 2])
def test_each_fixture_loads_to_exactly_its_content(version: int) -> None:
    path = FORMATS / f"v{version}.retake"
    info = inspect(path)
    assert info.format_version == version
    assert info.complete and not info.repaired
    loaded = load(path)
    expected = EXPECTED[version]()
    assert loaded == expected.model_copy(
        update={"header": expected.header.model_copy(update={"format_version": FORMAT_VERSION})}
    )
    assert not loaded.truncated


def test_format_2_stores_a_json_output_once_as_text_and_shares_its_echo() -> None:
    raw = _format.unpack_events(
        [f for f in _format.scan(V2.read_bytes(), V2).frames if f.kind == _format.EVENT],
        path=V2,
    )
    assert raw[10]["output_json"] == json.dumps(LOOKUP) and "output" not in raw[10]
    assert "output_json" not in raw[3]  # bytes inside: msgpack keeps it
    # Both echoes are references; the stored text appears once in the file.
    assert V2.read_bytes().count(json.dumps(LOOKUP).encode()) == 1
    loaded = load(V2)
    result, model = loaded.events[10], loaded.events[12]
    assert isinstance(result, ToolResultEvent) and isinstance(model, ModelEvent)
    assert result.output == LOOKUP
    assert model.request.messages[1].content == json.dumps(LOOKUP)
    assert model.request.messages[2].content == json.dumps(
        LOOKUP, separators=(",", ":"), ensure_ascii=False
    )


def test_every_format_version_has_a_fixture_and_every_old_one_a_migration() -> None:
    for version in range(1, FORMAT_VERSION + 1):
        assert (FORMATS / f"v{version}.retake").is_file(), f"no fixture for format {version}"
        assert load(FORMATS / f"v{version}.retake").header.format_version == FORMAT_VERSION
    for version in range(1, FORMAT_VERSION):
        assert _migrate.MIGRATIONS[version].source == version


# --- the migration mechanism ----------------------------------------------------------------


def _rename(old: str, new: str) -> Any:
    def step(raw: dict[str, Any]) -> dict[str, Any]:
        if old in raw:
            raw = {**raw, new: raw[old]}
            del raw[old]
        return raw

    return step


@pytest.fixture
def pretend_version_3(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pretend the current format is 3, with steps 1->2 and 2->3 that log their calls."""
    log: list[str] = []

    def logged(name: str, step: Any) -> Any:
        def run(raw: dict[str, Any]) -> dict[str, Any]:
            log.append(name)
            return step(raw)

        return run

    monkeypatch.setattr(_migrate, "FORMAT_VERSION", 3)
    monkeypatch.setattr(_format, "FORMAT_VERSION", 3)
    monkeypatch.setattr(
        _migrate,
        "MIGRATIONS",
        {
            # format 1 called a note's text "note"; format 2 called it "body"
            1: Migration(1, logged("h1", lambda h: h), logged("e1", _rename("note", "body"))),
            2: Migration(2, logged("h2", lambda h: h), logged("e2", _rename("body", "message"))),
        },
    )
    return log


def test_upgrade_runs_every_step_in_order(pretend_version_3: list[str]) -> None:
    header, events = upgrade(1, {"format_version": 1}, [{"kind": "note", "note": "hi"}])
    assert header["format_version"] == 3
    assert events == [{"kind": "note", "message": "hi"}]
    assert pretend_version_3 == ["h1", "e1", "h2", "e2"]


def test_upgrade_from_the_middle_runs_only_the_later_steps(pretend_version_3: list[str]) -> None:
    _, events = upgrade(2, {"format_version": 2}, [{"kind": "note", "body": "hi"}])
    assert events == [{"kind": "note", "message": "hi"}]
    assert pretend_version_3 == ["h2", "e2"]


def test_upgrade_of_the_current_version_changes_nothing(pretend_version_3: list[str]) -> None:
    event = {"kind": "note", "message": "hi"}
    assert upgrade(3, {"format_version": 3}, [event]) == ({"format_version": 3}, [event])
    assert pretend_version_3 == []


def test_loading_an_old_file_migrates_it(
    pretend_version_3: list[str], craft: Any, header: CassetteHeader
) -> None:
    old_header = header.model_dump(mode="json") | {"format_version": 1}
    data = craft(old_header, [{"kind": "note", "seq": 0, "note": "from v1"}], version=1)
    loaded = loads(data)
    assert loaded.events == (NoteEvent(seq=0, message="from v1"),)
    assert loaded.header.format_version == 3
    assert loaded.header.session_id == header.session_id


def test_the_v1_fixture_loads_through_the_migration_chain(pretend_version_3: list[str]) -> None:
    loaded = load(V1)
    assert loaded.events == expected_v1().events
    assert loaded.header.format_version == 3
    assert pretend_version_3[:2] == ["h1", "e1"]


if __name__ == "__main__":
    _write_fixture()
