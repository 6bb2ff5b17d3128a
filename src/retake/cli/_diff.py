"""``retake diff``: where, step by step, two cassettes behave differently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._common import EXIT_FAILED, as_json_data, console, user_errors


def diff(
    recorded: Annotated[Path, typer.Argument(help="The reference cassette (the recording).")],
    candidate: Annotated[Path, typer.Argument(help="The cassette to compare with it.")],
    explain_pairs: Annotated[
        bool, typer.Option("--explain", help="Say why each pair of events was aligned.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (see retake.diff).")
    ] = False,
    noise: Annotated[
        list[Path] | None,
        typer.Option(
            "--noise",
            help="A trial of the same release on the same cassette; give two or more to "
            "learn what varies on its own.",
        ),
    ] = None,
    canary: Annotated[
        list[str] | None,
        typer.Option("--canary", help="A token that must never leave through a tool call."),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="A field path glob never compared (arguments.*_id)."),
    ] = None,
    text_threshold: Annotated[
        float | None,
        typer.Option(help="Texts at least this similar (0-1) count as the same [default: 0.9]."),
    ] = None,
    write_tool: Annotated[
        list[str] | None,
        typer.Option(
            "--write-tool",
            help="A tool that changes things, for traces whose headers do not say (imported "
            "ones); a new call to it is critical.",
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A YAML file of comparison settings: text_threshold, rel_tolerance, "
            "abs_tolerance, ignore_paths, ignore_values (regexes), write_tools.",
        ),
    ] = None,
    all_steps: Annotated[
        bool, typer.Option("--all", help="Show the steps without divergences too.")
    ] = False,
    width: Annotated[
        int, typer.Option(min=1, help="Abridge event details to this many characters.")
    ] = 60,
    allow_truncated: Annotated[
        bool,
        typer.Option("--allow-truncated", help="Compare recordings that never finalised too."),
    ] = False,
) -> None:
    """Compare two cassettes step by step; exit 1 when a critical divergence appears."""
    if text_threshold is not None and not 0.0 <= text_threshold <= 1.0:
        raise typer.BadParameter(
            f"{text_threshold!r} is outside 0-1; use a similarity such as 0.9",
            param_hint="--text-threshold",
        )
    from retake import store
    from retake._yamlfile import load_model
    from retake.diff import DiffConfig, explain, learn_noise
    from retake.diff import diff as diff_traces
    from retake.report import diff_view

    with user_errors():
        config = load_model(config_file, DiffConfig, "diff config") if config_file else DiffConfig()
    config = config.model_copy(
        update={
            "ignore_paths": (*config.ignore_paths, *(ignore or ())),
            "write_tools": (*config.write_tools, *(write_tool or ())),
            **({} if text_threshold is None else {"text_threshold": text_threshold}),
        }
    )
    with user_errors():
        old = store.load(recorded, allow_truncated=allow_truncated)
        new = store.load(candidate, allow_truncated=allow_truncated)
        trials = [store.load(p, allow_truncated=allow_truncated) for p in noise or ()]
        model = learn_noise(old, trials, config=config) if trials else None
        report = diff_traces(old, new, noise=model, canaries=tuple(canary or ()), config=config)
    if as_json:
        data = as_json_data(report, f"the diff of {str(recorded)!r} and {str(candidate)!r}")
        if explain_pairs:
            data["explanations"] = explain(report, old, new)
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        reasons = explain(report, old, new) if explain_pairs else None
        console.print(
            diff_view(report, old, new, explain=reasons, width=width, all_steps=all_steps)
        )
    if report.critical:
        raise typer.Exit(EXIT_FAILED)
