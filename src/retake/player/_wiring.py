"""Wiring drift: the tools a release exposes against those recorded in the cassette."""

from __future__ import annotations

from collections.abc import Iterable

from retake.schema import ToolSpec, WiringChange


def wiring_drift(recorded: Iterable[ToolSpec], release: Iterable[ToolSpec]) -> list[WiringChange]:
    """Tools added, removed, or whose schema or effect changed, by tool name."""
    old = {spec.name: spec for spec in recorded}
    new = {spec.name: spec for spec in release}
    changes: list[WiringChange] = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            changes.append(
                WiringChange(
                    kind="added",
                    tool=name,
                    detail=f"the release exposes a new {new[name].effect} tool",
                )
            )
        elif name not in new:
            changes.append(
                WiringChange(kind="removed", tool=name, detail="the release no longer exposes it")
            )
        else:
            if old[name].effect != new[name].effect:
                changes.append(
                    WiringChange(
                        kind="effect_changed",
                        tool=name,
                        detail=f"effect {old[name].effect} -> {new[name].effect}",
                    )
                )
            if old[name].parameters != new[name].parameters:
                before = set(old[name].parameters.get("properties", {}))
                after = set(new[name].parameters.get("properties", {}))
                parts = [f"+{p}" for p in sorted(after - before)]
                parts += [f"-{p}" for p in sorted(before - after)]
                detail = ", ".join(parts) if parts else "the argument types or constraints changed"
                changes.append(
                    WiringChange(kind="schema_changed", tool=name, detail=f"arguments: {detail}")
                )
    return changes
