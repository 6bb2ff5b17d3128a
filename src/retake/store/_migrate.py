"""Upgrades from every older cassette format version to the current one.

A migration takes the raw decoded dicts of one version (the header, and each event as stored,
before messages are resolved) and returns them in the next version's shape. When the format
changes, bump ``FORMAT_VERSION``, add the step here, and add a fixture cassette of the old
version under ``tests/fixtures/formats/`` so the old files keep loading forever.

Version 2 stores a tool result's output that JSON holds exactly as its JSON text
(``output_json``); the decoder reads both spellings, so a version-1 event needs no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from retake.schema import FORMAT_VERSION

Raw = dict[str, Any]


@dataclass(frozen=True)
class Migration:
    """Upgrades raw dicts from version ``source`` to ``source + 1``."""

    source: int
    header: Callable[[Raw], Raw]
    event: Callable[[Raw], Raw]


def _unchanged(raw: Raw) -> Raw:
    return raw


MIGRATIONS: dict[int, Migration] = {
    1: Migration(1, header=_unchanged, event=_unchanged),
}
"""Steps keyed by the version they upgrade from."""


def upgrade(version: int, header: Raw, events: list[Raw]) -> tuple[Raw, list[Raw]]:
    """Run every step from ``version`` to the current format."""
    while version < FORMAT_VERSION:
        step = MIGRATIONS[version]
        header = step.header(header)
        events = [step.event(event) for event in events]
        version += 1
    header["format_version"] = FORMAT_VERSION
    return header, events
