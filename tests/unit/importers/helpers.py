"""Shared paths and helpers for the importer tests."""

from __future__ import annotations

from pathlib import Path

from retake import importers
from retake.capture._providers import parse_exchange
from retake.schema import Cassette

FIXTURES = Path(__file__).parents[2] / "fixtures"
TAU = FIXTURES / "tau-bench"
REALDATA = FIXTURES / "realdata"
OTEL = FIXTURES / "otel"


def load(path: Path, format: str = "auto") -> importers.Imported:
    return importers.import_file(path, format=format, parse_exchange=parse_exchange)


def one(path: Path, format: str = "auto") -> Cassette:
    [cassette] = load(path, format).cassettes
    return cassette


def kinds(cassette: Cassette) -> list[str]:
    return [event.kind for event in cassette.events]
