"""The ``retake`` command: one module per command, no business logic here."""

from __future__ import annotations

import warnings
from typing import TextIO

import typer

from retake.errors import EphemeralKeyWarning

from ._check import check, verify
from ._common import err_console, labelled
from ._diff import diff
from ._export import export
from ._import import import_
from ._mutate import matrix, mutate_command
from ._record import record
from ._repair import repair
from ._replay import replay
from ._scan import redact_command, scan
from ._show import show
from ._validate import validate

app = typer.Typer(
    name="retake",
    help="Record LLM-agent sessions as redacted cassettes, replay them against a new "
    "release, and see where its behaviour diverges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help text flows to the terminal's width (Markdown joins the docstrings' line breaks;
    # typer's default keeps them, breaking each command's summary mid-sentence).
    rich_markup_mode="markdown",
)
_python_warning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """retake's own warnings as one line for the user, without Python's source location."""
    if issubclass(category, EphemeralKeyWarning):
        labelled(err_console, "warning:", "yellow", message)
    else:
        _python_warning(message, category, filename, lineno, file, line)


@app.callback()
def _command() -> None:
    """Set up what every command shares."""
    warnings.showwarning = _show_warning


app.command()(check)
app.command()(verify)
app.command()(record)
app.command()(show)
app.command()(export)
app.command()(validate)
app.command()(repair)
app.command()(replay)
app.command()(diff)
app.command()(scan)
app.command(name="mutate")(mutate_command)
app.command()(matrix)
app.command(name="redact")(redact_command)
app.command(name="import")(import_)


def main() -> None:
    """Entry point of the ``retake`` console script."""
    app()
