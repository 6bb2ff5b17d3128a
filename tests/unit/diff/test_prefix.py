"""The fast path for traces that did not diverge: a run of the same behaviour again (new
times, durations and call ids) pairs step by step and reports nothing, and wherever the
traces part, the report is the one the full alignment gives."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from retake import store
from retake.diff import _engine, diff, explain
from retake.diff._align import Prefix, common_prefix
from retake.schema import Cassette, Event, ToolCallEvent

ROOT = Path(__file__).resolve().parents[3]
BUNDLED = sorted((ROOT / "cassettes").glob("*.retake"))


def rerun(cassette: Cassette, ids: dict[str, str] | None = None) -> Cassette:
    """The same behaviour run again: later times, slower tools, call ids minted anew."""
    ids = {} if ids is None else ids
    events = []
    for event in cassette.events:
        update: dict[str, Any] = {"t": event.t + 1.5}
        cid = getattr(event, "call_id", None)
        if cid is not None:
            update["call_id"] = ids.setdefault(cid, f"run2-{len(ids)}")
        if event.kind == "tool_result":
            update["duration"] = event.duration + 0.01
        events.append(event.model_copy(update=update))
    return cassette.model_copy(update={"events": tuple(events)})


def reindexed(events: list[Event]) -> tuple[Event, ...]:
    return tuple(e.model_copy(update={"seq": i}) for i, e in enumerate(events))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_a_rerun_with_new_times_and_ids_reports_nothing_and_pairs_step_by_step(
    path: Path,
) -> None:
    recorded = store.load(path)
    again = rerun(recorded)
    report = diff(recorded, again)
    assert report.divergences == ()
    assert [(r, c) for r, c, _ in report.pairs] == [(i, i) for i in range(len(recorded.events))]
    calls = [e for e in recorded.events if getattr(e, "call_id", None) is not None]
    results = [e for e in recorded.events if e.kind == "tool_result"]
    assert report.ignored.get("timestamps") == len(recorded.events)
    assert report.ignored.get("ids", 0) == len(calls)
    assert report.ignored.get("durations", 0) == len(results)
    for line, e in zip(explain(report, recorded, again), recorded.events, strict=True):
        if e.kind == "tool_call":
            assert "same tool and arguments" in line


def without_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_engine, "common_prefix", lambda rec, cand: Prefix())


def what(cassette: Cassette, candidate: Cassette) -> list[tuple[Any, ...]]:
    return [
        (d.kind, d.severity, d.recorded, d.candidate, d.tool, d.summary)
        for d in diff(cassette, candidate).divergences
    ]


def perturbations(recorded: Cassette, rng: random.Random) -> list[tuple[str, Cassette]]:
    """Candidates that part from a rerun of ``recorded`` at a random step, in several ways."""
    base = rerun(recorded)
    events = list(base.events)
    calls = [i for i, e in enumerate(events) if isinstance(e, ToolCallEvent)]
    out = []
    if calls:
        k = rng.choice(calls)
        changed = events[k].model_copy(update={"arguments": {"order_id": "A-999"}})
        out.append(("arguments changed", [*events[:k], changed, *events[k + 1 :]]))
        out.append(("call dropped", events[:k] + events[k + 1 :]))
        out.append(("call repeated", [*events[: k + 1], events[k], *events[k + 1 :]]))
        # the id of the call's result no longer follows the renaming
        later = [j for j in range(k + 1, len(events)) if getattr(events[j], "call_id", None)]
        if later:
            j = later[0]
            out.append(
                (
                    "id broken",
                    [
                        *events[:j],
                        events[j].model_copy(update={"call_id": "stray"}),
                        *events[j + 1 :],
                    ],
                )
            )
    k = rng.randrange(len(events))
    out.append(("truncated", events[:k]))
    out.append(("event moved", events[:k] + events[k + 1 :] + events[k : k + 1]))
    return [(name, base.model_copy(update={"events": reindexed(list(es))})) for name, es in out]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_where_the_traces_part_the_report_is_the_full_alignments(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = store.load(path)
    rng = random.Random(path.stem)
    cases = perturbations(recorded, rng)
    fast = {name: what(recorded, candidate) for name, candidate in cases}
    without_fast_path(monkeypatch)
    full = {name: what(recorded, candidate) for name, candidate in cases}
    assert fast == full
    assert any(fast[name] for name in fast), "the perturbations must diverge"


def test_ids_that_do_not_rename_one_to_one_end_the_shared_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded = store.load(ROOT / "cassettes" / "refund-within-limit.retake")
    # Two recorded calls given one new id: not a renaming, so the fast path stops there, and
    # leaves the first call out too, since the candidate's id for it has events past the stop.
    first, second = [e for e in recorded.events if isinstance(e, ToolCallEvent)][:2]
    again = rerun(recorded, {first.call_id: "shared", second.call_id: "shared"})
    stop = next(e.seq for e in recorded.events if getattr(e, "call_id", None) == first.call_id)
    assert common_prefix(recorded.events, again.events).length == stop
    fast = what(recorded, again)
    without_fast_path(monkeypatch)
    assert fast == what(recorded, again)


def test_a_trace_cut_short_still_reports_what_became_of_its_last_call() -> None:
    # The recording ends just after a refund call; the candidate goes on: the gate denies the
    # call after it was made. The call straddles the end of the shared part.
    recorded = store.load(ROOT / "cassettes" / "refund-within-limit.retake")
    events = list(recorded.events)
    call = next(
        i for i, e in enumerate(events) if e.kind == "tool_call" and e.tool == "issue_refund"
    )
    gate = next(
        i
        for i in range(call)
        if events[i].kind == "permission" and events[i].tool == "issue_refund"
    )
    cut = [*events[:gate], events[call]]
    denied = events[gate].model_copy(update={"decision": "deny"})
    going_on = [*events[:gate], events[call], denied, *events[call + 1 :]]
    short = recorded.model_copy(update={"events": reindexed(cut)})
    longer = recorded.model_copy(update={"events": reindexed(going_on)})
    assert "called_then_rejected" in {d.kind for d in diff(short, longer).divergences}


def test_ids_swapped_between_two_calls_are_not_a_renaming(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = store.load(ROOT / "cassettes" / "refund-rate-limited-retry.retake")
    ids = [e.call_id for e in recorded.events if isinstance(e, ToolCallEvent)]
    swapped = rerun(recorded, {ids[-1]: ids[-2], ids[-2]: ids[-1]})
    fast = what(recorded, swapped)
    without_fast_path(monkeypatch)
    assert fast == what(recorded, swapped)
    assert fast, "a call answered under another call's id diverges"
