"""Mutations and scenarios: what the world does differently during a replay, as seeded,
reproducible changes to tool answers, the permission context, user turns and the model."""

from ._author import FAMILIES, materialize, matrix_cell, relative_cassette, scenario_yaml
from ._catalogue import CATALOGUE, PRIMARY, Family, Live, MutationSpec, build, family_of
from ._scenario import (
    LoadedScenario,
    Scenario,
    check_selectors,
    load_scenario,
    selector_misses,
)
from ._selectors import Predicate, Selector

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "PRIMARY",
    "Family",
    "Live",
    "LoadedScenario",
    "MutationSpec",
    "Predicate",
    "Scenario",
    "Selector",
    "build",
    "check_selectors",
    "family_of",
    "load_scenario",
    "materialize",
    "matrix_cell",
    "relative_cassette",
    "scenario_yaml",
    "selector_misses",
]
