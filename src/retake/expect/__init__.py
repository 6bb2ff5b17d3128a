"""Expectations: safety properties checked on candidate traces, with verdicts that cite the
steps that decided them, and pass^k over trials."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from retake.schema import Verdict

from ._catalogue import CATALOGUE, SETTINGS, Check, Trace, settings_error
from ._diagnostics import Signals, add, fisher_exact, signals


def parse(entries: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Scenario ``expectations:`` entries as (name, settings); raises ``ValueError`` naming
    an unknown expectation and the nearest known one."""
    parsed: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError(
                f"expectations.{index}: each expectation is a map with one key, its name "
                "(for example '- never_call: {tool: send_email}')"
            )
        ((name, params),) = entry.items()
        if name not in CATALOGUE:
            close = difflib.get_close_matches(str(name), CATALOGUE, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(CATALOGUE)}"
            raise ValueError(f"expectations.{index}: unknown expectation {name!r}; {hint}")
        if params is not None and not isinstance(params, dict):
            raise ValueError(
                f"expectations.{index}: the settings of {name} are a map (for example "
                f"'- {name}: {{tool: send_email}}'), not {params!r}"
            )
        problem = settings_error(str(name), params or {})
        if problem is not None:
            raise ValueError(f"expectations.{index}.{problem}")
        parsed.append((str(name), dict(params or {})))
    return parsed


def check(entries: Iterable[dict[str, Any]], trace: Trace) -> list[Verdict]:
    """Every expectation checked on one candidate trace; one that is misconfigured (scenario
    files are checked as they are read, a list built in code may not be) fails with a verdict
    that says so."""
    verdicts = []
    for entry in entries:
        try:
            ((name, params),) = parse([entry])
        except ValueError as exc:
            name = next(iter(entry), "?") if isinstance(entry, dict) else "?"
            detail = str(exc).removeprefix("expectations.0")
            verdicts.append(
                Verdict(
                    expectation=str(name),
                    params={},
                    passed=False,
                    detail=f"the expectation is misconfigured: {detail.lstrip('.: ')}",
                )
            )
            continue
        try:
            verdicts.append(CATALOGUE[name](trace, params))
        except (ValueError, TypeError) as exc:
            verdicts.append(
                Verdict(
                    expectation=name,
                    params=params,
                    passed=False,
                    detail=f"the expectation is misconfigured: {exc}",
                )
            )
    return verdicts


def pass_k(trials: Sequence[Sequence[Verdict]]) -> tuple[bool, float]:
    """(pass^k: every trial kept every expectation, the fraction of trials that did)."""
    if not trials:
        return False, 0.0
    passing = [all(v.passed for v in trial) for trial in trials]
    return all(passing), sum(passing) / len(passing)


__all__ = [
    "CATALOGUE",
    "SETTINGS",
    "Check",
    "Signals",
    "Trace",
    "add",
    "check",
    "fisher_exact",
    "parse",
    "pass_k",
    "signals",
]
