"""Selectors: which tool calls a mutation changes.

A selector names a tool, and may narrow to its nth live call, to the call answered by the
recorded step ``step``, or to calls whose arguments satisfy predicates on a JSON path
(``equals``, ``contains``, ``gt``, ``lt``). ``tool: "*"`` selects every call.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from retake.schema import Cassette, ToolCallEvent
from retake.schema._base import Model


class Predicate(Model):
    """A test on one argument, found by a dotted JSON path (``order.lines.0.price``)."""

    path: str
    """Where the argument is: keys and list indices separated by dots."""
    equals: Any = None
    """The value must equal this."""
    contains: str | None = None
    """The value's text must contain this."""
    gt: float | None = None
    """The value must be a number greater than this."""
    lt: float | None = None
    """The value must be a number less than this."""

    @model_validator(mode="after")
    def _one_test(self) -> Predicate:
        tests = [t for t in ("equals", "contains", "gt", "lt") if getattr(self, t) is not None]
        if len(tests) != 1:
            raise ValueError(
                f"give exactly one of equals, contains, gt, lt (got {tests or 'none'})"
            )
        return self

    def holds(self, arguments: dict[str, Any]) -> bool:
        found, value = _lookup(arguments, self.path)
        if not found:
            return False
        if self.equals is not None:
            return bool(value == self.equals)
        if self.contains is not None:
            return self.contains in (value if isinstance(value, str) else str(value))
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if self.gt is not None:
            return value > self.gt
        return self.lt is not None and value < self.lt


def _lookup(value: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


class Selector(Model):
    """Which calls a mutation applies to."""

    tool: str = Field(min_length=1)
    """The tool's name, or ``*`` for every tool."""
    nth: int | None = Field(default=None, ge=1)
    """Only the nth live call of the tool (1 = the first)."""
    step: int | None = Field(default=None, ge=0)
    """Only the live call answered by the recorded call at this step."""
    where: tuple[Predicate, ...] = ()
    """Only calls whose arguments satisfy every predicate."""

    def selects(
        self, tool: str, arguments: dict[str, Any], nth: int, recorded_seq: int | None
    ) -> bool:
        if self.tool != "*" and tool != self.tool:
            return False
        if self.nth is not None and nth != self.nth:
            return False
        if self.step is not None and recorded_seq != self.step:
            return False
        return all(p.holds(arguments) for p in self.where)

    def check(self, cassette: Cassette) -> str | None:
        """Why this selector matches no recorded call of ``cassette``, or ``None`` if it does.

        A selector that matches nothing is a mistake in the scenario, never a silent no-op.
        """
        calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
        mine = [c for c in calls if self.tool in ("*", c.tool)]
        if not mine:
            known = sorted({c.tool for c in calls}) or ["(none)"]
            return (
                f"tool {self.tool!r} is never called in the recording; it calls {', '.join(known)}"
            )
        if self.nth is not None and self.nth > len(mine):
            return f"nth={self.nth}, but the recording calls {self.tool!r} {len(mine)} time(s)"
        if self.step is not None and not any(c.seq == self.step for c in mine):
            steps = ", ".join(str(c.seq) for c in mine)
            return (
                f"step={self.step} is not a call of {self.tool!r}; its calls are at steps {steps}"
            )
        picked = [c for i, c in enumerate(mine, 1) if self.nth in (None, i)]
        if self.where and not any(all(p.holds(c.arguments) for p in self.where) for c in picked):
            return "no recorded call of it satisfies the argument predicates (where:)"
        return None
