"""Scenario files: a real cassette, what the world does differently, what the release must do.

::

    cassette: ../cassettes/refund-within-limit.retake    # relative to this file
    description: the refund processor rate-limits twice
    seed: 7
    trials: 3
    model: scripted            # optional: recorded (default), scripted or live
    mutations:
      - rate_limit: {tool: issue_refund, times: 2, retry_after: 0.01}
      - revoke_role: refund_manager                       # a bare value fills the main field
    expectations:
      - max_retries: {tool: issue_refund, n: 2}
    controls: [refund-limit]

Errors name the file, the line and the field, and suggest the nearest valid name; a selector
that matches no recorded call is an error too, not a silent no-op.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from retake._yamlfile import load_model
from retake.errors import InputFileError
from retake.schema import Cassette
from retake.schema._base import Model

from ._catalogue import CATALOGUE, PRIMARY, MutationSpec, _ToolMutation


def _named_entry(entry: Any) -> Any:
    """``- rate_limit: {...}`` becomes ``{"kind": "rate_limit", ...}``."""
    if not isinstance(entry, dict) or "kind" in entry:
        return entry
    if len(entry) != 1:
        raise ValueError(
            "each mutation is a map with one key, its name (for example "
            f"'- rate_limit: {{tool: issue_refund}}'); got keys {sorted(map(str, entry))}"
        )
    ((name, params),) = entry.items()
    if name not in CATALOGUE:
        close = difflib.get_close_matches(str(name), CATALOGUE, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(CATALOGUE))}"
        raise ValueError(f"unknown mutation {name!r}; {hint}")
    if not isinstance(params, dict):
        primary = PRIMARY.get(str(name))
        if primary is None:
            raise ValueError(f"mutation {name!r} needs a map of settings")
        params = {primary: params}
    return {**params, "kind": name}


class Scenario(Model):
    """One release-integrity case."""

    cassette: str = Field(min_length=1)
    """The recorded cassette, relative to the scenario file."""
    description: str = ""
    """What the case tests, in a sentence."""
    mutations: tuple[Annotated[MutationSpec, BeforeValidator(_named_entry)], ...] = ()
    """What the world does differently, in order."""
    expectations: tuple[dict[str, Any], ...] = ()
    """What the release must still do (checked by ``retake check``)."""
    trials: int = Field(default=1, ge=1, le=1000)
    """How many times to replay it (for pass^k)."""
    seed: int = 0
    """Seeds every random choice of the mutations, so a run is reproducible."""
    model: Literal["recorded", "scripted", "live"] | None = None
    """The model mode for this case; the suite's default when not given."""
    controls: tuple[str, ...] = ()
    """Ids of the safety controls this case evidences (see the crosswalk)."""


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario with its file and its cassette resolved."""

    path: Path
    """The scenario file."""
    scenario: Scenario
    """What it says."""
    cassette_path: Path
    """The cassette it names, resolved."""
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict, compare=False)
    """The line of every key and item of the file, for errors found later."""

    def check(self, cassette: Cassette) -> None:
        """Raise if a mutation's selector matches no recorded call of ``cassette``."""
        check_selectors(self.path, self.scenario, cassette, self.lines)


def load_scenario(path: Path | str, *, cassette: Cassette | None = None) -> LoadedScenario:
    """Read and check a scenario file; ``cassette`` is its recording, if already loaded.

    Raises ``InputFileError`` naming the file, line and field.
    """
    path = Path(path)
    scenario, lines = load_model(path, Scenario, "scenario", with_lines=True)
    cassette_path = (path.parent / scenario.cassette).resolve()
    if not cassette_path.is_file():
        raise InputFileError(
            f"scenario {str(path)!r}, line {lines.get(('cassette',), '?')}, field cassette: "
            f"no cassette at {str(cassette_path)!r} (paths are relative to the scenario file).",
            path=path,
        )
    if cassette is not None:
        check_selectors(path, scenario, cassette, lines)
    return LoadedScenario(path, scenario, cassette_path, lines)


def selector_misses(scenario: Scenario, cassette: Cassette) -> Iterator[tuple[int, str]]:
    """Each mutation whose selector matches no recorded call of the cassette: its index in
    ``scenario.mutations``, and why."""
    for index, spec in enumerate(scenario.mutations):
        if isinstance(spec, _ToolMutation):
            why = spec.selector().check(cassette)
            if why is not None:
                yield index, why


def check_selectors(
    path: Path, scenario: Scenario, cassette: Cassette, lines: dict[tuple[Any, ...], int]
) -> None:
    """Raise if a mutation's selector matches no recorded call of the cassette."""
    for index, why in selector_misses(scenario, cassette):
        line = lines.get(("mutations", index), "?")
        raise InputFileError(
            f"scenario {str(path)!r}, line {line}, field mutations.{index} "
            f"({scenario.mutations[index].kind}): the selector matches nothing: {why}. Point "
            "it at a call the recording makes.",
            path=path,
        )
