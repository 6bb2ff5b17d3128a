"""Comparison of two aligned events: an equality fast path over the fields that matter,
then a walk into the unequal ones only, with deepdiff on unequal lists that changed length.

Each event kind compares a fixed set of fields (its *projection*); ids, times, durations,
token counts and raw HTTP are left out by the named rules in ``_rules.IGNORED_RULES``.
Free text (user, model and output text, reasons, messages, the system prompt) is compared by
similarity, numbers with a tolerance, everything else exactly after the configured regexes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from retake.schema import Event, FieldChange, ModelEvent

from ._rules import DiffConfig

_ABRIDGE = 200


INSTRUCTION_ROLES = ("system", "developer")
"""The roles of the leading messages that make up a request's system prompt."""


def system_prompt(event: ModelEvent) -> str | None:
    parts = []
    for message in event.request.messages:
        if message.role not in INSTRUCTION_ROLES:
            break
        parts.append(message.content or "")
    return "\n".join(parts) if parts else None


def _failure_message(e: Any) -> str | None:
    return None if e.failure is None else e.failure.message


# kind -> (field names, getter of their values); names ending in "~" are free text.
_PROJECTIONS: dict[str, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {
    "user": (("text~",), lambda e: (e.text,)),
    "model": (
        (
            "request.model",
            "request.tools",
            "request.params",
            "request.system~",
            "response.text~",
            "response.stop_reason",
            "response.calls",
        ),
        lambda e: (
            e.request.model,
            e.request.tools,
            e.request.params,
            system_prompt(e),
            e.response.text,
            e.response.stop_reason,
            tuple(c.name for c in e.response.tool_calls),
        ),
    ),
    "tool_call": (("tool", "arguments"), lambda e: (e.tool, e.arguments)),
    "permission": (
        ("tool", "decision", "rule_id", "reason~", "policy_version"),
        lambda e: (e.tool, e.decision, e.rule_id, e.reason, e.policy_version),
    ),
    "tool_result": (
        ("tool", "status", "output", "failure.message~", "failure.status_code"),
        lambda e: (
            e.tool,
            e.status,
            e.output,
            _failure_message(e),
            None if e.failure is None else e.failure.status_code,
        ),
    ),
    "output": (("text~", "data"), lambda e: (e.text, e.data)),
    "error": (("type", "message~"), lambda e: (e.type, e.message)),
    "note": (("level", "message~", "data"), lambda e: (e.level, e.message, e.data)),
}


def projection(event: Event) -> tuple[Any, ...]:
    """The values of the fields compared for this event's kind."""
    return _PROJECTIONS[event.kind][1](event)


_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def value_at(event: Event, path: str) -> Any:
    """The value at a change's ``path`` in ``event`` (one of the events of a redacted copy
    of the trace). Where the path goes on past what the copy holds, the mask a field rule
    put over the whole subtree, or a placeholder: never a larger part of the event."""
    names = [name.rstrip("~") for name in _PROJECTIONS[event.kind][0]]
    at = next(
        (
            i
            for i, name in enumerate(names)
            if path == name or path.startswith((name + ".", name + "["))
        ),
        None,
    )
    if at is None:
        return None
    value, rest = projection(event)[at], path[len(names[at]) :]
    for step in _STEP.finditer(rest):
        key, index = step.groups()
        if isinstance(value, dict) and key is not None and key in value:
            value = value[key]
        elif isinstance(value, list | tuple) and index is not None and int(index) < len(value):
            value = value[int(index)]
        else:
            return value if isinstance(value, str) else NOT_SHOWN
    return value


NOT_SHOWN = "<not shown>"


def similarity(a: str, b: str) -> float:
    """How similar two texts are, 0-1 (difflib's ratio, cheap bounds first)."""
    if a == b:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() == 0.0:
        return 0.0
    return round(matcher.ratio(), 2)


def abridge(value: Any) -> Any:
    """Long strings shortened for the report; other values as they are."""
    if isinstance(value, str) and len(value) > _ABRIDGE:
        return value[: _ABRIDGE - 1] + "\u2026"
    return value


_AS_CANDIDATE: Any = object()


@dataclass
class RawChange:
    """A differing field before any noise rule or noise model judged it."""

    path: str
    change: str
    recorded: Any
    candidate: Any
    similarity: float | None = None
    suppressed_by: str | None = None
    reason: str = ""
    note: str = ""
    """A summary that says it better than the generic one."""
    candidate_shown: Any = _AS_CANDIDATE
    """The candidate's value as the report shows it: the value itself, unless the engine
    quotes a redacted copy of the trace."""

    def __post_init__(self) -> None:
        if self.candidate_shown is _AS_CANDIDATE:
            self.candidate_shown = self.candidate

    def to_model(self) -> FieldChange:
        return FieldChange(
            path=self.path,
            change=self.change,
            recorded=abridge(self.recorded),
            candidate=abridge(self.candidate_shown),
            similarity=self.similarity,
            summary=self.summary(),
        )

    def summary(self) -> str:
        if self.note:
            return self.note
        if self.similarity is not None:
            what = "system prompt" if self.path == "request.system" else "text"
            return f"{what} changed ({self.similarity:.2f} similar)"
        if self.change == "added":
            return f"{self.path} added"
        if self.change == "removed":
            return f"{self.path} removed"
        return f"{self.path}: {short(self.recorded)} -> {short(self.candidate_shown)}"


def short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


_DD_PATH = re.compile(r"\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class Comparer:
    """Compares aligned events under one configuration."""

    def __init__(self, config: DiffConfig) -> None:
        self.config = config

    def compare(self, kind: str, a: tuple[Any, ...], b: tuple[Any, ...]) -> list[RawChange]:
        """Differences between two projections of events of ``kind`` (fast when equal)."""
        out: list[RawChange] = []
        if a == b:
            return out
        names = _PROJECTIONS[kind][0]
        for name, x, y in zip(names, a, b, strict=True):
            if x == y:
                continue
            if name.endswith("~"):
                self._text(kind, name[:-1], x, y, out)
            elif name == "request.tools":
                self._add(kind, _offered(x, y), out)
            else:
                self._walk(kind, name, x, y, out)
        return out

    def _add(self, kind: str, change: RawChange, out: list[RawChange]) -> None:
        glob = self.config.ignored_path(kind, change.path)
        if glob is not None:
            change.suppressed_by = f"path:{glob}"
            change.reason = f"{change.path} matches the ignored path {glob!r}"
        out.append(change)

    def _text(self, kind: str, path: str, x: Any, y: Any, out: list[RawChange]) -> None:
        if not isinstance(x, str) or not isinstance(y, str):
            change = "added" if x is None else "removed" if y is None else "changed"
            self._add(kind, RawChange(path, change, x, y), out)
            return
        nx, hit = self.config.normalise(x)
        ny, _ = self.config.normalise(y)
        score = similarity(nx, ny)
        raw = RawChange(path, "changed", x, y, similarity=score)
        if nx == ny:
            raw.suppressed_by = f"regex:{hit}"
            raw.reason = f"only the parts matching {hit!r} differ"
        elif score >= self.config.text_threshold:
            raw.suppressed_by = "text_similarity"
            raw.reason = (
                f"texts {score:.2f} similar, within the threshold {self.config.text_threshold}"
            )
        self._add(kind, raw, out)

    def _walk(self, kind: str, path: str, x: Any, y: Any, out: list[RawChange]) -> None:
        if x == y:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for key in x:
                sub = _join(path, key)
                if key not in y:
                    self._add(kind, RawChange(sub, "removed", x[key], None), out)
                else:
                    self._walk(kind, sub, x[key], y[key], out)
            for key in y:
                if key not in x:
                    self._add(kind, RawChange(_join(path, key), "added", None, y[key]), out)
            return
        if isinstance(x, list | tuple) and isinstance(y, list | tuple):
            if len(x) == len(y):
                for i, (u, v) in enumerate(zip(x, y, strict=True)):
                    self._walk(kind, _join(path, i), u, v, out)
            else:
                self._deepdiff(kind, path, x, y, out)
            return
        if _number(x) and _number(y):
            raw = RawChange(path, "changed", x, y)
            if math.isclose(
                x, y, rel_tol=self.config.rel_tolerance, abs_tol=self.config.abs_tolerance
            ):
                raw.suppressed_by = "number_tolerance"
                raw.reason = f"{x!r} and {y!r} are within the numeric tolerance"
            self._add(kind, raw, out)
            return
        if isinstance(x, str) and isinstance(y, str) and self.config.ignore_values:
            nx, hit = self.config.normalise(x)
            if nx == self.config.normalise(y)[0]:
                raw = RawChange(path, "changed", x, y, suppressed_by=f"regex:{hit}")
                raw.reason = f"only the parts matching {hit!r} differ"
                self._add(kind, raw, out)
                return
        self._add(kind, RawChange(path, "changed", x, y), out)

    def _deepdiff(self, kind: str, path: str, x: Any, y: Any, out: list[RawChange]) -> None:
        """Lists that changed length: deepdiff says which items came and went."""
        # Imported here: deepdiff and numpy cost a tenth of a second to import, and most
        # comparisons never need them.
        from deepdiff import DeepDiff
        from deepdiff.helper import notpresent

        found = DeepDiff(list(x), list(y), view="tree", ignore_order=False, verbose_level=1)
        for report, levels in found.items():
            for level in levels:
                sub = path + "".join(
                    f"[{m.group(1)}]" if m.group(1) is not None else f".{m.group(2) or m.group(3)}"
                    for m in _DD_PATH.finditer(level.path().removeprefix("root"))
                )
                old = None if level.t1 is notpresent else level.t1
                new = None if level.t2 is notpresent else level.t2
                if "added" in report:
                    change = "added"
                elif "removed" in report:
                    change = "removed"
                else:
                    change = "changed"
                self._add(kind, RawChange(sub, change, old, new), out)


def _offered(x: tuple[str, ...], y: tuple[str, ...]) -> RawChange:
    """The tools offered to the model: which came, which went, whether the order changed."""
    parts = [f"+{t}" for t in y if t not in x] + [f"-{t}" for t in x if t not in y]
    if [t for t in x if t in y] != [t for t in y if t in x]:
        parts.append("order changed")
    note = "tools offered: " + ", ".join(parts)
    return RawChange("request.tools", "changed", list(x), list(y), note=note)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
