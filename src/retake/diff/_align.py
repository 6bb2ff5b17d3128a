"""Alignment: pair the events of a recorded and a candidate trace.

Three passes, each only over what the previous ones left unpaired:

1. **call id**: a tool call, permission decision, result or audit note pairs with the event of
   the same kind, call id and tool on the other side, when that id is unique on both sides
   (providers reuse ids across sessions, and some traces reuse them inside one).
2. **tool and arguments**: tool calls with the same tool and the same canonical arguments pair
   by occurrence; the permission decisions, results and notes of two paired calls pair with
   each other.
3. **sequence**: between consecutive pairs that keep both traces' order (the longest such
   chain), the remaining events are aligned by their signatures (kind and tool) with
   ``difflib.SequenceMatcher(autojunk=False)``; a stretch replaced on both sides pairs
   events of the same kind in order.

Pairs from passes 1 and 2 that go against the order of the chain are kept, and marked moved.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from retake.schema import Event, PairingMethod

from ._compare import INSTRUCTION_ROLES, projection, system_prompt
from ._rules import IGNORED_RULES

CALL_KINDS = frozenset({"tool_call", "permission", "tool_result", "note"})


TOOL_KINDS = frozenset({"tool_call", "permission", "tool_result"})


def tool_of(event: Event) -> str | None:
    """The tool an event is about, if any (without pydantic's slow missing-attribute path)."""
    return event.tool if event.kind in TOOL_KINDS else None  # type: ignore[union-attr]


def call_id_of(event: Event) -> str | None:
    """The call id an event carries, if any."""
    return event.call_id if event.kind in CALL_KINDS else None  # type: ignore[union-attr]


def signature(event: Event) -> str:
    """The compact signature sequence alignment works on: kind and tool."""
    kind = event.kind
    if kind in TOOL_KINDS:
        return f"{kind}:{event.tool}"  # type: ignore[union-attr]
    if kind == "note":
        return f"note:{event.level}"  # type: ignore[union-attr]
    if kind == "model" and event.response.tool_calls:  # type: ignore[union-attr]
        return "model>" + ",".join(c.name for c in event.response.tool_calls)  # type: ignore[union-attr]
    return kind


def canonical(value: Any) -> str:
    """Canonical JSON of a value, for keys and noise bookkeeping."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except (ValueError, RecursionError):
        return repr(value)


@dataclass
class Alignment:
    """The pairing of two event sequences (positions, which equal ``seq`` in a cassette)."""

    rec_to_cand: list[int | None]
    """For each recorded event, its candidate partner."""
    cand_to_rec: list[int | None]
    """For each candidate event, its recorded partner."""
    method: list[PairingMethod | None] = field(default_factory=list)
    """For each recorded event, how it was paired (``None``: unpaired)."""
    moved: set[int] = field(default_factory=set)
    """Recorded positions whose pairs run against the chain's order."""


def call_groups(events: Sequence[Event]) -> dict[int, list[int]]:
    """Tool-call position -> positions of the events about it (same call id, nearest call)."""
    calls: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(events):
        if e.kind == "tool_call":
            calls[e.call_id].append(i)
    groups: dict[int, list[int]] = {i: [] for ids in calls.values() for i in ids}
    for i, e in enumerate(events):
        if e.kind in ("permission", "tool_result", "note"):
            cid = e.call_id
            owners = calls.get(cid) if cid is not None else None
            if owners:
                owner = owners[0] if len(owners) == 1 else min(owners, key=lambda c: abs(c - i))
                groups[owner].append(i)
    return groups


def _pair(al: Alignment, r: int, c: int, how: PairingMethod) -> None:
    al.rec_to_cand[r] = c
    al.cand_to_rec[c] = r
    al.method[r] = how


def _by_call_id(al: Alignment, rec: Sequence[Event], cand: Sequence[Event], start: int) -> None:
    def index(events: Sequence[Event]) -> dict[tuple[str, str], list[int]]:
        found: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i in range(start, len(events)):
            e = events[i]
            if e.kind in CALL_KINDS:
                cid = e.call_id  # type: ignore[union-attr]
                if cid is not None:
                    found[(e.kind, cid)].append(i)
        return found

    left, right = index(rec), index(cand)
    for key, rs in left.items():
        cs = right.get(key)
        if cs is None or len(rs) != 1 or len(cs) != 1:
            continue
        r, c = rs[0], cs[0]
        if tool_of(rec[r]) == tool_of(cand[c]):
            _pair(al, r, c, "call_id")


def _by_tool_and_arguments(
    al: Alignment, rec: Sequence[Event], cand: Sequence[Event], start: int
) -> None:
    waiting: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in range(start, len(cand)):
        e = cand[i]
        if e.kind == "tool_call" and al.cand_to_rec[i] is None:
            waiting[(e.tool, canonical(e.arguments))].append(i)
    if not waiting:
        return
    new: list[tuple[int, int]] = []
    for i in range(start, len(rec)):
        e = rec[i]
        if e.kind == "tool_call" and al.rec_to_cand[i] is None:
            queue = waiting.get((e.tool, canonical(e.arguments)))
            if queue:
                c = queue.pop(0)
                _pair(al, i, c, "tool_arguments")
                new.append((i, c))
    if not new:
        return
    rec_groups, cand_groups = call_groups(rec), call_groups(cand)
    for r, c in new:
        by_kind: dict[str, list[int]] = defaultdict(list)
        for j in cand_groups.get(c, ()):
            if al.cand_to_rec[j] is None:
                by_kind[cand[j].kind].append(j)
        for i in rec_groups.get(r, ()):
            if al.rec_to_cand[i] is None and by_kind.get(rec[i].kind):
                _pair(al, i, by_kind[rec[i].kind].pop(0), "tool_arguments")


def _chain(al: Alignment, start: int) -> list[int]:
    """Recorded positions of the longest order-keeping chain of pairs (patience method)."""
    rs = [r for r in range(start, len(al.rec_to_cand)) if al.rec_to_cand[r] is not None]
    tails: list[int] = []  # candidate positions
    tail_idx: list[int] = []  # index into rs
    back: list[int] = [-1] * len(rs)
    for k, r in enumerate(rs):
        c = al.rec_to_cand[r]
        assert c is not None
        j = bisect_left(tails, c)
        if j == len(tails):
            tails.append(c)
            tail_idx.append(k)
        else:
            tails[j] = c
            tail_idx[j] = k
        back[k] = tail_idx[j - 1] if j > 0 else -1
    chain: list[int] = []
    k = tail_idx[-1] if tail_idx else -1
    while k >= 0:
        chain.append(rs[k])
        k = back[k]
    chain.reverse()
    return chain


DP_LIMIT = 40_000
"""Stretches up to this many cells (recorded x candidate events) are aligned by a weighted
longest common subsequence that prefers early matches; longer ones by SequenceMatcher."""

_WEIGHT = {"tool_call": 4, "tool_result": 2, "permission": 2, "error": 2}


def _kind(sig: str) -> str:
    return sig.split(":", 1)[0].split(">", 1)[0]


def _weighted_lcs(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Pairs of a best alignment: equal signatures score by kind (tool calls most), and where
    skipping both is as good, two events of the same kind pair as a replacement. Ties go to
    the earliest match, so a divergence shows where the traces part, not after."""
    n, m = len(a), len(b)
    score = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = score[i], score[i + 1]
        ai = a[i]
        w = _WEIGHT.get(_kind(ai), 1)
        for j in range(m - 1, -1, -1):
            best = below[j] if below[j] > row[j + 1] else row[j + 1]
            if ai == b[j] and below[j + 1] + w > best:
                best = below[j + 1] + w
            row[j] = best
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        here = score[i][j]
        if a[i] == b[j] and here == score[i + 1][j + 1] + _WEIGHT.get(_kind(a[i]), 1):
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif here == score[i + 1][j + 1] and _kind(a[i]) == _kind(b[j]):
            pairs.append((i, j))  # replaced: same kind, different tool or decision
            i, j = i + 1, j + 1
        elif here == score[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _fill(
    al: Alignment,
    rec: Sequence[Event],
    cand: Sequence[Event],
    r_span: range,
    c_span: range,
) -> None:
    rs = [i for i in r_span if al.rec_to_cand[i] is None]
    cs = [i for i in c_span if al.cand_to_rec[i] is None]
    if not rs or not cs:
        return
    a, b = [signature(rec[i]) for i in rs], [signature(cand[i]) for i in cs]
    if a == b:
        for r, c in zip(rs, cs, strict=True):
            _pair(al, r, c, "sequence")
        return
    if len(a) * len(b) <= DP_LIMIT:
        for i, j in _weighted_lcs(a, b):
            _pair(al, rs[i], cs[j], "sequence")
        return
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                _pair(al, rs[i1 + k], cs[j1 + k], "sequence")
        elif tag == "replace":
            by_kind: dict[str, list[int]] = defaultdict(list)
            for j in cs[j1:j2]:
                by_kind[cand[j].kind].append(j)
            for i in rs[i1:i2]:
                if by_kind.get(rec[i].kind):
                    _pair(al, i, by_kind[rec[i].kind].pop(0), "sequence")


def same(a: Event, b: Event) -> bool:
    """Whether two events are equal in every field, ids and times included (cheap)."""
    if a.kind != "model":
        # ``kind`` is one of the fields, so events of different kinds differ here too.
        return a.__dict__ == b.__dict__
    if b.kind != "model":
        return False
    x, y = a.request, b.request
    u, v = a.response, b.response
    # Field by field through __dict__: pydantic's __eq__ costs microseconds per nested model.
    return (
        a.t == b.t
        and u.text == v.text
        and u.stop_reason == v.stop_reason
        and _same_models(u.tool_calls, v.tool_calls)
        and (u.usage is None) == (v.usage is None)
        and (u.usage is None or u.usage.__dict__ == v.usage.__dict__)
        and x.params == y.params
        and x.model == y.model
        and x.tools == y.tools
        and len(x.messages) == len(y.messages)
        and _same_instructions(x.messages, y.messages)
    )


def _same_instructions(xs: Sequence[Any], ys: Sequence[Any]) -> bool:
    """The leading system and developer messages (the system prompt, which no earlier event
    of the trace holds) are equal."""
    for p, q in zip(xs, ys, strict=False):
        if p.role not in INSTRUCTION_ROLES and q.role not in INSTRUCTION_ROLES:
            return True
        if p.__dict__ != q.__dict__:
            return False
    return True


def _same_models(xs: Sequence[Any], ys: Sequence[Any]) -> bool:
    if len(xs) != len(ys):
        return False
    if len(xs) == 1:
        return bool(xs[0].__dict__ == ys[0].__dict__)
    return all(p.__dict__ == q.__dict__ for p, q in zip(xs, ys, strict=True))


def count_ignored(a: Event, b: Event, ignored: dict[str, int], *, renamed: bool) -> None:
    """Count, by rule, the fields of two paired events that the named rules leave out
    (``renamed``: their call ids differ)."""
    if a.t != b.t:
        ignored["timestamps"] += 1
    if renamed:
        ignored["ids"] += 1
    kind = a.kind
    if kind == "tool_result" and a.duration != b.duration:  # type: ignore[union-attr]
        ignored["durations"] += 1
    elif kind == "model" and b.kind == "model":
        u, v = a.response.usage, b.response.usage  # type: ignore[union-attr]
        if (u and u.__dict__) != (v and v.__dict__):  # __dict__: pydantic's == is slow
            ignored["usage"] += 1
        if a.http != b.http:  # type: ignore[union-attr]
            ignored["http"] += 1


def alike(a: Event, b: Event) -> bool:
    """Whether two events are equal in every compared field (their projections)."""
    kind = a.kind
    if kind != b.kind:
        return False
    if kind != "model":
        return bool(projection(a) == projection(b))
    x, y = a.request, b.request  # type: ignore[union-attr]
    u, v = a.response, b.response  # type: ignore[union-attr]
    return (
        u.text == v.text
        and u.stop_reason == v.stop_reason
        and len(u.tool_calls) == len(v.tool_calls)
        and all(p.name == q.name for p, q in zip(u.tool_calls, v.tool_calls, strict=True))
        and x.model == y.model
        and x.tools == y.tools
        and x.params == y.params
        and system_prompt(a) == system_prompt(b)  # type: ignore[arg-type]
    )


class _Renaming:
    """Call ids of the recording paired one to one with the candidate's, where a renamed id
    is one the other side never uses."""

    def __init__(self, cand_ids: set[str], rec_ids: set[str]) -> None:
        self.forth: dict[str, str] = {}
        self.back: dict[str, str] = {}
        self.cand_ids, self.rec_ids = cand_ids, rec_ids

    def pair(self, x: str | None, y: str | None) -> bool:
        """Whether ``x`` may be renamed ``y``, given the pairs so far (and pair them)."""
        if x is None or y is None:
            return x is None and y is None
        if self.forth.get(x, y) != y or self.back.get(y, x) != x:
            return False
        if x != y and (x in self.cand_ids or y in self.rec_ids):
            return False
        self.forth[x], self.back[y] = y, x
        return True


@dataclass
class Prefix:
    """The leading events two traces share (see ``common_prefix``)."""

    length: int = 0
    ignored: dict[str, int] = field(default_factory=dict)
    """What the named rules left out there, by rule."""
    renamed: list[int] = field(default_factory=list)
    """Positions of the call events whose ids the candidate minted anew: they pair by tool
    and arguments, not by id."""


def common_prefix(rec: Sequence[Event], cand: Sequence[Event]) -> Prefix:
    """The leading events the two traces share: the fast path for traces that did not diverge.

    Events are shared when they are equal in every field (tried first, from C), or when their
    compared fields (see ``_compare``) are equal and only what the named rules ignore differs:
    times, durations, token counts, raw HTTP, and call ids, which the candidate may mint anew
    as long as they rename the recording's one to one. A model event's request counts by its
    settings and system prompt; the rest of it is the conversation, made of the events
    already compared. A call with events on both sides of where the traces part is left out,
    whole, for the full alignment to pair.
    """
    n = min(len(rec), len(cand))
    strict = n
    # ``map`` drives the loop from C; this runs over every event of every identical pair.
    for i, equal in enumerate(map(same, rec, cand)):
        if not equal:
            strict = i
            break
    if strict == n == len(rec) == len(cand):
        return Prefix(n)
    p = strict
    if strict < n:
        # A new id must be new: one the other side gives another call is not a renaming.
        names = _Renaming(_call_ids(cand), _call_ids(rec))
        for i in range(strict):
            cid = call_id_of(rec[i])
            names.pair(cid, cid)
        while p < n:
            a, b = rec[p], cand[p]
            if not (same(a, b) or alike(a, b)) or not names.pair(call_id_of(a), call_id_of(b)):
                break
            p += 1
    while True:  # leaving a call out may leave another one straddling
        shorter = min(_straddled(rec, p), _straddled(cand, p))
        if shorter == p:
            break
        p = shorter
    found = Prefix(p, dict.fromkeys(IGNORED_RULES, 0))
    for i in range(min(strict, p), p):
        a, b = rec[i], cand[i]
        x, y = call_id_of(a), call_id_of(b)
        if x != y:
            found.renamed.append(i)
        if not same(a, b):
            count_ignored(a, b, found.ignored, renamed=x != y)
    return found


def _call_ids(events: Sequence[Event]) -> set[str]:
    return {e.call_id for e in events if e.kind in CALL_KINDS and e.call_id is not None}  # type: ignore[union-attr]


def _straddled(events: Sequence[Event], p: int) -> int:
    """The first position before ``p`` of a call that has events from ``p`` on (else ``p``)."""
    if p >= len(events):
        return p
    late = {call_id_of(events[i]) for i in range(p, len(events))}
    late.discard(None)
    if not late:
        return p
    for i in range(p):
        if call_id_of(events[i]) in late:
            return i
    return p


def align(rec: Sequence[Event], cand: Sequence[Event], prefix: Prefix | None = None) -> Alignment:
    """Pair the events of two traces; see the module docstring for how. The events of a
    shared ``prefix`` pair with each other."""
    shared = 0 if prefix is None else prefix.length
    head: list[int | None] = list(range(shared))
    paired: list[PairingMethod | None] = ["sequence"] * shared
    for r in () if prefix is None else prefix.renamed:
        paired[r] = "tool_arguments"
    al = Alignment(
        head + [None] * (len(rec) - shared),
        head + [None] * (len(cand) - shared),
        paired + [None] * (len(rec) - shared),
    )
    if shared == len(rec) == len(cand):
        return al
    _by_call_id(al, rec, cand, shared)
    _by_tool_and_arguments(al, rec, cand, shared)
    chain = _chain(al, shared)
    in_chain = set(chain)
    for r in range(shared, len(rec)):
        if al.rec_to_cand[r] is not None and r not in in_chain:
            al.moved.add(r)
    r0, c0 = shared, shared
    for r in chain:
        c = al.rec_to_cand[r]
        assert c is not None
        if r > r0 and c > c0:
            _fill(al, rec, cand, range(r0, r), range(c0, c))
        r0, c0 = r + 1, c + 1
    _fill(al, rec, cand, range(r0, len(rec)), range(c0, len(cand)))
    return al
