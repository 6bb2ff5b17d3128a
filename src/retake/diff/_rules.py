"""Named noise rules: what is never a divergence, and what is compared loosely."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property

IGNORED_RULES: dict[str, str] = {
    "timestamps": "time offsets (t) differ between any two runs",
    "durations": "tool call durations differ between any two runs",
    "ids": "call, span and parent ids are minted per run",
    "usage": "token counts follow the length of (pseudonymised) text",
    "http": "HTTP headers, bodies and URL ports of model calls differ per run",
    "replay_notes": "notes the replay harness itself adds",
}
"""Fields never reported, by rule name, with the reason the report gives."""


@dataclass(frozen=True)
class DiffConfig:
    """How loosely to compare; every suppression names the rule that made it."""

    text_threshold: float = 0.9
    """Free texts at least this similar (difflib ratio, 0-1) count as the same."""
    rel_tolerance: float = 1e-6
    """Numbers within this relative difference count as equal."""
    abs_tolerance: float = 1e-9
    """Numbers within this absolute difference count as equal."""
    ignore_paths: tuple[str, ...] = ()
    """Globs of field paths never compared, such as ``arguments.*_id`` or, for one event
    kind only, ``tool_result:output.updated_at``."""
    ignore_values: tuple[str, ...] = ()
    """Regexes; the parts of string values they match are ignored (``RF-[0-9a-f]{8}``)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.text_threshold <= 1.0:
            raise ValueError(
                f"text_threshold={self.text_threshold!r} is outside 0-1; "
                "use a similarity such as 0.9"
            )

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in self.ignore_values)

    def ignored_path(self, kind: str, path: str) -> str | None:
        """The glob that ignores ``path`` of an event of ``kind``, if one does."""
        for glob in self.ignore_paths:
            scope, _, pattern = glob.rpartition(":")
            if (not scope or scope == kind) and fnmatchcase(path, pattern):
                return glob
        return None

    def normalise(self, text: str) -> tuple[str, str | None]:
        """``text`` with the ignored parts masked, and the first regex that masked any."""
        hit: str | None = None
        for pattern in self._patterns:
            text, n = pattern.subn("\u2026", text)
            if n and hit is None:
                hit = pattern.pattern
        return text, hit
