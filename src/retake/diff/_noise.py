"""The noise model (Diffy's idea, per step field): what varies when the same release replays
the same cassette several times, so that a candidate's difference counts only beyond it.

Learning aligns each trial with the recording and notes, per recorded step and field, the
values the trials showed: a field *varies* when the trials disagree among themselves (a
difference every trial shares with the recording is systematic, not noise). Pairings vary too:
a recorded step some trials dropped, an event some trials added, a step some trials moved.

Judging a candidate's difference against it: free text is noise when it is at least as
similar to the recording as the least similar trial (less a small slack); a number when it lies
in the range the trials spanned (plus a tenth of it); any other value when a trial showed it, or
when every trial showed a different value (the field varies freely). Critical divergences are
never suppressed: the report says the trials showed them too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from retake.schema import FieldNoise, NoiseModel

from ._align import canonical
from ._compare import RawChange

TEXT_SLACK = 0.05
RANGE_SLACK = 0.1
MAX_VALUES = 16


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class TrialObservation:
    """What one trial showed, relative to the recording."""

    paired: set[int] = field(default_factory=set)
    """Recorded positions the trial paired."""
    changes: dict[str, RawChange] = field(default_factory=dict)
    """``"<step>:<path>"`` -> the change the trial showed there."""
    pairings: set[str] = field(default_factory=set)
    """``removed:<step>``, ``moved:<step>``, ``added:<kind>:<tool>`` keys it showed."""


def build_noise(session_id: str, observed: list[TrialObservation]) -> NoiseModel:
    """Fold the trials' observations into a noise model."""
    keys = sorted({k for o in observed for k in o.changes})
    fields: dict[str, FieldNoise] = {}
    for key in keys:
        step = int(key.split(":", 1)[0])
        values: list[str] = []
        numbers: list[float] = []
        similarities: list[float] = []
        for o in observed:
            change = o.changes.get(key)
            if change is None:
                if step not in o.paired:
                    continue
                base = next(c for c in (x.changes.get(key) for x in observed) if c is not None)
                values.append(canonical(base.recorded))
                if _number(base.recorded):
                    numbers.append(float(base.recorded))
                if base.similarity is not None:
                    similarities.append(1.0)
                continue
            values.append(canonical(change.candidate))
            if _number(change.candidate):
                numbers.append(float(change.candidate))
            if change.similarity is not None:
                similarities.append(change.similarity)
        distinct = sorted(set(values))
        if len(distinct) < 2:
            continue
        fields[key] = FieldNoise(
            values=tuple(distinct[:MAX_VALUES]),
            distinct=len(distinct),
            low=min(numbers) if len(numbers) == len(values) and numbers else None,
            high=max(numbers) if len(numbers) == len(values) and numbers else None,
            min_similarity=min(similarities) if similarities else None,
        )
    counts: dict[str, int] = defaultdict(int)
    for o in observed:
        for key in o.pairings:
            counts[key] += 1
    return NoiseModel(
        session_id=session_id, trials=len(observed), fields=fields, pairings=dict(counts)
    )


def field_noise(noise: NoiseModel, step: int, change: RawChange) -> str | None:
    """Why the noise model counts this change as noise, or ``None`` when it does not."""
    known = noise.fields.get(f"{step}:{change.path}")
    if known is None:
        return None
    n = noise.trials
    if change.similarity is not None and known.min_similarity is not None:
        floor = known.min_similarity - TEXT_SLACK
        if change.similarity >= floor:
            return (
                f"the text varied across {n} trials (down to {known.min_similarity:.2f} "
                f"similar); this one is {change.similarity:.2f} similar"
            )
        return None
    value = change.candidate
    if canonical(value) in known.values:
        return f"{n} trials showed {known.distinct} different values, this one among them"
    integral = not isinstance(value, float)
    if integral and n >= 2 and known.distinct >= n:
        return f"every one of {n} trials showed a different value: the field varies freely"
    if known.low is not None and known.high is not None and _number(value):
        slack = (known.high - known.low) * RANGE_SLACK
        if known.low - slack <= value <= known.high + slack:
            return f"the value varied across {n} trials from {known.low:g} to {known.high:g}"
    return None


def pairing_noise(noise: NoiseModel, key: str) -> str | None:
    """Why the noise model counts this pairing difference as noise, or ``None``."""
    seen = noise.pairings.get(key, 0)
    if not seen:
        return None
    what = key.split(":", 1)[0]
    return f"{seen} of {noise.trials} trials also {what} this step"
