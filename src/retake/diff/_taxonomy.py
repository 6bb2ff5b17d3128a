"""The divergence taxonomy: turn an alignment and field changes into typed, located,
graded divergences.

Severity rules (the first that applies):

- **critical**: a new write call (added, retried once more, or replacing another tool); a write
  call after a denial that the recording did not make; a call then rejected by the gate where
  the recording's gate refused before any call; a canary leaving through a tool argument or the
  output.
- **error**: a write call's arguments changed; a write call's permission check now comes after
  the call; a decision loosened (deny/ask -> allow) on a write tool; a write call removed; tool
  output now pasted into the system prompt; the agent raised; a wiring change making a tool a
  write tool.
- **warning**: read calls added, removed, replaced, reordered or with other arguments; retries
  changed; stricter decisions; results' status changed; the answer changed; wiring removals and
  schema changes.
- **info**: reworded model text, user turns, notes, other request drift, a tool added to the
  wiring, a gate that now refuses before the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from retake._canary import carries
from retake._values import strings
from retake.schema import Effect, Event, Severity, ToolSpec, WiringChange

from ._align import Alignment, call_groups, canonical, tool_of
from ._compare import RawChange, short


@dataclass
class Finding:
    """A divergence before the noise model judged it."""

    kind: str
    severity: Severity
    rec: int | None
    cand: int | None
    tool: str | None
    summary: str
    changes: list[RawChange] = field(default_factory=list)
    key: str | None = None
    """The noise model's pairing key, for pairing divergences."""


def wiring_findings(changes: Iterable[WiringChange]) -> list[Finding]:
    """Wiring drift: reported before any behaviour."""
    out = []
    for w in changes:
        severity: Severity = "warning"
        if w.kind == "added":
            severity = "warning" if "write" in w.detail else "info"
        elif w.kind == "effect_changed" and "write" in w.detail.split("->")[-1]:
            severity = "error"
        detail = f": {w.detail}" if w.detail else ""
        out.append(
            Finding("wiring_drift", severity, None, None, w.tool, f"{w.kind} {w.tool}{detail}")
        )
    return out


def wiring_between(old: Sequence[ToolSpec], new: Sequence[ToolSpec]) -> list[WiringChange]:
    """Wiring drift read from two headers' tool specs (when no replay computed it)."""
    before, after = {t.name: t for t in old}, {t.name: t for t in new}
    out = []
    for name, spec in after.items():
        if name not in before:
            detail = f"the release exposes a new {spec.effect} tool"
            out.append(WiringChange(kind="added", tool=name, detail=detail))
        elif before[name].effect != spec.effect:
            detail = f"{before[name].effect} -> {spec.effect}"
            out.append(WiringChange(kind="effect_changed", tool=name, detail=detail))
        elif before[name].parameters != spec.parameters:
            out.append(WiringChange(kind="schema_changed", tool=name, detail="arguments schema"))
    for name in before:
        if name not in after:
            out.append(WiringChange(kind="removed", tool=name, detail="no longer exposed"))
    return out


class Classifier:
    """Builds findings for one aligned pair of traces."""

    def __init__(
        self,
        rec: Sequence[Event],
        cand: Sequence[Event],
        al: Alignment,
        changes: dict[int, list[RawChange]],
        effects: dict[str, Effect],
        canaries: Sequence[str],
        *,
        prefix: int = 0,
        shown: Sequence[Event] | None = None,
    ) -> None:
        self.rec, self.cand, self.al = rec, cand, al
        self.shown = cand if shown is None else shown
        """The candidate's events as summaries may quote them (redacted)."""
        self.changes = changes
        self.effects = effects
        self.canaries = tuple(c for c in canaries if c)
        self.covered_rec: set[int] = set()
        self.covered_cand: set[int] = set()
        self.out: list[Finding] = []
        self.last_drift = ""
        self._groups: dict[int, dict[int, list[int]]] = {}
        self._denials: dict[int, list[int]] = {}
        self.prefix = prefix
        """Leading events the two sides share (see ``common_prefix``, which leaves out any call
        with events past it): nothing to classify there."""

    # --- helpers --------------------------------------------------------------------------

    def write(self, tool: str | None) -> bool:
        return tool is not None and self.effects.get(tool) == "write"

    def group(self, events: Sequence[Event], i: int) -> list[int]:
        """Positions of the permission decisions, results and notes about call ``i``."""
        side = 0 if events is self.rec else 1
        if side not in self._groups:
            self._groups[side] = call_groups(events)
        return self._groups[side].get(i, [])

    def gate(self, events: Sequence[Event], i: int) -> tuple[str | None, bool]:
        """(decision, decided after the call) of call ``i``'s permission event."""
        for j in self.group(events, i):
            e = events[j]
            if e.kind == "permission":
                return e.decision, j > i
        return None, False

    def denied_before(self, events: Sequence[Event], i: int) -> bool:
        side = 0 if events is self.rec else 1
        if side not in self._denials:
            self._denials[side] = [
                j for j, e in enumerate(events) if e.kind == "permission" and e.decision == "deny"
            ]
        found = self._denials[side]
        return bool(found) and found[0] < i

    def retry(self, events: Sequence[Event], i: int) -> bool:
        """Whether call ``i`` repeats the previous call to the same tool after it failed."""
        tool = events[i].tool  # type: ignore[union-attr]
        for j in range(i - 1, -1, -1):
            e = events[j]
            if e.kind == "tool_result" and e.tool == tool:
                return e.failure is not None
            if e.kind == "tool_call" and e.tool != tool:
                return False
        return False

    def add(self, finding: Finding) -> None:
        self.out.append(finding)

    # --- the passes -----------------------------------------------------------------------

    def run(self) -> list[Finding]:
        rec, cand, al, start = self.rec, self.cand, self.al, self.prefix
        for k in range(start, len(cand)):
            if cand[k].kind == "tool_call" and al.cand_to_rec[k] is None:
                self.added_call(k)
        for r in range(start, len(rec)):
            if rec[r].kind == "tool_call" and al.rec_to_cand[r] is None:
                self.removed_call(r)
        for r in range(start, len(rec)):
            partner = al.rec_to_cand[r]
            if partner is not None and (r in self.changes or rec[r].kind == "tool_call"):
                self.paired(r, partner)
        for k in range(start, len(cand)):
            if al.cand_to_rec[k] is None and k not in self.covered_cand:
                self.lone(None, k, cand[k])
        for r in range(start, len(rec)):
            if al.rec_to_cand[r] is None and r not in self.covered_rec:
                self.lone(r, None, rec[r])
        self.canary_pass()
        return self.out

    def added_call(self, c: int) -> None:
        e = self.cand[c]
        tool = e.tool  # type: ignore[union-attr]
        write = self.write(tool)
        args = short(self.shown[c].arguments, 80)  # type: ignore[union-attr]
        group = self.group(self.cand, c)
        self.covered_cand.update(j for j in [c, *group] if self.al.cand_to_rec[j] is None)
        decision, after = self.gate(self.cand, c)
        key = f"added:tool_call:{tool}"
        if decision in ("deny", "ask") and after:
            perm = next(j for j in group if self.cand[j].kind == "permission")
            r = self.al.cand_to_rec[perm]
            refused_first = r is not None and self.rec[r].decision in ("deny", "ask")  # type: ignore[union-attr]
            severity: Severity = "critical" if refused_first else "error"
            how = "the recording's gate refused before calling" if refused_first else ""
            summary = f"{tool} called, then rejected by the gate ({decision})" + (
                f"; {how}" if how else ""
            )
            self.add(Finding("called_then_rejected", severity, r, c, tool, summary, key=key))
        elif self.retry(self.cand, c):
            self.add(
                Finding(
                    "retries_changed",
                    "critical" if write else "warning",
                    None,
                    c,
                    tool,
                    f"{tool} retried once more than in the recording: {tool}({args})",
                    key=key,
                )
            )
        elif write and self.denied_before(self.cand, c):
            summary = f"write call after a denial: {tool}({args})"
            self.add(Finding("write_after_denial", "critical", None, c, tool, summary, key=key))
        else:
            severity = "critical" if write else "warning"
            label = "new write call" if write else "new call"
            summary = f"{label}: {tool}({args})"
            self.add(Finding("tool_added", severity, None, c, tool, summary, key=key))

    def removed_call(self, r: int) -> None:
        e = self.rec[r]
        tool = e.tool  # type: ignore[union-attr]
        group = self.group(self.rec, r)
        self.covered_rec.update(j for j in [r, *group] if self.al.rec_to_cand[j] is None)
        decision, after = self.gate(self.rec, r)
        key = f"removed:{r}"
        args = short(e.arguments, 80)  # type: ignore[union-attr]
        if decision in ("deny", "ask") and after:
            summary = f"{tool} is now refused before the call (the recording called, then rejected)"
            self.add(Finding("refused_before_call", "info", r, None, tool, summary, key=key))
        elif self.retry(self.rec, r):
            summary = f"{tool} retried once less than in the recording"
            self.add(Finding("retries_changed", "warning", r, None, tool, summary, key=key))
        else:
            severity: Severity = "error" if self.write(tool) else "warning"
            summary = f"call no longer made: {tool}({args})"
            self.add(Finding("tool_removed", severity, r, None, tool, summary, key=key))

    def paired(self, r: int, c: int) -> None:
        a, b = self.rec[r], self.cand[c]
        kind = b.kind
        changes = self.changes.get(r, [])
        tool = tool_of(b)
        write = self.write(tool)
        if kind == "tool_call":
            self.paired_call(r, c, changes, write)
            return
        if kind == "tool_result" and tool_of(a) != tool:
            return  # the result of a replaced call: reported with the call
        if not changes:
            return
        if kind == "permission":
            old, new = a.decision, b.decision  # type: ignore[union-attr]
            severity: Severity = "info"
            if old != new:
                looser = new == "allow" or (old == "deny" and new == "ask")
                severity = ("error" if write else "warning") if looser else "warning"
            summary = (
                f"permission for {tool}: {old} -> {new}"
                if old != new
                else f"permission for {tool}: " + "; ".join(x.summary() for x in changes)
            )
            self.add(Finding("permission_changed", severity, r, c, tool, summary, changes))
        elif kind == "tool_result":
            status = any(x.path == "status" for x in changes)
            summary = f"{tool} result: " + "; ".join(x.summary() for x in changes[:3])
            severity = "warning" if status else "info"
            self.add(Finding("result_changed", severity, r, c, tool, summary, changes))
        elif kind == "model":
            self.paired_model(r, c, changes)
        elif kind == "output":
            summary = "answer " + "; ".join(x.summary() for x in changes)
            self.add(Finding("output_changed", "warning", r, c, None, summary, changes))
        elif kind == "user":
            summary = "user turn " + "; ".join(x.summary() for x in changes)
            self.add(Finding("input_changed", "info", r, c, None, summary, changes))
        elif kind == "error":
            summary = "the agent raised differently: " + "; ".join(x.summary() for x in changes)
            self.add(Finding("error_raised", "error", r, c, None, summary, changes))
        else:
            summary = f"{kind} " + "; ".join(x.summary() for x in changes)
            self.add(Finding("step_changed", "info", r, c, tool, summary, changes))

    def paired_call(self, r: int, c: int, changes: list[RawChange], write: bool) -> None:
        a, b = self.rec[r], self.cand[c]
        tool = b.tool  # type: ignore[union-attr]
        if a.tool != tool:  # type: ignore[union-attr]
            severity: Severity = "critical" if write else "warning"
            args = short(self.shown[c].arguments, 80)  # type: ignore[union-attr]
            summary = f"{a.tool} replaced by {tool}({args})"  # type: ignore[union-attr]
            self.add(Finding("tool_replaced", severity, r, c, tool, summary, changes))
            return
        if changes:
            summary = f"{tool} arguments: " + "; ".join(x.summary() for x in changes[:4])
            severity = "error" if write else "warning"
            self.add(Finding("arguments_changed", severity, r, c, tool, summary, changes))
        old_decision, old_after = self.gate(self.rec, r)
        new_decision, new_after = self.gate(self.cand, c)
        if new_after and not old_after and new_decision is not None:
            if new_decision in ("deny", "ask"):
                summary = f"{tool} called, then rejected by the gate ({new_decision})"
                severity = "critical" if old_decision in ("deny", "ask") else "error"
                self.add(Finding("called_then_rejected", severity, r, c, tool, summary))
            else:
                summary = f"the permission check for {tool} now comes after the call"
                self.add(
                    Finding("order_changed", "error" if write else "warning", r, c, tool, summary)
                )
        elif r in self.al.moved:
            summary = f"{tool} now runs at step {c} (recorded at step {r})"
            self.add(
                Finding(
                    "order_changed",
                    "error" if write else "warning",
                    r,
                    c,
                    tool,
                    summary,
                    key=f"moved:{r}",
                )
            )
        if write and self.denied_before(self.cand, c) and not self.denied_before(self.rec, r):
            summary = f"write call after a denial: {tool}"
            self.add(Finding("write_after_denial", "critical", r, c, tool, summary))

    def paired_model(self, r: int, c: int, changes: list[RawChange]) -> None:
        request = [x for x in changes if x.path.startswith("request.")]
        response = [x for x in changes if not x.path.startswith("request.")]
        if request:
            detail = "; ".join(x.summary() for x in request)
            system = next((x for x in request if x.path == "request.system"), None)
            key = canonical([(x.path, x.candidate) for x in request])
            if key != self.last_drift:  # the same drift on every later call is said once
                if system is not None and self.pasted_output(c, system):
                    summary = "tool output is now pasted into the system prompt; " + detail
                    severity: Severity = "error"
                else:
                    summary, severity = "request " + detail, "info"
                self.add(Finding("model_request_drift", severity, r, c, None, summary, request))
            self.last_drift = key
        if response:
            summary = "model " + "; ".join(x.summary() for x in response)
            self.add(Finding("model_response_changed", "info", r, c, None, summary, response))

    def pasted_output(self, c: int, change: RawChange) -> bool:
        """Whether text from an earlier tool result now appears in the system prompt."""
        new, old = change.candidate or "", change.recorded or ""
        for e in self.cand[:c]:
            if e.kind != "tool_result":
                continue
            for piece in strings(e.output):
                if len(piece) >= 30 and piece in new and piece not in old:
                    return True
        return False

    def lone(self, r: int | None, c: int | None, e: Event) -> None:
        """An unpaired event that is not part of an added or removed call."""
        where = "only in the candidate" if r is None else "only in the recording"
        tool = tool_of(e)
        key = f"added:{e.kind}:{tool}" if r is None else f"removed:{r}"
        if e.kind == "note" and e.level == "replay":
            return
        if c is not None:
            e = self.shown[c]  # what the summaries below quote
        if e.kind == "error":
            if r is None:
                summary = f"the agent raised {e.type}: {short(e.message, 100)}"
                self.add(Finding("error_raised", "error", r, c, None, summary, key=key))
            else:
                summary = f"the agent no longer raises {e.type}"
                self.add(Finding("step_removed", "info", r, c, None, summary, key=key))
            return
        if e.kind == "output":
            summary = f"answer {where}: {short(e.text, 100)}"
            self.add(Finding("output_changed", "warning", r, c, None, summary, key=key))
            return
        if e.kind == "user":
            self.add(Finding("input_changed", "info", r, c, None, f"user turn {where}", key=key))
            return
        if e.kind == "permission":
            summary = f"permission decision {where}: {tool} {e.decision}"
            self.add(Finding("permission_changed", "info", r, c, tool, summary, key=key))
            return
        label = e.kind + (f" {tool}" if tool else "")
        kind = "step_added" if r is None else "step_removed"
        self.add(Finding(kind, "info", r, c, tool, f"{label} {where}", key=key))

    def canary_pass(self) -> None:
        if not self.canaries:
            return
        for c, e in enumerate(self.cand):
            if e.kind == "tool_call":
                text, where = canonical(e.arguments), f"the arguments of {e.tool}"
            elif e.kind == "output":
                text, where = e.text + canonical(e.data), "the answer"
            else:
                continue
            r = self.al.cand_to_rec[c]
            before = "" if r is None else canonical(self.rec[r].model_dump(mode="json"))
            for canary in self.canaries:
                if carries(text, canary) and not carries(before, canary):
                    tool = tool_of(e)
                    summary = f"canary {canary!r} leaves through {where}"
                    self.add(Finding("canary_leaked", "critical", r, c, tool, summary))
