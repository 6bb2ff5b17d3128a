"""Freezing values on the agent's thread, thawing them on the writer's.

The agent may change a dict after passing it to a tool, so a recording must copy arguments and
results at the moment of the call. ``copy.deepcopy`` costs ~90 us; packing to msgpack bytes
costs a few, and the bytes are immutable. Everything else (building events, redaction,
encoding, file I/O) happens on the writer thread from these bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any
from uuid import UUID

import msgpack
from pydantic import BaseModel


def _plain(value: Any) -> Any:
    """What msgpack cannot pack, as plain data; the last resort is the value's repr."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, UUID | PurePath):
        return str(value)
    return f"<{type(value).__qualname__}: {value!r:.200}>"


class _Packers(threading.local):
    # A Packer per thread: reusing one is a third of the cost of msgpack.packb, and a Packer
    # must not be shared between threads.
    def __init__(self) -> None:
        self.packer = msgpack.Packer(default=_plain, use_bin_type=True, datetime=False)


_packers = _Packers()


def freeze(value: Any) -> bytes:
    """An immutable copy of a value, cheap enough for the agent's thread. Never raises."""
    try:
        return _packers.packer.pack(value)
    except Exception as exc:  # a cycle, or a value too deep or too large
        _packers.packer.reset()
        return msgpack.packb(f"<unrecordable {type(value).__qualname__}: {exc}>")


def thaw(data: bytes) -> Any:
    """The value back, as JSON-like data: maps with string keys, lists, scalars, bytes."""
    return _string_keys(msgpack.unpackb(data, strict_map_key=False, raw=False))


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(k)): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value
