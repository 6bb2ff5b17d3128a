"""The cassette store: msgpack frames on disk, streamed in, finalised atomically, loaded safely."""

from ._format import MAGIC, MAX_FRAME_BYTES, PARTIAL_SUFFIX, SUFFIX
from ._reader import CassetteInfo, inspect, load, loads
from ._writer import (
    CassetteWriter,
    Check,
    Prepare,
    dumps,
    final_path,
    partial_path,
    repair,
    save,
)

__all__ = [
    "MAGIC",
    "MAX_FRAME_BYTES",
    "PARTIAL_SUFFIX",
    "SUFFIX",
    "CassetteInfo",
    "CassetteWriter",
    "Check",
    "Prepare",
    "dumps",
    "final_path",
    "inspect",
    "load",
    "loads",
    "partial_path",
    "repair",
    "save",
]
