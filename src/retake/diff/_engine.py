"""The engine: align, compare, judge against the rules and the noise model, classify."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from retake._collector import paused
from retake.errors import DiffError
from retake.schema import (
    Cassette,
    DiffReport,
    Divergence,
    Effect,
    Event,
    NoiseModel,
    Pair,
    Suppressed,
    TraceInfo,
    WiringChange,
)

from ._align import (
    Alignment,
    align,
    call_id_of,
    common_prefix,
    count_ignored,
    same,
    signature,
    tool_of,
)
from ._compare import Comparer, RawChange, projection, short, value_at
from ._noise import TrialObservation, build_noise, field_noise, pairing_noise
from ._rules import IGNORED_RULES, DiffConfig
from ._taxonomy import Classifier, Finding, wiring_between, wiring_findings

_KIND = attrgetter("kind")


@dataclass
class _Raw:
    rec: Sequence[Event]
    cand: Sequence[Event]
    rec_seq: Sequence[int]
    cand_seq: Sequence[int]
    al: Alignment
    changes: dict[int, list[RawChange]]
    ignored: dict[str, int]
    replay_notes: list[int]
    prefix: int


def _behaviour(events: Sequence[Event]) -> tuple[Sequence[Event], Sequence[int], list[int]]:
    """The events that are the agent's behaviour, their seqs, and the replay notes' seqs."""
    if "note" not in map(_KIND, events):  # a scan driven from C: most traces have no notes
        return events, range(len(events)), []
    kept, seqs, notes = [], [], []
    for e in events:
        if e.kind == "note" and e.level == "replay":
            notes.append(e.seq)
        else:
            kept.append(e)
            seqs.append(e.seq)
    return kept, seqs, notes


def _raw(recorded: Cassette, candidate: Cassette, comparer: Comparer) -> _Raw:
    rec, rec_seq, rec_notes = _behaviour(recorded.events)
    cand, cand_seq, cand_notes = _behaviour(candidate.events)
    shared = common_prefix(rec, cand)
    prefix = shared.length
    al = align(rec, cand, shared)
    ignored = {**dict.fromkeys(IGNORED_RULES, 0), **shared.ignored}
    changes: dict[int, list[RawChange]] = {}
    for r in range(prefix, len(rec)):
        c = al.rec_to_cand[r]
        if c is None:
            continue
        a, b = rec[r], cand[c]
        if same(a, b):
            continue
        count_ignored(a, b, ignored, renamed=call_id_of(a) != call_id_of(b))
        if a.kind != b.kind:
            continue
        found = comparer.compare(a.kind, projection(a), projection(b))
        if found:
            changes[r] = found
    ignored["replay_notes"] = len(rec_notes) + len(cand_notes)
    return _Raw(rec, cand, rec_seq, cand_seq, al, changes, ignored, rec_notes + cand_notes, prefix)


def _effects(recorded: Cassette, candidate: Cassette, config: DiffConfig) -> dict[str, Effect]:
    effects = {t.name: t.effect for t in recorded.header.tools}
    effects.update({t.name: t.effect for t in candidate.header.tools})
    effects.update(dict.fromkeys(config.write_tools, "write"))
    return effects


@paused()  # a diff builds thousands of pairs and frees no cycles: no collection meanwhile
def diff(
    recorded: Cassette,
    candidate: Cassette,
    *,
    noise: NoiseModel | None = None,
    canaries: Iterable[str] = (),
    wiring: Iterable[WiringChange] | None = None,
    config: DiffConfig | None = None,
    shown: Cassette | None = None,
) -> DiffReport:
    """Compare a candidate trace with the recorded one, step by step.

    ``noise``: a noise model from ``learn_noise`` (differences within it are suppressed);
    ``canaries``: tokens that must never leave through a tool argument or the answer;
    ``wiring``: the replay's wiring drift (default: read from the two headers' tool specs);
    ``config``: the comparison's tolerances and user noise rules;
    ``shown``: the candidate as the report may show it, redacted (the same events): the
    comparison reads ``candidate``, so a value redaction rewrites (a canary among them) is
    still seen, and the report's values and summaries come from ``shown``.
    """
    config = config or DiffConfig()
    if shown is not None and [e.kind for e in shown.events] != [e.kind for e in candidate.events]:
        raise DiffError(
            "the shown candidate does not hold the candidate's events; pass a redacted copy "
            "of the same trace"
        )
    comparer = Comparer(config)
    raw = _raw(recorded, candidate, comparer)
    suppressed: list[Suppressed] = []
    for r, found in list(raw.changes.items()):
        kept = []
        for change in found:
            reason, rule = change.reason, change.suppressed_by
            if rule is None and noise is not None:
                learned = field_noise(noise, r, change)
                if learned is not None:
                    reason, rule = learned, "learned"
            if rule is None:
                kept.append(change)
                continue
            c = raw.al.rec_to_cand[r]
            suppressed.append(
                Suppressed(
                    kind="field",
                    recorded=raw.rec_seq[r],
                    candidate=None if c is None else raw.cand_seq[c],
                    path=change.path,
                    rule=rule,
                    reason=reason,
                )
            )
        if kept:
            raw.changes[r] = kept
        else:
            del raw.changes[r]
    shown_events = None
    if shown is not None:  # by seq: redaction may have rewritten what told notes apart
        shown_events = [shown.events[seq] for seq in raw.cand_seq]
        for r, found in raw.changes.items():
            c = raw.al.rec_to_cand[r]
            if c is not None:
                for change in found:
                    change.candidate_shown = (
                        None if change.candidate is None else value_at(shown_events[c], change.path)
                    )
    drift = (
        wiring_between(recorded.header.tools, candidate.header.tools)
        if wiring is None
        else list(wiring)
    )
    classifier = Classifier(
        raw.rec,
        raw.cand,
        raw.al,
        raw.changes,
        _effects(recorded, candidate, config),
        tuple(canaries),
        prefix=raw.prefix,
        shown=shown_events,
    )
    findings = wiring_findings(drift) + classifier.run()
    divergences: list[tuple[float, Divergence]] = []
    for f in findings:
        rec_seq = None if f.rec is None else raw.rec_seq[f.rec]
        cand_seq = None if f.cand is None else raw.cand_seq[f.cand]
        if noise is not None and f.key is not None:
            learned = pairing_noise(noise, f.key)
            if learned is not None:
                if f.severity != "critical":
                    suppressed.append(
                        Suppressed(
                            kind=f.kind,
                            recorded=rec_seq,
                            candidate=cand_seq,
                            rule="learned",
                            reason=learned,
                        )
                    )
                    continue
                f.summary += f" (never suppressed as critical, though {learned})"
        divergences.append(
            (
                _position(f, raw),
                Divergence(
                    kind=f.kind,
                    severity=f.severity,
                    recorded=rec_seq,
                    candidate=cand_seq,
                    tool=f.tool,
                    summary=f.summary,
                    changes=tuple(x.to_model() for x in f.changes),
                ),
            )
        )
    divergences.sort(key=lambda item: item[0])
    seqs = raw.cand_seq
    mapped = (
        raw.al.rec_to_cand
        if isinstance(seqs, range)
        else [None if c is None else seqs[c] for c in raw.al.rec_to_cand]
    )
    pairs: list[Pair] = list(zip(raw.rec_seq, mapped, raw.al.method, strict=True))
    pairs.extend(
        (None, raw.cand_seq[c], None) for c, r in enumerate(raw.al.cand_to_rec) if r is None
    )
    pairs.extend(
        (None, s, None)
        for s in raw.replay_notes
        if s < len(candidate.events) and _is_note(candidate, s)
    )
    pairs.extend(
        (s, None, None)
        for s in raw.replay_notes
        if s < len(recorded.events) and _is_note(recorded, s)
    )
    # Built without re-validation: every value above comes from validated cassettes and the
    # engine's own typed results, and a 2,000-step trace has thousands of pairs.
    return DiffReport.model_construct(
        recorded=_info(recorded),
        candidate=_info(candidate),
        divergences=tuple(d for _, d in divergences),
        suppressed=tuple(suppressed),
        ignored={k: v for k, v in raw.ignored.items() if v},
        pairs=tuple(pairs),
        moved=tuple(sorted(raw.rec_seq[r] for r in raw.al.moved)),
        noise_trials=0 if noise is None else noise.trials,
    )


def _is_note(cassette: Cassette, seq: int) -> bool:
    e = cassette.events[seq]
    return e.kind == "note" and e.level == "replay"


def _position(f: Finding, raw: _Raw) -> float:
    """Where a finding sits in the candidate's order (wiring drift first)."""
    if f.kind == "wiring_drift":
        return -1.0
    if f.cand is not None:
        return float(f.cand)
    if f.rec is None:
        return float("inf")
    for r in range(f.rec, -1, -1):  # just after the candidate step of the last paired event
        c = raw.al.rec_to_cand[r]
        if c is not None:
            return c + 0.5
    return -0.5


def _info(cassette: Cassette) -> TraceInfo:
    return TraceInfo(
        session_id=cassette.header.session_id,
        release=cassette.header.release,
        events=len(cassette.events),
    )


@paused()
def learn_noise(
    recorded: Cassette, trials: Sequence[Cassette], *, config: DiffConfig | None = None
) -> NoiseModel:
    """Learn what varies on its own from ``trials``: traces of one release replaying
    ``recorded``. Needs at least two trials (variation is disagreement among them)."""
    if len(trials) < 2:
        raise DiffError(
            f"learning noise needs at least 2 trials, got {len(trials)}; "
            "replay the cassette more times (trials) and pass every candidate trace"
        )
    comparer = Comparer(config or DiffConfig())
    observed = []
    for trial in trials:
        raw = _raw(recorded, trial, comparer)
        o = TrialObservation(paired={r for r, c in enumerate(raw.al.rec_to_cand) if c is not None})
        for r, found in raw.changes.items():
            for change in found:
                if change.suppressed_by is None:
                    o.changes[f"{r}:{change.path}"] = change
        o.pairings.update(f"removed:{r}" for r, c in enumerate(raw.al.rec_to_cand) if c is None)
        o.pairings.update(f"moved:{r}" for r in raw.al.moved)
        o.pairings.update(
            f"added:{e.kind}:{tool_of(e)}"
            for c, e in enumerate(raw.cand)
            if raw.al.cand_to_rec[c] is None
        )
        observed.append(o)
    return build_noise(recorded.header.session_id, observed)


def explain(report: DiffReport, recorded: Cassette, candidate: Cassette) -> list[str]:
    """One line per pair of the report, saying why the alignment made it."""
    lines = []
    for r, c, method in report.pairs:
        a = None if r is None else recorded.events[r]
        b = None if c is None else candidate.events[c]
        lines.append(explain_pair(a, b, method))
    return lines


def explain_pair(a: Event | None, b: Event | None, method: str | None) -> str:
    """Why two events were paired, or why one found no partner."""
    if a is None and b is not None:
        if b.kind == "note" and b.level == "replay":
            return f"candidate step {b.seq} ({signature(b)}): a replay harness note, not behaviour"
        return (
            f"candidate step {b.seq} ({signature(b)}): no recorded event with its call id, its "
            "tool and arguments, or its signature at this point of the sequence"
        )
    if b is None and a is not None:
        return (
            f"recorded step {a.seq} ({signature(a)}): no candidate event with its call id, its "
            "tool and arguments, or its signature at this point of the sequence"
        )
    assert a is not None and b is not None
    head = f"recorded step {a.seq} <-> candidate step {b.seq}"
    if method == "call_id":
        return f"{head}: same {a.kind}, tool and call id {getattr(a, 'call_id', '')!r}"
    if method == "tool_arguments":
        if a.kind == "tool_call":
            return f"{head}: same tool and arguments, {a.tool}({short(a.arguments, 60)})"
        return f"{head}: the {a.kind} of two calls paired by tool and arguments"
    return f"{head}: sequence alignment of signatures {signature(a)!r} / {signature(b)!r}"
