"""Loading cassettes: hostile-input safe, never read as empty, explicit about truncation."""

from __future__ import annotations

import gc
import hashlib
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retake._collector import paused
from retake.errors import CassetteNotFound, CorruptCassette, TruncatedCassette
from retake.schema import Cassette, CassetteHeader

from . import _format
from ._codec import DecodeError, Decoder
from ._migrate import upgrade

_seq = attrgetter("seq")


@dataclass(frozen=True)
class CassetteInfo:
    """What the bytes of a cassette file say, without validating its events."""

    path: Path | None
    format_version: int
    complete: bool
    """True when a footer ends the file (the recording finalised)."""
    events: int
    """Event frames found intact."""
    torn: bool
    """True when the file ends in a partial or damaged frame (a crash mid-write)."""
    repaired: bool
    """True when ``retake repair`` finalised a recording that had been cut short."""
    size: int


def read_bytes(path: Path | str) -> tuple[Path, bytes]:
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise CassetteNotFound(
            f"{str(path)!r} is not a regular file (a pipe, socket or device); name a "
            "cassette file.",
            path=path,
        )
    try:
        return path, path.read_bytes()
    except PermissionError as exc:
        raise CassetteNotFound(
            f"cannot read {str(path)!r}: permission denied. Check the file's permissions.",
            path=path,
        ) from exc
    except FileNotFoundError as exc:
        raise CassetteNotFound(
            f"no cassette at {str(path)!r}; check the path (cassettes end in "
            f"{_format.SUFFIX!r}, unfinished recordings in "
            f"{_format.SUFFIX + _format.PARTIAL_SUFFIX!r}).",
            path=path,
        ) from exc
    except IsADirectoryError as exc:
        raise CassetteNotFound(
            f"{str(path)!r} is a directory, not a cassette; name a file inside it.", path=path
        ) from exc


def inspect(path: Path | str) -> CassetteInfo:
    """Describe a cassette file's framing: complete or truncated, and how many events."""
    path, data = read_bytes(path)
    return _info(_format.scan(data, path), path, data)


def _info(scan: _format.Scan, path: Path | None, data: bytes) -> CassetteInfo:
    footer = _footer(scan, path, data) if scan.tail == "complete" else {}
    return CassetteInfo(
        path=path,
        format_version=scan.version,
        complete=scan.tail == "complete",
        events=_count(scan.frames, _format.EVENT),
        torn=scan.tail == "torn",
        repaired=bool(footer.get("repaired", False)),
        size=len(data),
    )


def load(path: Path | str, *, allow_truncated: bool = False) -> Cassette:
    """Load and validate a cassette file.

    A recording that never finalised raises ``TruncatedCassette`` unless ``allow_truncated``
    is set; then every event that survived intact is loaded and ``truncated`` is True.
    """
    path, data = read_bytes(path)
    return loads(data, allow_truncated=allow_truncated, path=path)


def loads(data: bytes, *, allow_truncated: bool = False, path: Path | None = None) -> Cassette:
    """Load and validate a cassette from its bytes."""
    with _gc_paused(large=len(data) >= LARGE):
        # The work runs in a frame of its own: the decoded dicts it drops are freed when it
        # returns, before the collector runs again or the objects left are promoted.
        return _loads(data, allow_truncated, path)


def _loads(data: bytes, allow_truncated: bool, path: Path | None) -> Cassette:
    scan = _format.scan(data, path, checksums=False)
    if scan.tail == "complete":
        # The footer's sha256 covers every frame, so per-frame CRCs would add nothing.
        _footer(scan, path, data, expect_events=_count(scan.frames, _format.EVENT))
    else:
        scan = _format.scan(data, path)
    frames = scan.frames
    if not frames:
        raise TruncatedCassette(
            f"{_where(path)} ends before its header was written: the recording died at "
            "its very start and holds no events. Remove the file.",
            path=path,
        )
    events = [f for f in frames if f.kind == _format.EVENT]
    if scan.tail != "complete" and not allow_truncated:
        raise TruncatedCassette(
            f"{_where(path)} was never finalised (the recording was cut short, or its end "
            f"is damaged); {len(events)} events survived intact. Load it with "
            "allow_truncated=True (CLI: --allow-truncated), or finalise it with "
            f"`retake repair {path if path is not None else 'CASSETTE'}`.",
            path=path,
            events=len(events),
        )
    unpack = _format.unpack
    header_raw = unpack(frames[0].payload, path=path, what="the header")
    for amend in (f for f in frames if f.kind == _format.AMEND):
        update = unpack(amend.payload, path=path, what="the header amendment")
        if not isinstance(update, dict) or not isinstance(header_raw, dict):
            raise CorruptCassette(
                f"the header of {_where(path)} is not a map; the file is damaged or was not "
                "written by retake. Restore it from a copy.",
                path=path,
            )
        header_raw.update(update)
    raw_events = _format.unpack_events(events, path=path)
    return _build(header_raw, raw_events, scan, path)


def _build(
    header_raw: Any, raw_events: list[Any], scan: _format.Scan, path: Path | None
) -> Cassette:
    if not isinstance(header_raw, dict):
        raise CorruptCassette(
            f"the header of {_where(path)} is not a map; the file is damaged or was not "
            "written by retake. Restore it from a copy.",
            path=path,
        )
    stated = header_raw.get("format_version")
    if stated != scan.version:
        raise CorruptCassette(
            f"{_where(path)} states format_version={stated!r} in its header but "
            f"{scan.version} in its preamble; the file is damaged.",
            path=path,
        )
    header_raw, raw_events = upgrade(scan.version, header_raw, raw_events)
    try:
        header = CassetteHeader.model_validate(header_raw)
    except ValidationError as exc:
        raise CorruptCassette(
            f"the header of {_where(path)} is invalid: {_describe(exc)}. The file was damaged "
            "or written by an incompatible tool.",
            path=path,
        ) from exc
    try:
        events = Decoder().decode(raw_events)
        if list(map(_seq, events)) != list(range(len(events))):
            position = next(i for i, event in enumerate(events) if event.seq != i)
            raise DecodeError(f"event {position} has seq={events[position].seq}", position)
        # Every part is validated above; constructing skips validating the events twice.
        return Cassette.model_construct(
            header=header, events=tuple(events), truncated=scan.tail != "complete"
        )
    except DecodeError as exc:
        raise CorruptCassette(
            f"{_where(path)}: {exc}. The file was damaged or written by an incompatible tool; "
            "restore it from a copy.",
            path=path,
        ) from exc
    except ValidationError as exc:
        raise CorruptCassette(f"{_where(path)} is invalid: {_describe(exc)}.", path=path) from exc


def _footer(
    scan: _format.Scan, path: Path | None, data: bytes, expect_events: int | None = None
) -> dict[str, Any]:
    last = scan.frames[-1]
    footer = _format.unpack(last.payload, path=path, what="the footer")
    if not isinstance(footer, dict) or not isinstance(footer.get("sha256"), str):
        raise CorruptCassette(
            f"the footer of {_where(path)} is malformed; the file is damaged. Restore it from a "
            "copy.",
            path=path,
        )
    digest = hashlib.sha256(memoryview(data)[: last.start]).hexdigest()
    if digest != footer["sha256"]:
        raise CorruptCassette(
            f"{_where(path)} does not match the sha256 in its footer: its bytes changed after "
            "it was finalised. Restore it from a copy.",
            path=path,
        )
    if expect_events is not None and footer.get("events") != expect_events:
        raise CorruptCassette(
            f"{_where(path)} has {expect_events} events but its footer says "
            f"{footer.get('events')!r}; the file is damaged.",
            path=path,
        )
    return footer


def _count(frames: list[_format.Frame], kind: bytes) -> int:
    return sum(1 for f in frames if f.kind == kind)


LARGE = 1 << 20
"""File size from which a load counts as large (a few hundred loop steps of tool calls)."""
_CAN_PROMOTE = (
    sys.implementation.name == "cpython"
    and sys.version_info < (3, 14)
    and not sysconfig.get_config_var("Py_GIL_DISABLED")
)
"""Where ``gc.freeze``/``gc.unfreeze`` move objects between generations without walking them
(CPython 3.13 and older, with the GIL; later collectors walk them, and free-threaded builds
have no generations)."""


@contextmanager
def _gc_paused(large: bool) -> Iterator[None]:
    """Pause the cyclic collector for a load; after a large one, promote what it built.

    A load builds many small containers that all survive; the collector would walk them again
    and again for nothing (measured: half the load time of a large session). After a large
    load they would still be walked once as young and once as middle-aged before reaching the
    oldest generation, where long-lived data belongs; freezing then unfreezing moves every
    tracked object of the process there at once. So that the program's own young garbage is
    not promoted with them (where only a full collection would free it), the young
    generations are collected first: they are small, the load's objects are not yet among
    them. Skipped when the program froze objects itself, since unfreezing would undo that.
    """
    promote = large and gc.isenabled() and _CAN_PROMOTE and not gc.get_freeze_count()
    if promote:
        gc.collect(1)
    with paused():
        yield
        if promote:
            gc.freeze()
            gc.unfreeze()


def _where(path: Path | None) -> str:
    return f"cassette {str(path)!r}" if path is not None else "the cassette"


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    return f"{where}: {error['msg']}"
