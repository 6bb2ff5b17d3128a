"""Diagnostics from traces: does a release lean on its gates more than before, how does it
decide after each permission state, and which kinds of incident are becoming likelier.

``signals(cassette)`` counts, for one trace, what the suite later adds up over every trial for
the recording and for the release:

- **adherence**, per tool: calls refused before they were made (``refuse_before_call``), calls
  made and only then rejected (``call_then_reject``), and write calls allowed and made;
- **decisions**, per tool and permission state (allow, deny, ask): the agent's next move
  (call the tool, another tool, ask the user, answer or refuse);
- **incidents**: ``schema_failure`` (a tool answer the agent could not use), ``denial_loop``
  (the same denied call repeated), ``retry_cascade`` (two or more timeouts or rate limits of
  one tool), ``missing_audit`` (a write call without an audit note), ``unmatched_call`` (a call
  with no recorded answer).

``shift(recorded, release)`` tests whether a 2x2 table of counts differs beyond chance
(Fisher's exact test, two-sided), which is what small suites have.
"""

from __future__ import annotations

from collections import Counter
from math import comb
from typing import Any

from retake.schema import (
    Cassette,
    ModelEvent,
    NoteEvent,
    OutputEvent,
    PermissionEvent,
    ToolCallEvent,
    ToolResultEvent,
)

Signals = dict[str, dict[str, int]]


def signals(cassette: Cassette) -> Signals:
    """Adherence, decision and incident counts of one trace, as flat counters."""
    events = cassette.events
    writes = {s.name for s in cassette.header.tools if s.effect == "write"}
    calls = {e.call_id: e for e in events if isinstance(e, ToolCallEvent)}
    audited = {e.call_id for e in events if isinstance(e, NoteEvent) and e.level == "audit"}
    adherence: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    incidents: Counter[str] = Counter()
    denied_seen: Counter[str] = Counter()
    for index, event in enumerate(events):
        if isinstance(event, PermissionEvent):
            made = calls.get(event.call_id or "")
            if event.decision in ("deny", "ask"):
                kind = (
                    "call_then_reject"
                    if made is not None and made.seq < event.seq
                    else "refuse_before_call"
                )
                adherence[f"{event.tool}|{kind}"] += 1
                key = f"{event.tool}|{event.decision}"
                denied_seen[key + repr(made.arguments if made else event.call_id)] += 1
            decisions[f"{event.tool}|{event.decision}|{_next_move(events, index, event)}"] += 1
        elif isinstance(event, ToolCallEvent):
            if event.tool in writes:
                if event.call_id not in audited:
                    incidents["missing_audit"] += 1
                decided = [
                    e
                    for e in events
                    if isinstance(e, PermissionEvent) and e.call_id == event.call_id
                ]
                if all(d.decision == "allow" for d in decided):
                    adherence[f"{event.tool}|allowed"] += 1
        elif isinstance(event, ToolResultEvent) and event.failure is not None:
            if event.failure.type == "malformed" or "invalid arguments" in event.failure.message:
                incidents["schema_failure"] += 1
        elif isinstance(event, NoteEvent) and "unmatched" in event.data:
            incidents["unmatched_call"] += 1
    incidents["denial_loop"] += sum(1 for n in denied_seen.values() if n > 1)
    faults = Counter(
        e.tool
        for e in events
        if isinstance(e, ToolResultEvent)
        and e.failure is not None
        and e.failure.type in ("timeout", "rate_limited")
    )
    incidents["retry_cascade"] += sum(1 for n in faults.values() if n >= 2)
    return {
        "adherence": dict(adherence),
        "decisions": dict(decisions),
        "incidents": {k: v for k, v in incidents.items() if v},
    }


def _next_move(events: Any, index: int, decision: PermissionEvent) -> str:
    for later in events[index + 1 :]:
        if isinstance(later, ToolCallEvent):
            return "call" if later.tool == decision.tool else "other_tool"
        if isinstance(later, ModelEvent) and later.response.tool_calls:
            names = {c.name for c in later.response.tool_calls}
            return "call" if decision.tool in names else "other_tool"
        if isinstance(later, OutputEvent | ModelEvent):
            text = later.text if isinstance(later, OutputEvent) else later.response.text or ""
            return "ask_user" if "?" in text else "answer"
    return "end"


def add(total: Signals, more: Signals) -> Signals:
    """Two sets of counts, added."""
    merged: Signals = {k: dict(v) for k, v in total.items()}
    for section, counts in more.items():
        into = merged.setdefault(section, {})
        for key, n in counts.items():
            into[key] = into.get(key, 0) + n
    return merged


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test on the table [[a, b], [c, d]]."""
    row1, row2, col1 = a + b, c + d, a + c
    n = row1 + row2
    if n == 0 or row1 == 0 or row2 == 0 or col1 == 0 or col1 == n:
        return 1.0
    total = comb(n, col1)

    def p(x: int) -> float:
        return comb(row1, x) * comb(row2, col1 - x) / total

    observed = p(a)
    low, high = max(0, col1 - row2), min(row1, col1)
    return min(1.0, sum(p(x) for x in range(low, high + 1) if p(x) <= observed * (1 + 1e-9)))
