"""Named noise rules: what is never a divergence, and what is compared loosely."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

IGNORED_RULES: dict[str, str] = {
    "timestamps": "time offsets (t) differ between any two runs",
    "durations": "tool call durations differ between any two runs",
    "ids": "call, span and parent ids are minted per run",
    "usage": "token counts follow the length of (pseudonymised) text",
    "http": "HTTP headers, bodies and URL ports of model calls differ per run",
    "replay_notes": "notes the replay harness itself adds",
}
"""Fields never reported, by rule name, with the reason the report gives."""


class DiffConfig(BaseModel):
    """How loosely to compare; every suppression names the rule that made it. A ``retake
    diff --config`` file holds these fields as YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    text_threshold: float = 0.9
    """Free texts at least this similar (difflib ratio, 0-1) count as the same."""
    rel_tolerance: float = Field(default=1e-6, ge=0.0)
    """Numbers within this relative difference count as equal."""
    abs_tolerance: float = Field(default=1e-9, ge=0.0)
    """Numbers within this absolute difference count as equal."""
    ignore_paths: tuple[str, ...] = ()
    """Globs of field paths never compared, such as ``arguments.*_id`` or, for one event
    kind only, ``tool_result:output.updated_at``."""
    ignore_values: tuple[str, ...] = ()
    """Regexes; the parts of string values they match are ignored (``RF-[0-9a-f]{8}``)."""
    write_tools: tuple[str, ...] = ()
    """Tools that change things, for traces whose headers do not say so (imported ones): a
    new call to one, or one after a denial, is critical like a declared write tool's."""

    @field_validator("text_threshold")
    @classmethod
    def _similarity(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"text_threshold={value!r} is outside 0-1; use a similarity such as 0.9"
            )
        return value

    @field_validator("ignore_values")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
        return value

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
        for pattern in _compiled(self.ignore_values):
            text, n = pattern.subn("\u2026", text)
            if n and hit is None:
                hit = pattern.pattern
        return text, hit


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The ``ignore_values`` regexes, compiled once per distinct tuple."""
    return tuple(re.compile(p) for p in patterns)
