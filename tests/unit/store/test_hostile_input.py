"""Hostile input: whatever the bytes, loading raises a retake error or returns a true cassette.

Never another exception, never a hang, never a big allocation, and a damaged or foreign file
is never read as empty or as a different session.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retake.errors import (
    CassetteLimitExceeded,
    CassetteNotFound,
    CorruptCassette,
    NotACassette,
    RetakeError,
    TruncatedCassette,
    UnsupportedFormatVersion,
)
from retake.schema import (
    FORMAT_VERSION,
    Cassette,
    CassetteHeader,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ToolResultEvent,
)
from retake.store import CassetteWriter, _format, dumps, inspect, load, loads, save
from retake.store._codec import Decoder, Encoder

FOREIGN = Path(__file__).parents[2] / "fixtures" / "foreign"
Craft = Callable[..., bytes]


def _load_both_ways(data: bytes) -> list[Cassette]:
    """Load strictly and with allow_truncated; only retake errors may escape."""
    loaded = []
    for allow in (False, True):
        with contextlib.suppress(RetakeError):
            loaded.append(loads(data, allow_truncated=allow))
    return loaded


def _is_prefix(loaded: Cassette, original: Cassette) -> bool:
    n = len(loaded.events)
    return loaded.header == original.header and loaded.events == original.events[:n]


def _encoded(cassette: Cassette) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    encoder = Encoder()
    return (
        cassette.header.model_dump(mode="json"),
        [encoder.encode(event) for event in cassette.events],
    )


def _peak_bytes(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


# --- random bytes ---------------------------------------------------------------------------

hostile_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@hostile_settings
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_retake_errors(data: bytes) -> None:
    _load_both_ways(data)


@hostile_settings
@given(st.binary(max_size=600))
def test_random_bytes_after_the_preamble_raise_only_retake_errors(data: bytes) -> None:
    _load_both_ways(_format.preamble() + data)


msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text()
    | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["user", "model", "tool_result", "note", "x"]),
        "seq": st.integers(-(2**63), 2**63 - 1),
    },
    optional={
        "text": msgpack_values,
        "message": msgpack_values,
        "request": st.dictionaries(
            st.sampled_from(["new_messages", "message_refs", "model", "messages"]),
            msgpack_values
            | st.lists(
                st.fixed_dictionaries(
                    {"role": st.just("tool"), "tool_call_id": msgpack_values},
                    optional={"content_echo": st.lists(st.integers(-2, 6), max_size=3)},
                ),
                max_size=2,
            ),
        ),
        "response": msgpack_values,
        "call_id": msgpack_values,
        "tool": msgpack_values,
        # format 2's JSON-text output, and an echo of it
        "output_json": msgpack_values | st.sampled_from(["[1, 2]", '{"a": ', "[[[", '"x"']),
        "content_echo": msgpack_values,
    },
)


@hostile_settings
@given(events=st.lists(event_like | msgpack_values, max_size=4), footer=st.booleans())
def test_well_framed_nonsense_raises_only_retake_errors(
    events: list[Any], footer: bool, cassette: Cassette, craft: Craft
) -> None:
    header, _ = _encoded(cassette)
    data = craft(header, [msgpack.packb(e) for e in events], footer=footer)
    for loaded in _load_both_ways(data):
        assert loaded.header == cassette.header


@hostile_settings
@given(payload=st.binary(max_size=200), where=st.sampled_from(["header", "event"]))
def test_random_payload_with_a_valid_checksum_raises_only_retake_errors(
    payload: bytes, where: str, cassette: Cassette, craft: Craft
) -> None:
    header, events = _encoded(cassette)
    data = craft(payload, events) if where == "header" else craft(header, [*events[:3], payload])
    _load_both_ways(data)


# --- truncation -----------------------------------------------------------------------------


def test_every_truncation_point_is_refused_strictly(cassette: Cassette) -> None:
    data = dumps(cassette)
    for cut in range(len(data)):
        with pytest.raises((TruncatedCassette, CorruptCassette, NotACassette)):
            loads(data[:cut])


def test_every_truncation_point_loads_a_prefix_with_the_flag(cassette: Cassette) -> None:
    data = dumps(cassette)
    loaded_counts = []
    for cut in range(len(data)):
        try:
            loaded = loads(data[:cut], allow_truncated=True)
        except RetakeError:
            loaded_counts.append(-1)
            continue
        assert loaded.truncated
        assert _is_prefix(loaded, cassette), cut
        loaded_counts.append(len(loaded.events))
    # every event becomes loadable at some cut, and never un-loadable after that
    survivors = [n for n in loaded_counts if n >= 0]
    assert survivors == sorted(survivors)
    assert set(range(len(cassette.events) + 1)) <= set(survivors)


def test_truncated_error_says_how_many_events_survived(cassette: Cassette) -> None:
    data = dumps(cassette)
    scan = _format.scan(data, None)
    after_event_4 = scan.frames[5].end  # header + events 0..4
    with pytest.raises(TruncatedCassette, match="5 events survived") as caught:
        loads(data[: after_event_4 + 3])
    assert caught.value.events == 5
    assert "allow_truncated" in str(caught.value)
    assert "retake repair" in str(caught.value)


@pytest.mark.parametrize("data", [b"", _format.MAGIC, _format.preamble()])
def test_an_empty_or_headerless_file_is_never_read_as_empty(data: bytes) -> None:
    for allow in (False, True):
        with pytest.raises((NotACassette, CorruptCassette, TruncatedCassette)):
            loads(data, allow_truncated=allow)


# --- flipped bytes --------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0x01, 0x02, 0x80, 0xFF])
def test_a_flipped_byte_is_never_accepted_as_a_different_cassette(
    mask: int, cassette: Cassette
) -> None:
    data = dumps(cassette)
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= mask
        try:
            loaded = loads(bytes(damaged))
        except RetakeError:
            pass
        else:
            assert loaded == cassette, f"byte {position} ^ {mask:#x} read as another session"
        try:
            loaded = loads(bytes(damaged), allow_truncated=True)
        except RetakeError:
            pass
        else:
            assert _is_prefix(loaded, cassette), f"byte {position} ^ {mask:#x}"


def test_a_flipped_byte_in_an_amended_cassette_is_never_accepted_as_different(
    cassette: Cassette, tmp_path: Path
) -> None:
    """Files whose header was amended at finalise (an extra frame) are as well protected."""
    path = tmp_path / "amended.retake"
    writer = CassetteWriter(path, cassette.header)
    writer.extend(cassette.events[:4])
    writer.finalise(amend={"tags": {"amended": True}})
    data = path.read_bytes()
    original = loads(data)
    assert original.header.tags == {"amended": True}
    for position in range(len(data)):
        for mask in (0x01, 0xFF):
            damaged = bytearray(data)
            damaged[position] ^= mask
            try:
                loaded = loads(bytes(damaged))
            except RetakeError:
                continue
            assert loaded == original, f"byte {position} ^ {mask:#x} read as another session"


def test_a_flipped_byte_in_a_partial_recording_is_caught_by_the_frame_checksum(
    cassette: Cassette, craft: Craft
) -> None:
    header, events = _encoded(cassette)
    data = craft(header, events, footer=False)
    middle = _format.scan(data, None).frames[3]
    damaged = bytearray(data)
    damaged[middle.start + _format.FRAME_OVERHEAD + 2] ^= 0x20
    with pytest.raises(CorruptCassette, match="checksum"):
        loads(bytes(damaged), allow_truncated=True)


# --- declared sizes and nesting -------------------------------------------------------------


def test_a_frame_declaring_4_gib_is_refused_without_allocating(
    cassette: Cassette, craft: Craft
) -> None:
    header, events = _encoded(cassette)
    data = craft(header, events[:2], footer=False)
    data += struct.pack(">cII", b"E", 2**32 - 1, 0) + b"\x90" * 64
    for allow in (False, True):

        def attempt(allow: bool = allow) -> None:
            with pytest.raises(CassetteLimitExceeded, match="declares a frame"):
                loads(data, allow_truncated=allow)

        peak = _peak_bytes(attempt)
        assert peak < 50 * 2**20


@pytest.mark.parametrize(
    "declared",
    [
        b"\xdb\xff\xff\xff\xff",  # str 32
        b"\xc6\xff\xff\xff\xff",  # bin 32
        b"\xdd\xff\xff\xff\xff",  # array 32
        b"\xdf\xff\xff\xff\xff",  # map 32
    ],
    ids=["str", "bin", "array", "map"],
)
@pytest.mark.parametrize("where", ["header", "event", "nested"])
def test_a_payload_declaring_4_gib_is_refused_without_allocating(
    declared: bytes, where: str, cassette: Cassette, craft: Craft
) -> None:
    header, events = _encoded(cassette)
    tail = declared + b"\x00" * 16
    if where == "header":
        data = craft(tail, events)
    elif where == "event":
        data = craft(header, [*events[:2], tail])
    else:
        prefix = msgpack.packb({"kind": "tool_result", "seq": 2, "call_id": "c", "tool": "t"})
        data = craft(header, [*events[:2], b"\x85" + prefix[1:] + msgpack.packb("output") + tail])

    def attempt() -> None:
        with pytest.raises(CorruptCassette):  # CassetteLimitExceeded is one
            loads(data)

    assert _peak_bytes(attempt) < 50 * 2**20


@pytest.mark.parametrize("container", [b"\x91", b"\x81\xa1k"], ids=["lists", "maps"])
def test_nesting_10000_deep_with_a_valid_checksum_is_a_retake_error(
    container: bytes, cassette: Cassette, craft: Craft
) -> None:
    header, events = _encoded(cassette)
    prefix = msgpack.packb({"kind": "tool_result", "seq": 2, "call_id": "c", "tool": "t"})
    deep = b"\x85" + prefix[1:] + msgpack.packb("output") + container * 10_000 + b"\xc0"
    finalised = craft(header, [*events[:2], deep])
    for allow in (False, True):
        with pytest.raises(CassetteLimitExceeded, match="event 2"):
            loads(finalised, allow_truncated=allow)
    partial = craft(header, [*events[:2], deep], footer=False)
    with pytest.raises(TruncatedCassette):
        loads(partial)
    with pytest.raises(CassetteLimitExceeded, match="event 2"):
        loads(partial, allow_truncated=True)


def test_nesting_10000_deep_header_is_a_retake_error(cassette: Cassette, craft: Craft) -> None:
    _, events = _encoded(cassette)
    with pytest.raises(CassetteLimitExceeded, match="nests deeper"):
        loads(craft(b"\x91" * 10_000 + b"\xc0", events))


def test_a_tool_message_echoing_an_output_too_deep_for_json_is_corrupt(
    cassette: Cassette, craft: Craft
) -> None:
    """msgpack reads nesting the JSON encoder cannot spell; the echo must fail as damage."""
    header, _ = _encoded(cassette)
    deep: Any = None
    for _ in range(1_020):  # within msgpack's limit, beyond Python's default recursion limit
        deep = [deep]
    result = {"kind": "tool_result", "seq": 0, "call_id": "c", "tool": "t", "output": deep}
    echo = {"role": "tool", "tool_call_id": "c", "content_echo": [0, 1]}
    request = {"new_messages": [echo], "message_refs": [0]}
    model = {"kind": "model", "seq": 1, "request": request, "response": {}}
    for allow in (False, True):
        with pytest.raises(CorruptCassette, match="event 1: a tool message refers"):
            loads(craft(header, [result, model]), allow_truncated=allow)


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({"output_json": 7}, "malformed output_json"),
        ({"output_json": '{"a": '}, "output_json is not JSON"),
        ({"output_json": "[" * 1_024 + "]" * 1_024}, None),  # as deep as msgpack allows
        ({"output_json": "[1]", "output": [1]}, "malformed output_json"),
        ({"output_json": "[" * 1_025 + "]" * 1_025}, "output_json is not JSON, or nests too"),
        ({"output_json": "[" * 1_000_000 + "]" * 1_000_000}, "output_json is not JSON, or nests"),
    ],
)
def test_a_damaged_output_json_is_corrupt(
    cassette: Cassette, craft: Craft, event: dict[str, Any], why: str | None
) -> None:
    header, _ = _encoded(cassette)
    result = {"kind": "tool_result", "seq": 0, "call_id": "c", "tool": "t", **event}
    for allow in (False, True):
        if why is None:
            assert loads(craft(header, [result]), allow_truncated=allow).events
            continue
        with pytest.raises(CorruptCassette, match=f"event 0: {why}"):
            loads(craft(header, [result]), allow_truncated=allow)


def test_output_json_with_many_brackets_but_shallow_loads(cassette: Cassette, craft: Craft) -> None:
    header, _ = _encoded(cassette)
    text = json.dumps([[{"a": "[[{{"}] for _ in range(2_000)])  # 6,001 brackets, 3 deep
    result = {"kind": "tool_result", "seq": 0, "call_id": "c", "tool": "t", "output_json": text}
    loaded = loads(craft(header, [result]))
    assert loaded.events[0] == ToolResultEvent(
        seq=0, call_id="c", tool="t", output=json.loads(text)
    )


def test_output_json_on_another_kind_of_event_is_corrupt(cassette: Cassette, craft: Craft) -> None:
    header, _ = _encoded(cassette)
    note = {"kind": "note", "seq": 0, "message": "m", "output_json": "[1]"}
    with pytest.raises(CorruptCassette, match="event 0: malformed output_json"):
        loads(craft(header, [note]))


PAD = "x" * 80
"""Makes an output long enough that its length is not what keeps it in msgpack."""


@pytest.mark.parametrize(
    ("output", "as_text"),
    [
        ({"nan": math.nan, "pad": PAD}, False),  # parses back unequal
        ({1: "one", "pad": PAD}, False),  # a key JSON would turn into "1"
        ({"blob": b"\x00", "pad": PAD}, False),
        ({"pair": (1, 2), "pad": PAD}, False),  # a tuple JSON would turn into a list
        ({"big": 2**64, "pad": PAD}, False),  # orjson would read a float that equals it
        ({"big": 2**64 - 1, "pad": PAD}, True),
        ({"ok": [1, 2.5, None, True, "é"]}, False),  # short: no echo would refer to it
        ({"ok": [1, 2.5, None, True, "é", -0.0, 1e16], "pad": PAD}, True),
    ],
)
def test_outputs_are_stored_as_json_text_only_when_it_gives_them_back_exactly(
    output: Any, as_text: bool
) -> None:
    event = ToolResultEvent(seq=0, call_id="c", tool="t", output=output)
    data = Encoder().encode(event)
    assert ("output_json" in data) is as_text
    if as_text:
        assert data["output_json"] == json.dumps(output)
        assert "output" not in data
        assert _decoded_output(data) == output
    else:
        assert "output" in data  # as it is, for msgpack


def _decoded_output(data: dict[str, Any]) -> Any:
    """The output the decoder rebuilds from one encoded tool result, types compared too."""
    (event,) = Decoder().decode([dict(data, seq=0)])
    assert isinstance(event, ToolResultEvent)
    assert json.dumps(event.output) == data["output_json"]  # an int stays an int
    return event.output


def test_a_format_1_cassette_is_written_without_format_2_fields(
    cassette: Cassette, tmp_path: Path
) -> None:
    """A file that says format 1 must be readable by a format-1 retake, which refuses fields
    it does not know."""
    output = {"lines": [{"sku": f"A-{i}", "qty": i} for i in range(8)], "status": "shipped"}
    event = ToolResultEvent(seq=0, call_id="c", tool="t", output=output)
    assert "output_json" in Encoder().encode(event)
    assert "output_json" not in Encoder(version=1).encode(event)
    old = Cassette(header=cassette.header.model_copy(update={"format_version": 1}), events=(event,))
    path = save(old, tmp_path / "v1.retake")
    assert inspect(path).format_version == 1
    assert b"output_json" not in path.read_bytes()
    assert load(path).events == (event,)


def _header() -> CassetteHeader:
    return CassetteHeader(
        session_id="s", agent="a", release="r", recorded_at=datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_echoes_of_one_output_share_one_string() -> None:
    """An output stored as text is held once in memory too: each echo is that string."""
    output = {"lines": [{"sku": f"A-{i}", "qty": i} for i in range(8)], "status": "shipped"}
    text = json.dumps(output)
    echoes = tuple(
        Message(role="tool", tool_call_id="c", content=text, name=name) for name in ("a", "b")
    )
    cassette = Cassette(
        header=_header(),
        events=(
            ToolResultEvent(seq=0, call_id="c", tool="t", output=output),
            ModelEvent(seq=1, request=ModelRequest(messages=echoes), response=ModelResponse()),
        ),
    )
    loaded = loads(dumps(cassette))
    assert loaded == cassette
    model = loaded.events[1]
    assert isinstance(model, ModelEvent)
    first, second = model.request.messages
    assert first.content is second.content


def test_extension_types_are_refused(cassette: Cassette, craft: Craft) -> None:
    header, _events = _encoded(cassette)
    ext = msgpack.packb({"kind": "note", "seq": 0, "message": msgpack.ExtType(5, b"x")})
    with pytest.raises(CorruptCassette, match="extension type"):
        loads(craft(header, [ext]))


# --- foreign files, versions, schema --------------------------------------------------------


def test_a_vcrpy_yaml_cassette_is_not_a_cassette(tmp_path: Path) -> None:
    path = next(FOREIGN.glob("*.yaml"))
    for allow in (False, True):
        with pytest.raises(NotACassette) as caught:
            load(path, allow_truncated=allow)
        assert str(path) in str(caught.value)
        assert caught.value.path == path


@pytest.mark.parametrize(
    "data", [b"{}", b'{"header": {}, "events": []}', b"\x89PNG\r\n\x1a\n" + b"\0" * 40]
)
def test_other_kinds_of_file_are_not_cassettes(data: bytes) -> None:
    with pytest.raises(NotACassette, match="not a retake cassette"):
        loads(data)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0xFFFF, 0])
def test_an_unknown_format_version_is_refused(
    version: int, cassette: Cassette, craft: Craft, tmp_path: Path
) -> None:
    header, events = _encoded(cassette)
    header["format_version"] = version
    path = tmp_path / "future.retake"
    path.write_bytes(craft(header, events, version=version))
    for allow in (False, True):
        with pytest.raises(UnsupportedFormatVersion, match=f"format_version={version}") as caught:
            load(path, allow_truncated=allow)
        assert str(path) in str(caught.value)
    if version > FORMAT_VERSION:
        assert "Upgrade retake" in str(caught.value)


def test_header_and_preamble_disagreeing_on_the_version_is_corrupt(
    cassette: Cassette, craft: Craft
) -> None:
    header, events = _encoded(cassette)
    header["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(CorruptCassette, match="format_version"):
        loads(craft(header, events))


def test_an_unknown_event_field_is_corrupt_and_names_the_event(
    cassette: Cassette, craft: Craft, tmp_path: Path
) -> None:
    header, events = _encoded(cassette)
    events[3]["from_the_future"] = True
    path = tmp_path / "odd.retake"
    path.write_bytes(craft(header, events))
    with pytest.raises(CorruptCassette) as caught:
        load(path)
    message = str(caught.value)
    assert "event 3" in message
    assert "from_the_future" in message
    assert str(path) in message


def test_an_unknown_header_field_is_corrupt(cassette: Cassette, craft: Craft) -> None:
    header, events = _encoded(cassette)
    header["colour"] = "blue"
    with pytest.raises(CorruptCassette, match="colour"):
        loads(craft(header, events))


@pytest.mark.parametrize("refs", [[99], [-1], ["a"], 7, [1.5]])
def test_a_request_referring_to_an_unstored_message_is_corrupt(
    refs: Any, cassette: Cassette, craft: Craft
) -> None:
    header, events = _encoded(cassette)
    events[1]["request"]["message_refs"] = refs
    with pytest.raises(CorruptCassette):
        loads(craft(header, events))


def test_a_seq_gap_on_disk_is_corrupt(cassette: Cassette, craft: Craft) -> None:
    header, events = _encoded(cassette)
    del events[4]
    with pytest.raises(CorruptCassette, match="seq"):
        loads(craft(header, events))


def test_a_footer_with_the_wrong_event_count_is_corrupt(cassette: Cassette) -> None:
    header, events = _encoded(cassette)
    body = _format.preamble() + _format.frame(_format.HEADER, _format.pack(header))
    body += b"".join(_format.frame(_format.EVENT, _format.pack(e)) for e in events)
    import hashlib

    footer = {"events": len(events) - 1, "sha256": hashlib.sha256(body).hexdigest()}
    with pytest.raises(CorruptCassette, match="footer"):
        loads(body + _format.frame(_format.FOOTER, _format.pack(footer)))


def test_bytes_after_the_footer_are_corrupt(cassette: Cassette) -> None:
    with pytest.raises(CorruptCassette, match="stray bytes"):
        loads(dumps(cassette) + b"\0")


# --- missing files --------------------------------------------------------------------------


def test_a_missing_file_is_cassette_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nope.retake"
    with pytest.raises(CassetteNotFound) as caught:
        load(path)
    assert isinstance(caught.value, FileNotFoundError)
    assert str(path) in str(caught.value)
    with pytest.raises(FileNotFoundError):
        load(path, allow_truncated=True)


def test_a_directory_is_cassette_not_found(tmp_path: Path) -> None:
    with pytest.raises(CassetteNotFound, match="directory"):
        load(tmp_path)
