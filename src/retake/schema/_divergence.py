"""What comparing two traces found: pairings, divergences, what was suppressed as noise.

These models are the JSON view of ``retake diff`` (``DiffReport.schema_version`` versions it)
and what the report views and the check command render.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._base import Model

DIFF_SCHEMA_VERSION = 1
"""The version of the ``DiffReport`` JSON layout; bumped on any incompatible change."""

Severity = Literal["info", "warning", "error", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error", "critical")
"""Severities from least to most severe."""

DivergenceKind = Literal[
    "tool_added",
    "tool_removed",
    "tool_replaced",
    "arguments_changed",
    "order_changed",
    "permission_changed",
    "called_then_rejected",
    "refused_before_call",
    "write_after_denial",
    "retries_changed",
    "result_changed",
    "output_changed",
    "error_raised",
    "canary_leaked",
    "model_response_changed",
    "model_request_drift",
    "wiring_drift",
    "input_changed",
    "step_added",
    "step_removed",
    "step_changed",
]

PairingMethod = Literal["call_id", "tool_arguments", "sequence"]

Pair = tuple[int | None, int | None, PairingMethod | None]
"""``(recorded seq, candidate seq, method)``; ``None`` on one side for an unpaired event."""


class FieldChange(Model):
    """One field of a pair of aligned events that differs."""

    path: str
    """Where, inside the event: ``arguments.amount``, ``response.text``, ``output[2].sku``."""
    change: Literal["changed", "added", "removed"]
    """``added``: only the candidate has it; ``removed``: only the recording has it."""
    recorded: Any = None
    """The recorded value (abridged when long)."""
    candidate: Any = None
    """The candidate's value (abridged when long)."""
    similarity: float | None = None
    """For free text: how similar the two texts are, from 0 to 1."""
    summary: str = ""
    """The change in words, such as ``text changed (0.83 similar)``."""


class Divergence(Model):
    """A typed, located difference between the recorded and the candidate trace."""

    kind: DivergenceKind
    """What changed, from the taxonomy (see ``retake.diff``)."""
    severity: Severity
    """``critical`` fails a check; ``error`` is a likely regression; ``warning`` and ``info``
    are changes a person may want to look at."""
    recorded: int | None = None
    """The recorded step (``seq``) it is located at, if the recording has one."""
    candidate: int | None = None
    """The candidate's step (``seq``) it is located at, if the candidate has one."""
    tool: str | None = None
    """The tool concerned, if any."""
    summary: str
    """One line for people."""
    changes: tuple[FieldChange, ...] = ()
    """The differing fields, for divergences between two aligned events."""


class Suppressed(Model):
    """A difference that was not counted as a divergence, and why."""

    kind: str
    """The divergence kind it would have been, or ``field`` for one field of a pair."""
    recorded: int | None = None
    """The recorded step."""
    candidate: int | None = None
    """The candidate's step."""
    path: str | None = None
    """The field, for a field-level suppression."""
    rule: str
    """The rule that suppressed it: ``text_similarity``, ``number_tolerance``, ``path:<glob>``,
    ``regex:<pattern>``, or ``learned`` (the noise model)."""
    reason: str
    """Why, in words: what the rule or the trials showed."""


class TraceInfo(Model):
    """Which trace a side of the comparison is."""

    session_id: str
    """The session id in the cassette's header."""
    release: str
    """The release that produced it."""
    events: int
    """How many events it has."""


class DiffReport(Model):
    """Everything ``retake.diff.diff`` found, as stable, versioned data."""

    schema_version: int = DIFF_SCHEMA_VERSION
    """The JSON layout's version; always the first field."""
    recorded: TraceInfo
    """The reference trace (the recording)."""
    candidate: TraceInfo
    """The trace compared with it."""
    divergences: tuple[Divergence, ...] = ()
    """What counts, in the candidate's step order (wiring drift first)."""
    suppressed: tuple[Suppressed, ...] = ()
    """What did not count, with the rule that suppressed it."""
    ignored: dict[str, int] = Field(default_factory=dict)
    """Named noise rules that are never reported (``timestamps``, ``durations``, ``ids``,
    ``usage``, ``http``, ``replay_notes``) and how many differing values each ignored."""
    pairs: tuple[Pair, ...] = ()
    """The alignment: every event of both traces exactly once, as ``(recorded, candidate,
    method)``; ``retake.diff.explain`` says why each pair was made."""
    moved: tuple[int, ...] = ()
    """Recorded steps whose pairing runs against the order of the others."""
    noise_trials: int = 0
    """How many trials the noise model learned from (0: no noise model)."""

    @property
    def max_severity(self) -> Severity | None:
        """The highest severity among the divergences, ``None`` when there are none."""
        if not self.divergences:
            return None
        return max((d.severity for d in self.divergences), key=SEVERITIES.index)

    @property
    def critical(self) -> tuple[Divergence, ...]:
        """The critical divergences."""
        return tuple(d for d in self.divergences if d.severity == "critical")

    def of_kind(self, kind: DivergenceKind) -> tuple[Divergence, ...]:
        """The divergences of one kind."""
        return tuple(d for d in self.divergences if d.kind == kind)


class FieldNoise(Model):
    """How one field of one recorded step varied across trials."""

    values: tuple[str, ...] = ()
    """The distinct values the trials showed, canonical JSON, at most a few."""
    distinct: int = 0
    """How many distinct values the trials showed (may exceed ``len(values)``)."""
    low: float | None = None
    """For numbers: the smallest value seen."""
    high: float | None = None
    """For numbers: the largest value seen."""
    min_similarity: float | None = None
    """For free text: the lowest similarity to the recording seen."""


class NoiseModel(Model):
    """What varies on its own when the same release replays the same cassette.

    Learned by ``retake.diff.learn_noise`` from several traces (trials); a candidate's
    difference counts only beyond it.
    """

    session_id: str
    """The recorded session the trials replayed."""
    trials: int
    """How many traces it learned from."""
    fields: dict[str, FieldNoise] = Field(default_factory=dict)
    """``"<recorded step>:<path>"`` -> how that field varied, for fields that did."""
    pairings: dict[str, int] = Field(default_factory=dict)
    """``removed:<step>``, ``moved:<step>``, ``added:<kind>:<tool>`` -> in how many trials."""
