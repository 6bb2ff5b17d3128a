"""JSON paths: how findings name a place, and how field rules match places as the walk descends.

Matching is incremental: the walker carries the set of partly matched rules down the tree and
advances it one key at a time, so a rule costs nothing below a key it cannot match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["CompiledRules", "State", "format_path"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")

Segment = tuple[str, str | int | None]
"""``("key", name)``, ``("index", n)``, ``("any", None)``, ``("anyindex", None)``,
``("deep", None)``."""

State = tuple[int, int]
"""``(rule number, position in its segments)``."""

_DEEP: Segment = ("deep", None)


def format_path(prefix: str, segments: Iterable[str | int]) -> str:
    """``events[3].arguments.body`` from a prefix and keys/indexes."""
    out = [prefix]
    for seg in segments:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _IDENT.match(seg):
            out.append(f".{seg}" if out != [""] else seg)
        else:
            out.append(f"[{json.dumps(seg)}]")
    return "".join(out)


def _split(path: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _segments(part: str) -> list[Segment]:
    name, _, rest = part.partition("[")
    segs: list[Segment] = []
    if name == "**":
        segs.append(_DEEP)
    elif name == "*":
        segs.append(("any", None))
    elif name:
        segs.append(("key", name))
    for item in re.findall(r"\[([^\]]*)\]", "[" + rest if rest else ""):
        if item in ("", "*"):
            segs.append(("anyindex", None))
        elif item.isdigit():
            segs.append(("index", int(item)))
        else:
            segs.append(("key", item.strip("'\"")))
    return segs


@dataclass(frozen=True, slots=True)
class _Rule:
    text: str
    head: tuple[str, str | None] | None
    """``(event kind or "header", tool name or None)``; ``None`` when anchored at the root."""
    segments: tuple[Segment, ...]


class CompiledRules:
    """Field rules, ready to be advanced key by key."""

    def __init__(self, paths: Sequence[str], heads: Iterable[str]) -> None:
        known_heads = set(heads)
        rules: list[_Rule] = []
        for text in paths:
            parts = _split(text)
            first = parts[0]
            head_name, _, tool = first.partition("[")
            head: tuple[str, str | None] | None = None
            if head_name in known_heads:
                tool_name = tool.rstrip("]").strip("'\"") if tool else None
                head = (head_name, None if tool_name in (None, "", "*") else tool_name)
                parts = parts[1:]
            segs = [s for p in parts for s in _segments(p)]
            rules.append(_Rule(text, head, tuple(segs)))
        self.rules = tuple(rules)
        self.has_heads = any(r.head is not None for r in rules)
        root = [(i, 0) for i, r in enumerate(rules) if r.head is None]
        self.root: tuple[State, ...] = self._closure(root)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def text(self, state: State) -> str:
        return self.rules[state[0]].text

    def _closure(self, states: Iterable[State]) -> tuple[State, ...]:
        out: list[State] = []
        seen: set[State] = set()
        stack = list(states)
        while stack:
            st = stack.pop()
            if st in seen:
                continue
            seen.add(st)
            out.append(st)
            segs = self.rules[st[0]].segments
            if st[1] < len(segs) and segs[st[1]] == _DEEP:
                stack.append((st[0], st[1] + 1))
        return tuple(out)

    def for_labels(self, labels: Iterable[str]) -> tuple[State, ...]:
        """States of rules whose head is one of ``labels`` (``header`` for a cassette header)."""
        wanted = set(labels)
        return self._closure(
            (i, 0) for i, r in enumerate(self.rules) if r.head and r.head[0] in wanted
        )

    def activate(self, node: Mapping[object, object]) -> tuple[State, ...]:
        """States of rules whose head matches this dict (an event, or a tool call inside one)."""
        kind = node.get("kind")
        tool = node.get("tool")
        name = tool if isinstance(tool, str) else node.get("name")
        is_call = "arguments" in node and isinstance(name, str)
        found: list[State] = []
        for i, r in enumerate(self.rules):
            if r.head is None:
                continue
            head_kind, head_tool = r.head
            if (head_kind == kind or (head_kind == "tool_call" and is_call)) and (
                head_tool is None or head_tool == name
            ):
                found.append((i, 0))
        return self._closure(found) if found else ()

    def step(self, states: tuple[State, ...], key: str | int) -> tuple[State, ...]:
        """The states after descending into ``key``."""
        nxt: list[State] = []
        for r, i in states:
            segs = self.rules[r].segments
            if i >= len(segs):
                continue
            kind, arg = segs[i]
            if kind == "deep":
                nxt.append((r, i))
            elif (
                kind == "any"
                or (kind == "key" and key == arg and isinstance(key, str))
                or (
                    kind in ("index", "anyindex")
                    and isinstance(key, int)
                    and (arg is None or arg == key)
                )
            ):
                nxt.append((r, i + 1))
        return self._closure(nxt) if nxt else ()

    def complete(self, states: tuple[State, ...]) -> State | None:
        """A state whose rule has matched in full here, if any."""
        for st in states:
            if st[1] >= len(self.rules[st[0]].segments):
                return st
        return None
