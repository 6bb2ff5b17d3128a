"""``retake export``: a cassette as JSON or YAML, for people and other tools."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml

from retake import store

from ._common import as_json_data, too_deep, user_errors


class Format(StrEnum):
    json = "json"
    yaml = "yaml"


def export(
    cassette: Annotated[Path, typer.Argument(help="The cassette file.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.json,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    allow_truncated: Annotated[
        bool, typer.Option("--allow-truncated", help="Export a recording that never finalised.")
    ] = False,
) -> None:
    """Write a cassette as JSON or YAML (header and events, messages in full)."""
    with user_errors():
        loaded = store.load(cassette, allow_truncated=allow_truncated)
    data = as_json_data(loaded, f"cassette {str(cassette)!r}")
    if format is Format.json:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        try:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        except RecursionError as exc:
            too_deep(f"cassette {str(cassette)!r}", exc)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
