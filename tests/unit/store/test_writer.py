"""The streaming writer, whole-file saves and repair: what a recording leaves on disk."""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib.util
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from retake.errors import CassetteExists, TruncatedCassette, WriterError
from retake.schema import Cassette, CassetteHeader, Event, RedactionManifest
from retake.store import (
    CassetteWriter,
    _format,
    dumps,
    inspect,
    load,
    loads,
    partial_path,
    repair,
    save,
)
from retake.store._format import pack
from retake.store._reader import _CAN_PROMOTE, LARGE

BENCHMARKS = Path(__file__).parents[3] / "benchmarks"


@pytest.fixture(scope="module")
def sessions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_sessions", BENCHMARKS / "sessions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _crash_after(path: Path, header: CassetteHeader, events: tuple[Event, ...]) -> Path:
    """Record ``events`` and leave the block by an exception, as a crash would."""
    with pytest.raises(RuntimeError, match="agent crashed"), CassetteWriter(path, header) as w:
        w.extend(events)
        w.flush()
        raise RuntimeError("agent crashed")
    return partial_path(path)


# --- recording ------------------------------------------------------------------------------


def test_events_land_in_order(cassette: Cassette, cassette_path: Path) -> None:
    with CassetteWriter(cassette_path, cassette.header) as writer:
        for event in cassette.events:
            writer.append(event)
    assert load(cassette_path) == cassette
    assert cassette_path.read_bytes() == dumps(cassette)


def test_flush_makes_events_readable_with_the_flag(cassette: Cassette, cassette_path: Path) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events[:5])
    writer.flush()
    partial = partial_path(cassette_path)
    assert partial.name == "session.retake.partial"
    loaded = load(partial, allow_truncated=True)
    assert loaded.truncated
    assert loaded.events == cassette.events[:5]
    with pytest.raises(TruncatedCassette, match="5 events survived"):
        load(partial)
    assert not cassette_path.exists()
    writer.extend(cassette.events[5:])
    assert writer.finalise() == cassette_path
    assert load(cassette_path) == cassette


def test_finalise_renames_the_partial_into_place(cassette: Cassette, cassette_path: Path) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events)
    writer.flush()
    partial = partial_path(cassette_path)
    inode = partial.stat().st_ino
    assert not cassette_path.exists()
    writer.finalise()
    assert not partial.exists()
    assert cassette_path.stat().st_ino == inode  # renamed, not copied
    info = inspect(cassette_path)
    assert info.complete and not info.torn and not info.repaired
    assert info.events == len(cassette.events)


def test_an_exception_in_the_block_keeps_the_partial(
    cassette: Cassette, cassette_path: Path
) -> None:
    partial = _crash_after(cassette_path, cassette.header, cassette.events[:4])
    assert not cassette_path.exists()
    assert load(partial, allow_truncated=True).events == cassette.events[:4]


def test_abort_deletes_the_recording(cassette: Cassette, cassette_path: Path) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events)
    writer.abort()
    assert list(cassette_path.parent.iterdir()) == []


def test_refuses_to_overwrite_a_cassette(cassette: Cassette, saved: Path) -> None:
    before = saved.read_bytes()
    with pytest.raises(CassetteExists, match="overwrite=True") as caught:
        CassetteWriter(saved, cassette.header)
    assert isinstance(caught.value, FileExistsError)
    assert str(saved) in str(caught.value)
    with pytest.raises(CassetteExists):
        save(cassette, saved)
    assert saved.read_bytes() == before
    assert not partial_path(saved).exists()


def test_overwrite_replaces_a_cassette(cassette: Cassette, saved: Path) -> None:
    shorter = Cassette(header=cassette.header, events=cassette.events[:3])
    with CassetteWriter(saved, cassette.header, overwrite=True) as writer:
        writer.extend(shorter.events)
    assert load(saved) == shorter
    save(cassette, saved, overwrite=True)
    assert load(saved) == cassette


def test_refuses_to_start_over_an_unfinished_recording(
    cassette: Cassette, cassette_path: Path
) -> None:
    partial = _crash_after(cassette_path, cassette.header, cassette.events[:2])
    before = partial.read_bytes()
    with pytest.raises(CassetteExists, match="retake repair"):
        CassetteWriter(cassette_path, cassette.header)
    assert partial.read_bytes() == before


def test_a_failing_check_deletes_the_recording_and_propagates(
    cassette: Cassette, cassette_path: Path
) -> None:
    seen: list[Cassette] = []

    def check(recorded: Cassette) -> None:
        seen.append(recorded)
        raise ValueError("leak found")

    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events)
    with pytest.raises(ValueError, match="leak found"):
        writer.finalise(check=check)
    assert seen[0].events == cassette.events
    assert seen[0].header == cassette.header
    assert list(cassette_path.parent.iterdir()) == []


def test_a_passing_check_finalises(cassette: Cassette, cassette_path: Path) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events)
    writer.finalise(check=lambda recorded: None)
    assert load(cassette_path) == cassette


def test_a_seq_gap_fails_at_finalise_and_keeps_the_events_before_it(
    cassette: Cassette, cassette_path: Path
) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events[:3])
    writer.append(cassette.events[4])  # seq 4 where 3 is due
    writer.append(cassette.events[3])
    with pytest.raises(WriterError, match="seq=4") as caught:
        writer.finalise()
    assert "retake repair" in str(caught.value)
    assert not cassette_path.exists()
    kept = load(partial_path(cassette_path), allow_truncated=True)
    assert kept.events == cassette.events[:3]


def test_flush_reports_a_seq_gap(cassette: Cassette, cassette_path: Path) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.append(cassette.events[1])
    with pytest.raises(WriterError, match="seq=0"):
        writer.flush()
    writer.abort()


@pytest.mark.parametrize("close", ["finalise", "abort"])
def test_append_after_closing_is_refused(
    close: str, cassette: Cassette, cassette_path: Path
) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events[:2])
    getattr(writer, close)()
    with pytest.raises(WriterError, match="closed"):
        writer.append(cassette.events[2])


@pytest.mark.parametrize("overwrite", [False, True])
def test_finalising_inside_the_with_block_leaves_one_good_cassette(
    overwrite: bool, cassette: Cassette, cassette_path: Path
) -> None:
    """Calling finalise() explicitly, then leaving the ``with`` block, must not finalise twice."""
    with CassetteWriter(cassette_path, cassette.header, overwrite=overwrite) as writer:
        writer.extend(cassette.events)
        writer.finalise()
    assert load(cassette_path) == cassette
    assert list(cassette_path.parent.iterdir()) == [cassette_path]


def test_amend_updates_header_fields_known_only_at_the_end(
    cassette: Cassette, cassette_path: Path
) -> None:
    manifest = RedactionManifest(applied=True, counts={"email": 2})
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events)
    writer.finalise(amend={"redaction": manifest.model_dump(mode="json")})
    loaded = load(cassette_path)
    assert loaded.header.redaction == manifest
    assert loaded.events == cassette.events


def test_a_failing_disk_surfaces_as_writer_error(
    cassette: Cassette, cassette_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = CassetteWriter(cassette_path, cassette.header)
    writer.extend(cassette.events[:2])
    writer.flush()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if threading.current_thread().name.startswith("retake-writer"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    writer.extend(cassette.events[2:])
    with pytest.raises(WriterError, match="No space left"):
        writer.finalise()
    monkeypatch.undo()
    assert load(partial_path(cassette_path), allow_truncated=True).events == cassette.events[:2]


# --- the caller's thread never touches the file ---------------------------------------------


@pytest.fixture
def io_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every os.open/os.write/os.fsync, with the id of the thread that made it."""
    calls: list[tuple[str, int]] = []

    def recorder(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object, **kwargs: object) -> object:
            calls.append((name, threading.get_ident()))
            return real(*args, **kwargs)

        return wrapper

    for name in ("open", "write", "fsync"):
        monkeypatch.setattr(os, name, recorder(name, getattr(os, name)))
    yield calls


def test_append_and_flush_do_no_file_io_on_the_callers_thread(
    cassette: Cassette, cassette_path: Path, io_calls: list[tuple[str, int]]
) -> None:
    me = threading.get_ident()
    writer = CassetteWriter(cassette_path, cassette.header)
    for event in cassette.events:
        writer.append(event)
    writer.flush()
    assert {"open", "write"} <= {name for name, _ in io_calls}
    assert all(thread != me for _, thread in io_calls)
    writer.finalise()
    assert load(cassette_path) == cassette


def test_append_returns_while_the_writer_thread_is_stuck(
    cassette: Cassette, cassette_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    stuck = threading.Event()
    real_write = os.write

    def slow_disk(fd: int, data: bytes) -> int:
        if threading.current_thread().name.startswith("retake-writer"):
            stuck.set()
            gate.wait(timeout=30)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", slow_disk)
    writer = CassetteWriter(cassette_path, cassette.header)
    assert stuck.wait(timeout=30)
    writer.extend(cassette.events)  # would hang here if append waited for the disk
    assert partial_path(cassette_path).stat().st_size == 0
    gate.set()
    writer.finalise()
    assert load(cassette_path) == cassette


# --- repair ---------------------------------------------------------------------------------


def test_repair_keeps_every_event_and_the_frames_byte_for_byte(
    cassette: Cassette, cassette_path: Path
) -> None:
    partial = _crash_after(cassette_path, cassette.header, cassette.events)
    survived = partial.read_bytes()
    target, kept = repair(partial)
    assert (target, kept) == (cassette_path, len(cassette.events))
    assert not partial.exists()
    repaired = target.read_bytes()
    assert repaired.startswith(survived)
    assert load(target) == cassette
    assert inspect(target).repaired


def test_repair_drops_only_a_torn_last_frame(cassette: Cassette, cassette_path: Path) -> None:
    partial = _crash_after(cassette_path, cassette.header, cassette.events)
    survived = partial.read_bytes()
    last = _format.scan(survived, None).frames[-1]
    partial.write_bytes(survived[: last.end - 5])  # the last event was being written
    assert inspect(partial).torn
    target, kept = repair(partial)
    assert kept == len(cassette.events) - 1
    assert target.read_bytes().startswith(survived[: last.start])
    assert load(target).events == cassette.events[:-1]


def test_repair_leaves_a_complete_cassette_alone(cassette: Cassette, saved: Path) -> None:
    before = saved.read_bytes()
    assert repair(saved) == (saved, len(cassette.events))
    assert saved.read_bytes() == before


def test_repair_refuses_to_overwrite_a_finalised_cassette(
    cassette: Cassette, cassette_path: Path
) -> None:
    partial = _crash_after(cassette_path, cassette.header, cassette.events[:3])
    cassette_path.write_bytes(dumps(cassette))
    with pytest.raises(CassetteExists):
        repair(partial)
    assert load(cassette_path) == cassette
    assert repair(partial, overwrite=True) == (cassette_path, 3)
    assert load(cassette_path).events == cassette.events[:3]


def test_save_never_destroys_an_unfinished_recording_of_the_same_name(
    cassette: Cassette, cassette_path: Path
) -> None:
    partial = _crash_after(cassette_path, cassette.header, cassette.events[:3])
    survived = partial.read_bytes()
    with contextlib.suppress(CassetteExists):
        save(cassette, cassette_path)
    assert partial.exists(), "save() deleted the crashed recording"
    assert partial.read_bytes() == survived


def test_repair_a_headerless_recording_is_refused(cassette_path: Path) -> None:
    partial = partial_path(cassette_path)
    partial.write_bytes(_format.preamble())
    with pytest.raises(TruncatedCassette, match="header"):
        repair(partial)


# --- size -----------------------------------------------------------------------------------


def _naive_size(cassette: Cassette) -> int:
    """Bytes of msgpack that stores every request with its full message list."""
    return len(pack(cassette.header.model_dump(mode="json"))) + sum(
        len(pack(event.model_dump())) for event in cassette.events
    )


def test_size_is_a_fraction_of_the_naive_encoding_and_linear(sessions: ModuleType) -> None:
    small, large = sessions.session(200), sessions.session(2000)
    small_bytes, large_bytes = len(dumps(small)), len(dumps(large))
    assert large_bytes * 4 <= _naive_size(large)
    assert large_bytes <= 12 * small_bytes
    assert loads(dumps(small)) == small


def test_a_long_recording_through_the_writer_loads_equal(
    sessions: ModuleType, cassette_path: Path
) -> None:
    session = sessions.session(150)
    with CassetteWriter(cassette_path, session.header) as writer:
        writer.extend(session.events)
    assert load(cassette_path) == session


# --- the collector around a large load ------------------------------------------------------


@pytest.fixture
def large(sessions: ModuleType, tmp_path: Path) -> Path:
    """A session large enough that its load promotes what it built."""
    path = save(sessions.session(600), tmp_path / "large.retake")
    assert path.stat().st_size >= LARGE
    return path


def test_a_large_load_leaves_the_collector_as_it_found_it(large: Path) -> None:
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            assert load(large).events
            assert gc.isenabled() is enabled
        finally:
            gc.enable()


@pytest.mark.skipif(not _CAN_PROMOTE, reason="this Python's collector walks frozen objects")
def test_a_large_load_puts_what_it_keeps_straight_into_the_oldest_generation(
    large: Path,
) -> None:
    gc.collect()
    kept = load(large)
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert len(kept.events) > 1_000
    assert all(id(event) in oldest for event in kept.events)  # no collector walk needed


class _Node:
    other: _Node


def test_garbage_cycles_made_between_large_loads_are_still_collected(large: Path) -> None:
    """The program's young garbage is collected, not promoted along with the load's objects
    (promoted, a cycle would wait for a full collection that a loop of loads never starts)."""
    gc.collect()
    cycles: list[weakref.ref[_Node]] = []
    for _ in range(3):
        assert load(large).events
        for _ in range(50):
            a, b = _Node(), _Node()
            a.other, b.other = b, a
            cycles.append(weakref.ref(a))
            del a, b
    assert load(large).events
    assert all(ref() is None for ref in cycles)


def test_middle_aged_garbage_is_collected_rather_than_promoted_by_a_large_load(
    large: Path,
) -> None:
    gc.collect()
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gc.collect(0)  # the live cycle survives a young collection: now middle-aged
    cycle = weakref.ref(a)
    del a, b
    assert load(large).events
    assert cycle() is None


def test_a_large_load_never_unfreezes_what_the_program_froze(large: Path) -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 1_000
        assert load(large).events
        # Unfreezing would empty the permanent generation; a few frozen objects may be freed.
        assert gc.get_freeze_count() > frozen - 100
    finally:
        gc.unfreeze()
