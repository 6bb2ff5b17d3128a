"""``retake export``: a cassette as JSON or YAML, for people and other tools."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml

from retake import store

from ._common import user_errors


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
    data = loaded.model_dump(mode="json")
    if format is Format.json:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
