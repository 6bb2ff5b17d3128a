"""``retake import``: transcripts, trajectories, vcrpy cassettes and OTel traces as redacted
cassettes, one per session."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    KeyFile,
    PolicyFile,
    console,
    count,
    err_console,
    error,
    labelled,
    progress_bar,
    redaction_policy,
    user_errors,
)
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import pipeline, redact
else:
    pipeline = lazy("retake.pipeline")
    redact = lazy("retake.redact")


class SourceFormat(StrEnum):
    """``auto`` and every format of ``retake.importers.FORMATS``."""

    auto = "auto"
    openai_chat = "openai-chat"
    openai_responses = "openai-responses"
    anthropic = "anthropic"
    tau_bench = "tau-bench"
    vcr = "vcr"
    otel = "otel"


def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="Source files, or folders to search for them.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the cassettes.")],
    format: Annotated[
        SourceFormat,
        typer.Option("--format", "-f", help="The source format; auto tells it from the content."),
    ] = SourceFormat.auto,
    key_file: KeyFile = None,
    policy_file: PolicyFile = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace cassettes of the same session ids.")
    ] = False,
) -> None:
    """Import existing sessions (OpenAI/Anthropic transcripts, tau-bench trajectories, vcrpy
    cassettes, OTel GenAI traces) as redacted cassettes, one per session."""
    sources = pipeline.find_sources(paths)
    if not sources:
        error(
            f"no source files found in {', '.join(map(str, paths))}; give .json, .jsonl or "
            ".yaml files or folders holding them."
        )
        raise typer.Exit(EXIT_USAGE)
    with user_errors():
        policy = redaction_policy(policy_file, key_file)
        redactor = redact.Redactor(policy)
        with progress_bar("importing", len(sources)) as advance:

            def done(result: pipeline.FileImport) -> None:
                advance(result.file.name)

            report = pipeline.import_paths(
                sources,
                out,
                format=str(format.value),
                redaction=redactor,
                overwrite=overwrite,
                on_file=done,
            )
    table = Table(title=f"imported into {out}")
    for column in ("file", "format", "sessions", "events", "skipped"):
        table.add_column(column, overflow="fold")
    for f in report.files:
        events = sum((f.events or {}).values())
        fmt = Text(f.format) if f.format else Text("not imported", style="red")
        table.add_row(str(f.file), fmt, str(len(f.cassettes)), str(events), str(len(f.skipped)))
    console.print(table)
    kinds = ", ".join(f"{kind} {n}" for kind, n in report.events_by_kind.items()) or "none"
    console.print(
        f"{count(len(report.files), 'file')}: {count(report.sessions, 'session')} written to "
        f"{out}; "
        f"events by kind: {kinds}.",
        highlight=False,
    )
    for item in report.skipped:
        labelled(console, "skipped", "yellow", item)
    for failed in report.failed:
        labelled(err_console, "not imported:", "bold red", failed.error)
    if report.failed or not report.sessions:
        raise typer.Exit(EXIT_FAILED)
