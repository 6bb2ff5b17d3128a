"""The bytes of a cassette file: magic, format version, then checksummed msgpack frames.

::

    file   = MAGIC (8 bytes) | version (uint16 BE) | frame* | footer-frame?
    frame  = kind (1 byte: H, E, A or F) | length (uint32 BE) | crc32 (uint32 BE) | payload
    H      = the header, once, first
    E      = one event
    A      = an amendment to the header, at most once, after the events: what is known only
             when the session ends (the redaction counts, the tools the session used)
    F      = the footer: event count and the sha256 of every byte before the footer frame

A file without a footer is a recording that never finalised. Each frame carries its own
checksum, so a torn last frame (a crash mid-write) is told apart from damage in the middle.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import msgpack

from retake.errors import (
    CassetteLimitExceeded,
    CorruptCassette,
    NotACassette,
    UnsupportedFormatVersion,
)
from retake.schema import FORMAT_VERSION

MAGIC = b"\x89RETAKE\n"
"""The first bytes of every cassette. The high first byte keeps text tools from taking it."""
SUFFIX = ".retake"
"""The file name suffix of a finalised cassette."""
PARTIAL_SUFFIX = ".partial"
"""Appended to the name while a recording is being written."""

_PREAMBLE = struct.Struct(">H")
_FRAME = struct.Struct(">cII")
PREAMBLE_SIZE = len(MAGIC) + _PREAMBLE.size
FRAME_OVERHEAD = _FRAME.size

HEADER, EVENT, AMEND, FOOTER = b"H", b"E", b"A", b"F"
_KINDS = frozenset((HEADER, EVENT, AMEND, FOOTER))

MAX_FRAME_BYTES = 256 * 1024 * 1024
"""The largest frame a decoder accepts; a larger declared length is damage, not data."""


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not part of the cassette format")


def preamble(version: int = FORMAT_VERSION) -> bytes:
    """The bytes every cassette starts with."""
    return MAGIC + _PREAMBLE.pack(version)


def pack(value: Any) -> bytes:
    """Encode one frame's payload."""
    return msgpack.packb(value, use_bin_type=True, default=_to_builtin)


def frame(kind: bytes, payload: bytes) -> bytes:
    """Wrap a payload into a frame."""
    return _FRAME.pack(kind, len(payload), zlib.crc32(payload)) + payload


def unpack(payload: bytes | memoryview, *, path: Path | None, what: str) -> Any:
    """Decode one frame's payload with limits: no extension types, bounded depth and sizes."""
    try:
        # unpackb bounds every declared length by the payload's own size, and its stack
        # bounds nesting; extension types are refused. Map keys may be any scalar a tool's
        # output can hold ({1: "one"}); an unhashable key (a list) is a TypeError below.
        return msgpack.unpackb(payload, ext_hook=_refuse_ext, strict_map_key=False)
    except msgpack.StackError as exc:
        raise CassetteLimitExceeded(
            f"{what} of {_name(path)} nests deeper than the decoder allows; the file is damaged "
            "or was not written by retake. Re-record the session or restore the file from a copy.",
            path=path,
        ) from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CorruptCassette(
            f"{what} of {_name(path)} is not valid msgpack ({exc}); the file is damaged. "
            "Restore it from a copy, or re-record the session.",
            path=path,
        ) from exc


class Frame(NamedTuple):
    """One frame as found in a file."""

    kind: bytes
    payload: memoryview
    start: int
    """Offset of the frame's first byte in the file."""
    end: int
    """Offset just past the frame."""


class Scan(NamedTuple):
    """The frames of a file, and how the file ends."""

    version: int
    frames: list[Frame]
    tail: str
    """``complete`` (a footer ends the file), ``clean`` (no footer, ends on a frame boundary),
    or ``torn`` (no footer, a partial or damaged last frame)."""


def unpack_events(frames: list[Frame], *, path: Path | None) -> list[Any]:
    """Decode the payloads of event frames, with ``unpack``'s limits and errors (``event i``)."""
    unpackb = msgpack.unpackb
    try:
        return [unpackb(f.payload, ext_hook=_refuse_ext, strict_map_key=False) for f in frames]
    except (ValueError, TypeError, msgpack.UnpackException):
        # Rare, so found again frame by frame, to name the damaged event in the error.
        for position, found in enumerate(frames):
            unpack(found.payload, path=path, what=f"event {position}")
        raise


def _name(path: Path | None) -> str:
    return f"cassette {str(path)!r}" if path is not None else "the cassette"


def read_version(data: bytes | memoryview, path: Path | None) -> int:
    """Check the magic bytes and return the format version."""
    if len(data) < len(MAGIC) or bytes(data[: len(MAGIC)]) != MAGIC:
        raise NotACassette(
            f"{_name(path)} is not a retake cassette (it does not start with retake's magic "
            "bytes). Import foreign recordings with `retake import`; check the path otherwise.",
            path=path,
        )
    if len(data) < PREAMBLE_SIZE:
        raise CorruptCassette(
            f"{_name(path)} ends inside its preamble ({len(data)} bytes); nothing was recorded "
            "in it. Remove the file.",
            path=path,
        )
    (version,) = _PREAMBLE.unpack_from(data, len(MAGIC))
    if version > FORMAT_VERSION or version < 1:
        raise UnsupportedFormatVersion(
            f"{_name(path)} has format_version={version}, and this retake reads versions 1 to "
            f"{FORMAT_VERSION}. Upgrade retake (pip install -U retake) to read it.",
            path=path,
        )
    return int(version)


def scan(data: bytes, path: Path | None, *, checksums: bool = True) -> Scan:
    """Split a file into frames, checking order (and checksums), without decoding payloads.

    ``checksums=False`` skips the per-frame CRCs, for a caller that has verified the footer's
    sha256 over the same bytes already.
    """
    version = read_version(data, path)
    view = memoryview(data)
    frames: list[Frame] = []
    # A long session has thousands of frames: the loop keeps to locals and builds each Frame
    # with tuple.__new__ (NamedTuple's own constructor is a Python-level call).
    append, header_at, make, crc32 = frames.append, _FRAME.unpack_from, tuple.__new__, zlib.crc32
    previous: bytes | None = None
    pos = PREAMBLE_SIZE
    size = len(data)
    while pos < size:
        if size - pos < FRAME_OVERHEAD:
            return Scan(version, frames, "torn")
        kind, length, crc = header_at(data, pos)
        if kind not in _KINDS:
            raise CorruptCassette(
                f"{_name(path)} has an unknown frame type {kind!r} at byte {pos}; the file is "
                "damaged, or was written by a newer retake. Restore it from a copy, or read it "
                "with the retake that wrote it.",
                path=path,
            )
        if length > MAX_FRAME_BYTES:
            raise CassetteLimitExceeded(
                f"{_name(path)} declares a frame of {length} bytes at byte {pos}, above the "
                f"limit of {MAX_FRAME_BYTES}; the file is damaged. Restore it from a copy.",
                path=path,
            )
        end = pos + FRAME_OVERHEAD + length
        if end > size:
            return Scan(version, frames, "torn")
        payload = view[pos + FRAME_OVERHEAD : end]
        if checksums and crc32(payload) != crc:
            if end == size and kind != FOOTER:
                return Scan(version, frames, "torn")
            raise CorruptCassette(
                f"{_name(path)} has a damaged frame at byte {pos} (checksum mismatch); "
                "restore the file from a copy.",
                path=path,
            )
        if (kind == HEADER) is (previous is not None) or (previous == AMEND and kind != FOOTER):
            raise CorruptCassette(
                f"{_name(path)} has its frames out of order at byte {pos} (the header must "
                "come first and once, and nothing but the footer after an amendment); the "
                "file is damaged. Restore it from a copy.",
                path=path,
            )
        append(make(Frame, (kind, payload, pos, end)))
        previous = kind
        pos = end
        if kind == FOOTER:
            if pos != size:
                raise CorruptCassette(
                    f"{_name(path)} has {size - pos} stray bytes after its footer; the file "
                    "was damaged or appended to. Restore it from a copy.",
                    path=path,
                )
            return Scan(version, frames, "complete")
    return Scan(version, frames, "clean")


def _to_builtin(value: Any) -> Any:
    """Turn the few non-msgpack values a tool may return into plain data."""
    from datetime import date, datetime, time
    from enum import Enum

    from pydantic import BaseModel

    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a value of type {type(value).__qualname__} in a cassette")
