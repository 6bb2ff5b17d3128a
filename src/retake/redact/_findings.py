"""What the scan reports: where a detector fired, never what it found."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

__all__ = ["Finding", "preview"]

_EVENT_INDEX = re.compile(r"events\[(\d+)\]")


def preview(value: str) -> str:
    """At most the first 4 characters, and never more than a third of a short value."""
    return value[: max(1, min(4, len(value) // 3))]


class Finding(BaseModel):
    """A detector fired on a value: the place, the detector and the first characters only."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    path: str
    """The JSON path of the value (``events[3].arguments.body``)."""
    detector: str
    """The detector or rule that fired (``email``, ``header:cookie``, ``field:...``)."""
    preview: str
    """The first characters of the match (at most 4), to help find it; never the value."""

    @property
    def event(self) -> int | None:
        """The index of the event the path is in, when it is in a cassette's events."""
        m = _EVENT_INDEX.match(self.path)
        return int(m.group(1)) if m else None

    def describe(self) -> str:
        """One line for people: ``events[3].arguments.body: email (starts 'mia.')``."""
        return f"{self.path}: {self.detector} (starts {self.preview!r}...)"
