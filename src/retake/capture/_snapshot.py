"""Freezing values on the agent's thread, thawing them on the writer's.

The agent may change a dict after passing it to a tool, so a recording must copy arguments and
results at the moment of the call. ``copy.deepcopy`` costs ~90 us; packing to msgpack bytes
costs a few, and the bytes are immutable. Everything else (building events, redaction,
encoding, file I/O) happens on the writer thread from these bytes.

Freezing and thawing never fail because of a value's shape: what cannot be packed becomes a
marker string, and so does whatever nests deeper than ``MAX_DEPTH`` levels. (Values that reach
the recording another way, such as tool arguments parsed from a model's HTTP response, are not
bounded here.)
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

MAX_DEPTH = 256
"""How many levels of maps and lists a recorded value keeps; a deeper one is replaced by a
marker string that says so. Real tool arguments and outputs nest a few dozen levels at most.
Every later stage walks values recursively (the redactor, the leak scan, the encoder, the
differ), the store refuses past msgpack's 1,024 levels, and Python's default recursion limit
is 1,000 frames: 256 keeps each of them well inside, even when called from a deep stack."""


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
    packer = _packers.packer
    try:
        return packer.pack(value)
    except Exception as exc:  # a cycle, or a value too deep or too large
        packer.reset()
        if isinstance(value, dict):  # arguments, most outputs: keep the entries that pack
            return packer.pack_map_header(len(value)) + b"".join(
                _freeze_entry(key, item) for key, item in value.items()
            )
        return msgpack.packb(_unrecordable(value, exc))


def _freeze_entry(key: Any, item: Any) -> bytes:
    packer = _packers.packer
    try:
        return packer.pack(key) + packer.pack(item)
    except Exception as exc:
        packer.reset()
        return msgpack.packb(str(key)) + msgpack.packb(_unrecordable(item, exc))


def _unrecordable(value: Any, exc: Exception) -> str:
    return f"<unrecordable {type(value).__qualname__}: {exc}>"


def thaw(data: bytes) -> Any:
    """The value back, as JSON-like data: maps with string keys, lists, scalars, bytes.

    Maps and lists nested deeper than ``MAX_DEPTH`` are replaced by a marker string."""
    value = msgpack.unpackb(data, strict_map_key=False, raw=False)
    try:
        return _string_keys(value, MAX_DEPTH)
    except RecursionError:  # only when called from a stack that is already nearly full
        return f"<{type(value).__qualname__} nested too deep to record on this stack>"


def _string_keys(value: Any, levels: int) -> Any:
    """``value`` with string keys, keeping ``levels`` levels of maps and lists."""
    if isinstance(value, dict):
        if not levels:
            return _too_deep(value)
        levels -= 1
        return {
            (k if isinstance(k, str) else str(k)): _string_keys(v, levels) for k, v in value.items()
        }
    if isinstance(value, list):
        if not levels:
            return _too_deep(value)
        levels -= 1
        return [_string_keys(v, levels) for v in value]
    return value


def _too_deep(value: Any) -> str:
    return f"<{type(value).__qualname__} nested deeper than {MAX_DEPTH} levels: not recorded>"
