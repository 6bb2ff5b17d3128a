"""``retake export``: a cassette as JSON or YAML, for people and other tools, or as OpenTelemetry
GenAI spans (OTLP JSON) for tracing backends."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from ._common import EXIT_USAGE, as_json_data, error, too_deep, user_errors, writable
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import importers, store
    from retake.schema import Cassette
else:
    importers, store = lazy("retake.importers"), lazy("retake.store")


class Format(StrEnum):
    json = "json"
    yaml = "yaml"
    otel = "otel"


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
    """Write a cassette as JSON or YAML (header and events, messages in full), or as OTel GenAI
    spans in OTLP JSON (--format otel; `retake import` reads them back)."""
    with user_errors():
        loaded = store.load(cassette, allow_truncated=allow_truncated)
    if output is not None:
        with user_errors():
            writable(output, inputs=[cassette], what="the export")
    try:
        odd = _non_finite(loaded.model_dump())
    except (ValueError, RecursionError) as exc:
        too_deep(f"cassette {str(cassette)!r}", exc)
    if odd is not None:  # JSON has no NaN or infinity: they would be written as null
        error(
            f"cassette {str(cassette)!r} holds a number that is not finite ({odd}); an export "
            "would write null in its place. Nothing was written; `retake show` displays the "
            "value."
        )
        raise typer.Exit(EXIT_USAGE)
    if format is Format.otel:
        try:
            text = json.dumps(importers.to_otel(loaded), ensure_ascii=False) + "\n"
        except RecursionError as exc:
            too_deep(f"cassette {str(cassette)!r}", exc)
        except (ValueError, TypeError, OverflowError) as exc:
            # bytes a tool was given, a time or number JSON cannot hold (NaN, infinity)
            error(
                f"cassette {str(cassette)!r} holds a value OTLP JSON cannot carry ({exc}). "
                "Export it with --format json, which keeps every value."
            )
            raise typer.Exit(EXIT_USAGE) from None
    else:
        text = _document(loaded, format, cassette)
    if output is None:
        typer.echo(text, nl=False)
    else:
        with user_errors():
            output.write_text(text, encoding="utf-8")


def _document(loaded: Cassette, format: Format, cassette: Path) -> str:
    data = as_json_data(loaded, f"cassette {str(cassette)!r}")
    if format is Format.json:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        try:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        except RecursionError as exc:
            too_deep(f"cassette {str(cassette)!r}", exc)
    return text


def _non_finite(data: Any) -> str | None:
    """The first number JSON cannot carry (NaN, infinity) in ``data``, as ``path=value``."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:  # a loop, not recursion: recorded values may nest deeper than Python's limit
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return f"{where.lstrip('.')}={value!r}"
        if isinstance(value, dict):
            stack.extend((f"{where}.{key}", item) for key, item in reversed(value.items()))
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}.{n}", item) for n, item in reversed(list(enumerate(value))))
    return None
