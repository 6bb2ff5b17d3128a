"""Matching a live tool call to a recorded one.

Matchers are tried in order, each a small function returning a structured result:

- ``exact``: same tool, same arguments (canonical JSON), the next recorded occurrence not yet
  served;
- ``order``: same tool, the next recorded call of it not yet served, whatever its arguments;
- ``tool``: same tool, the last recorded call of it, even if already served.

A miss is explained: the nearest recorded calls, each with the matcher that failed for it and
why, so the user sees the live and the recorded call side by side (vcrpy's best error, at
the level of one step).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from retake.schema import Candidate, Cassette, ToolCallEvent, ToolResultEvent

MatcherName = Literal["exact", "order", "tool"]
DEFAULT_MATCHERS: tuple[MatcherName, ...] = ("exact", "order")


def canonical(value: Any) -> str:
    """Arguments as canonical JSON: key order and spacing never decide a match."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


@dataclass(frozen=True)
class Recorded:
    """One recorded call and what it got back."""

    position: int
    """The call's place among the recorded tool calls."""
    call: ToolCallEvent
    result: ToolResultEvent | None
    key: str

    def describe(self) -> str:
        return f"step {self.call.seq}: {self.call.tool}({canonical(self.call.arguments)})"


@dataclass(frozen=True)
class Match:
    recorded: Recorded
    matcher: MatcherName

    def difference(self, arguments: dict[str, Any]) -> str:
        """How the live arguments differ from the recorded call's, in words."""
        if self.recorded.key.partition("\x00")[2] == canonical(arguments):
            return "the same arguments, served again"
        return _first_difference(self.recorded.call.arguments, arguments)


@dataclass(frozen=True)
class Miss:
    tool: str
    arguments: dict[str, Any]
    nearest: tuple[Candidate, ...]

    def explain(self) -> str:
        live = f"{self.tool}({canonical(self.arguments)})"
        if not self.nearest:
            return f"live call   {live}\nno recorded call of any tool to compare with"
        lines = [f"live call   {live}", "nearest recorded calls:"]
        lines += [f"  {c.recorded}\n      {c.failed}" for c in self.nearest]
        return "\n".join(lines)


def _first_difference(recorded: Any, live: Any, path: str = "") -> str:
    if isinstance(recorded, dict) and isinstance(live, dict):
        for key in sorted(set(recorded) | set(live), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in live:
                return f"{where} is missing from the live call"
            if key not in recorded:
                return f"{where} is new in the live call"
            if canonical(recorded[key]) != canonical(live[key]):
                return _first_difference(recorded[key], live[key], where)
        return "the arguments differ"
    return f"{path or 'the arguments'}: recorded {recorded!r}, live {live!r}"


@dataclass
class CallIndex:
    """The recorded calls of one cassette, and which have been served."""

    recorded: list[Recorded]
    matchers: Sequence[MatcherName] = DEFAULT_MATCHERS
    served: set[int] = field(default_factory=set)

    @classmethod
    def of(
        cls, cassette: Cassette, matchers: Sequence[MatcherName] = DEFAULT_MATCHERS
    ) -> CallIndex:
        results = {e.call_id: e for e in cassette.events if isinstance(e, ToolResultEvent)}
        calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
        recorded = [
            Recorded(i, c, results.get(c.call_id), f"{c.tool}\x00{canonical(c.arguments)}")
            for i, c in enumerate(calls)
        ]
        return cls(recorded, tuple(matchers))

    def match(self, tool: str, arguments: dict[str, Any]) -> Match | Miss:
        key = f"{tool}\x00{canonical(arguments)}"
        same_tool = [r for r in self.recorded if r.call.tool == tool]
        for matcher in self.matchers:
            found: Recorded | None = None
            if matcher == "exact":
                found = next(
                    (r for r in same_tool if r.key == key and r.position not in self.served), None
                )
            elif matcher == "order":
                found = next((r for r in same_tool if r.position not in self.served), None)
            elif matcher == "tool" and same_tool:
                found = same_tool[-1]
            if found is not None:
                self.served.add(found.position)
                return Match(found, matcher)
        return Miss(tool, dict(arguments), self._nearest(tool, arguments, key, same_tool))

    def _nearest(
        self, tool: str, arguments: dict[str, Any], key: str, same_tool: list[Recorded]
    ) -> tuple[Candidate, ...]:
        candidates: list[Candidate] = []
        for r in same_tool[:3]:
            if r.key == key:
                why = "exact: this very call was already served (the release repeats it)"
            else:
                why = "exact: " + _first_difference(r.call.arguments, arguments)
            if "order" in self.matchers:
                why += "; order: every recorded call of this tool was already served"
            else:
                why += "; order: matcher not enabled"
            candidates.append(Candidate(recorded=r.describe(), failed=why))
        if not same_tool:
            unserved = [r for r in self.recorded if r.position not in self.served]
            others = (unserved + [r for r in self.recorded if r not in unserved])[:3]
            for r in others:
                candidates.append(
                    Candidate(
                        recorded=r.describe(),
                        failed=f"a different tool: the recording never called {tool!r}",
                    )
                )
        return tuple(candidates)
