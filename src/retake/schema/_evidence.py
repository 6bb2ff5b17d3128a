"""The evidence bundle: the audit artifact of one ``retake check`` run.

One JSON file holds what was run (the release, retake's version, the sha256 of every file
used), what happened (every trial's verdicts, divergences, wiring drift, unmatched calls) and
the decision. JUnit XML, Markdown and HTML are views of it; ``retake verify`` re-hashes the
files it names and, if it was signed, checks the HMAC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ._base import Model
from ._divergence import Divergence
from ._results import RequestDrift, Step, UnmatchedCall, WiringChange
from ._verdicts import Verdict

BUNDLE_VERSION = 1
"""The evidence bundle format; fields are only added within a version."""


class TrialEvidence(Model):
    """One trial of one scenario."""

    trial: int
    """Which trial (from 0)."""
    status: str
    """How the replay ended: completed, raised, timeout, crashed, invalid."""
    passed: bool
    """Every expectation held (and, unmutated, no critical divergence)."""
    answer: str | None = None
    """The release's answer."""
    error: str | None = None
    """What went wrong, when the replay did not complete."""
    verdicts: tuple[Verdict, ...] = ()
    """Each expectation's verdict."""
    divergences: tuple[Divergence, ...] = ()
    """How the candidate differs from the recording."""
    unmatched: tuple[UnmatchedCall, ...] = ()
    """Calls that got the fail-closed answer."""
    request_drift: tuple[RequestDrift, ...] = ()
    """Model requests that differ from the recorded ones."""
    canaries: tuple[str, ...] = ()
    """Canary tokens injected."""
    recorded: tuple[Step, ...] = ()
    """The recorded trace, as a timeline."""
    candidate: tuple[Step, ...] = ()
    """The candidate trace, as a timeline."""
    seconds: float = 0.0
    """How long the trial took."""


class ScenarioEvidence(Model):
    """One scenario of the suite and its trials."""

    scenario: str
    """The scenario file, relative to where check ran."""
    description: str = ""
    """What it tests."""
    cassette: str
    """The cassette it replays."""
    seed: int = 0
    """The mutations' seed."""
    mutations: tuple[str, ...] = ()
    """The mutations, described."""
    controls: tuple[str, ...] = ()
    """The controls it evidences."""
    trials: tuple[TrialEvidence, ...] = ()
    """Every trial."""
    pass_k: bool = False
    """Every trial passed."""
    pass_rate: float = 0.0
    """The fraction of trials that passed."""
    critical: int = 0
    """Critical divergences over all trials."""
    gating_critical: int = 0
    """Critical divergences that fail the run: those of scenarios without mutations (a
    mutated scenario differs from its unmutated recording by design; its expectations
    decide)."""


class ControlEvidence(Model):
    """A control of the crosswalk and what the run says of it."""

    id: str
    """The control's id."""
    statement: str = ""
    """What it claims."""
    references: tuple[str, ...] = ()
    """External references it answers (NIST AI RMF, EU AI Act, ...)."""
    status: Literal["evidenced", "failed", "without evidence"]
    """Evidenced: every scenario naming it passed; failed: one did not; without evidence: no
    scenario names it."""
    scenarios: tuple[str, ...] = ()
    """The scenarios that name it."""


class AdherenceShift(Model):
    """For one tool: how often the gate refused before the call, or only after it, and how
    many write calls went through, in the recordings and in the release."""

    tool: str
    """The tool."""
    recorded: dict[str, int] = Field(default_factory=dict)
    """Counts over the recordings: refuse_before_call, call_then_reject, allowed."""
    release: dict[str, int] = Field(default_factory=dict)
    """The same counts over the release's candidate traces."""
    p_value: float = 1.0
    """Fisher's exact test on refuse-before-call vs call-then-reject, recordings vs release."""
    significant: bool = False
    """``p_value`` below 0.05."""
    shift: str = ""
    """The shift in words, when there is one."""


class DecisionShift(Model):
    """For one tool and permission state: the agent's next move, recordings vs release."""

    tool: str
    """The tool."""
    state: str
    """The gate's decision: allow, deny or ask."""
    recorded: dict[str, int] = Field(default_factory=dict)
    """Next moves in the recordings: call, other_tool, ask_user, answer, end."""
    release: dict[str, int] = Field(default_factory=dict)
    """Next moves in the release's traces."""
    p_value: float = 1.0
    """Fisher's exact test of the most common recorded move against all others."""
    significant: bool = False
    """``p_value`` below 0.05."""


class IncidentShift(Model):
    """One incident signature counted over the suite, recordings vs release."""

    signature: str
    """schema_failure, denial_loop, retry_cascade, missing_audit or unmatched_call."""
    recorded: int = 0
    """Occurrences in the recordings (one per trial replayed)."""
    release: int = 0
    """Occurrences in the release's traces."""
    scenarios: tuple[str, ...] = ()
    """Scenarios where the release had it more often than the recording."""


class Diagnostics(Model):
    """Trace statistics of a suite run, beyond pass and fail."""

    adherence: tuple[AdherenceShift, ...] = ()
    """Per tool: does the release lean on its gate more than before."""
    decisions: tuple[DecisionShift, ...] = ()
    """Per tool and permission state: what the agent does next."""
    incidents: tuple[IncidentShift, ...] = ()
    """Which kinds of incident are becoming likelier."""


class EvidenceBundle(Model):
    """Everything a release decision rests on."""

    bundle_version: int = BUNDLE_VERSION
    """The bundle format version; always first."""
    retake_version: str
    """The retake that produced it."""
    release: str
    """The release id under test."""
    agent: str
    """Its entrypoint."""
    model: str
    """The model mode (recorded, scripted, live)."""
    created_at: datetime
    """When the run finished."""
    files: dict[str, str] = Field(default_factory=dict)
    """sha256 of every cassette, scenario and crosswalk file used, by path."""
    wiring: tuple[WiringChange, ...] = ()
    """Wiring drift between the release and the recordings, found before running."""
    scenarios: tuple[ScenarioEvidence, ...] = ()
    """Every scenario and its trials."""
    controls: tuple[ControlEvidence, ...] = ()
    """The crosswalk's controls, evidenced, failed or without evidence."""
    diagnostics: Diagnostics = Field(default_factory=Diagnostics)
    """Adherence, decision and incident shifts between the recordings and the release."""
    passed: bool = False
    """The decision: every expectation held and no gating critical divergence appeared."""
    seconds: float = 0.0
    """How long the run took."""
    signature: str | None = None
    """HMAC-SHA256 of the bundle without this field, when signed."""
