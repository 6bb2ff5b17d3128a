"""What a replay found, per session: plain data for reports, the evidence bundle and JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._base import Model
from ._divergence import Divergence
from ._verdicts import Verdict

WiringKind = Literal["added", "removed", "schema_changed", "effect_changed"]


class WiringChange(Model):
    """A difference between the tools the release exposes and those in the recording."""

    kind: WiringKind
    """``added`` / ``removed`` tool, or its ``schema_changed`` / ``effect_changed``."""
    tool: str
    """The tool's name."""
    detail: str = ""
    """What changed, in words."""


class Candidate(Model):
    """A recorded call the player weighed for a live call, and why it did not serve it."""

    recorded: str
    """The recorded call, as ``tool(arguments)`` with its step."""
    failed: str
    """The matcher that failed for it and why."""


class UnmatchedCall(Model):
    """A live call with no recorded answer: it got the fail-closed answer instead."""

    seq: int
    """The step of the candidate trace where the call was made."""
    tool: str
    """The tool called."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """The live arguments."""
    effect: Literal["read", "write"] = "read"
    """A write tool is never executed in replay, matched or not."""
    nearest: tuple[Candidate, ...] = ()
    """The nearest recorded calls, with the matcher that failed for each."""
    explanation: str = ""
    """The whole explanation, side by side, for people."""


class RequestDrift(Model):
    """The release sent the model a different request than the recorded one."""

    call: int
    """Which model call of the session (from 0)."""
    message: int | None
    """The first differing message, or ``None`` when only settings or tools differ."""
    detail: str
    """What differs, in words."""


class Step(Model):
    """One row of a trace's timeline, for the views."""

    seq: int
    """The event's step."""
    kind: str
    """The event kind."""
    tool: str = ""
    """The tool or model involved."""
    detail: str = ""
    """The event, abridged."""
    status: str = ""
    """Its status (ok, denied, allow, deny, ...)."""


SessionStatus = Literal["completed", "raised", "timeout", "crashed", "invalid"]


class SessionReplay(Model):
    """One replay of one cassette (one trial)."""

    cassette: str
    """The recorded cassette's path."""
    session_id: str = ""
    """The recorded session's id."""
    trial: int = 0
    """Which trial (from 0)."""
    status: SessionStatus
    """``completed``; ``raised`` (the release raised); ``timeout``; ``crashed`` (the worker
    died); ``invalid`` (the cassette could not be loaded)."""
    answer: str | None = None
    """The release's answer, when it gave one."""
    error: str | None = None
    """What went wrong, for every status but ``completed``."""
    raised: str | None = None
    """The exception the release raised (``module.Class``), when the status is ``raised``."""
    recorded_raised: str | None = None
    """The exception the recorded session ended with (``module.Class``), if it did."""
    recorded_error: str | None = None
    """That exception's message."""
    wiring: tuple[WiringChange, ...] = ()
    """Wiring drift, found before running."""
    unmatched: tuple[UnmatchedCall, ...] = ()
    """Calls that got the fail-closed answer."""
    request_drift: tuple[RequestDrift, ...] = ()
    """Model requests that differ from the recorded ones (recorded model mode)."""
    mutations: tuple[str, ...] = ()
    """The mutations applied, described."""
    canaries: tuple[str, ...] = ()
    """Canary tokens injected by mutations, to track where they travel."""
    scenario: str | None = None
    """The scenario file this replay ran for, if any."""
    verdicts: tuple[Verdict, ...] = ()
    """The scenario's expectations, checked on the candidate trace."""
    divergences: tuple[Divergence, ...] = ()
    """How the candidate differs from the recording (``retake.diff``), beyond the noise."""
    signals: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    """Diagnostic counts of the ``recorded`` and ``candidate`` traces (``retake.expect``)."""
    recorded_steps: tuple[Step, ...] = ()
    """The recorded trace as a timeline (when asked for, for reports)."""
    candidate_steps: tuple[Step, ...] = ()
    """The candidate trace as a timeline (when asked for, for reports)."""
    candidate: str | None = None
    """Where the candidate trace was written, if it was."""
    events: int = 0
    """Events in the candidate trace."""
    seconds: float = 0.0
    """How long the replay took."""
