"""``retake record``: run an agent over a tasks file, one redacted cassette per task."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from ._common import (
    EXIT_FAILED,
    KeyFile,
    PolicyFile,
    console,
    count,
    progress_bar,
    redaction_policy,
    user_errors,
)
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import pipeline
else:
    pipeline = lazy("retake.pipeline")


def record(
    agent: Annotated[
        str, typer.Option("--agent", "-a", help="The release's entrypoint, module:function.")
    ],
    tasks: Annotated[Path, typer.Option("--tasks", "-t", help="The tasks file (YAML).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the cassettes.")],
    release: Annotated[
        str | None, typer.Option(help="The release id (default: the entrypoint's own).")
    ] = None,
    key_file: KeyFile = None,
    policy_file: PolicyFile = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace cassettes of the same task ids.")
    ] = False,
) -> None:
    """Run an agent over a tasks file and record one redacted cassette per task; exit 0
    when the agent answered every task, 1 when it raised on one (its cassette is kept, ending
    with the error) or a cassette could not be stored, 2 on usage or input errors."""
    with user_errors():
        from retake._yamlfile import load_model
        from retake.schema import TasksFile

        tasks_file = load_model(tasks, TasksFile, "tasks file")
        try:
            todo = tasks_file.resolve()
        except ValueError as exc:
            raise typer.BadParameter(f"{tasks}: {exc}", param_hint="--tasks") from None
        policy = redaction_policy(policy_file, key_file)
        results: list[pipeline.TaskRecording] = []
        with progress_bar("recording", len(todo)) as advance:

            def done(result: pipeline.TaskRecording) -> None:
                advance(result.task.id or "")

            results = pipeline.record(
                agent,
                todo,
                out,
                release=release,
                redaction=policy,
                overwrite=overwrite,
                on_task=done,
            )
    table = Table(title=f"recorded {agent} over {tasks}", show_lines=False)
    for column in ("task", "events", "outcome", "cassette / detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        if r.path is None:
            outcome, style, where = "not stored", "bold red", r.detail
        elif not r.answered:
            outcome, style, where = "agent raised", "yellow", f"{r.path}  ({r.detail})"
        else:
            outcome, style, where = "answered", "green", str(r.path)
        table.add_row(r.task.id or "", str(r.events), Text(outcome, style=style), Text(where))
    console.print(table)
    stored = sum(1 for r in results if r.path is not None)
    raised = sum(1 for r in results if not r.answered)
    console.print(
        f"{count(len(results), 'task')}: {count(stored, 'cassette')} written to {out}, "
        f"{raised} where the agent raised, {len(results) - stored} not stored.",
        highlight=False,
    )
    if stored < len(results) or raised:
        raise typer.Exit(EXIT_FAILED)
