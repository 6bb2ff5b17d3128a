"""The cassette: a header describing the session, then its events in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from ._base import Model
from ._context import PermissionContext, ToolSpec
from ._events import Event

FORMAT_VERSION = 2
"""The cassette format this retake writes. Every older version has a migration."""


class RedactionManifest(Model):
    """What redaction did to the session; never the key or an original value."""

    applied: bool = False
    """Whether the session went through redaction at all."""
    rule_set_version: str | None = None
    """The version of the detector and rule set applied."""
    key_fingerprint: str | None = None
    """A fingerprint of the pseudonymisation key, to tell whether two cassettes share it."""
    counts: dict[str, int] = Field(default_factory=dict)
    """How many values each detector or rule replaced."""
    masked_whole: tuple[str, ...] = ()
    """Paths of values that could not be processed and were masked entirely."""


class CassetteHeader(Model):
    """Everything about a session that is not one of its steps."""

    format_version: int = FORMAT_VERSION
    """The cassette format version; always the first field."""
    session_id: str
    """Unique id of the session."""
    agent: str
    """The agent's name, or its entrypoint ``module:function``."""
    release: str
    """The release id that produced the session."""
    recorded_at: datetime
    """When the session started (timezone-aware)."""
    permission_context: PermissionContext = Field(default_factory=PermissionContext)
    """The permission context the session ran under."""
    tools: tuple[ToolSpec, ...] = ()
    """The tools the release exposed, as evidence for wiring drift."""
    redaction: RedactionManifest = Field(default_factory=RedactionManifest)
    """What redaction did."""
    source: str = "recorder"
    """How the cassette was made: ``recorder``, or the importer's name."""
    tags: dict[str, Any] = Field(default_factory=dict)
    """Free labels: task id, environment, the source's reward, ..."""


class Cassette(Model):
    """A recorded session: the header and the events, in ``seq`` order."""

    header: CassetteHeader
    """Everything about the session that is not a step."""
    events: tuple[Event, ...] = ()
    """The steps of the agent loop, in order."""
    truncated: bool = False
    """True when loaded from a recording that never finalised; never written to disk."""

    @model_validator(mode="after")
    def _sequence_has_no_gaps(self) -> Cassette:
        for position, event in enumerate(self.events):
            if event.seq != position:
                raise ValueError(
                    f"event at position {position} has seq={event.seq}; "
                    "events must be numbered 0, 1, 2, ... in order"
                )
        return self
