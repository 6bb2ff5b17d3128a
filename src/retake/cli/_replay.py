"""``retake replay``: replay cassettes against a release, offline, with no side effects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from retake.errors import InputFileError

from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    KeyFile,
    PolicyFile,
    console,
    count,
    err_console,
    error,
    progress_bar,
    redaction_policy,
    user_errors,
)
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import player, redact, runner, store
    from retake.schema import SessionReplay
else:
    player, redact = lazy("retake.player"), lazy("retake.redact")
    runner, store = lazy("retake.runner"), lazy("retake.store")

_STATUS_STYLE = {
    "completed": "green",
    "raised": "yellow",
    "timeout": "bold red",
    "crashed": "bold red",
    "invalid": "bold red",
}


MATCHERS = ("exact", "order", "tool")
"""``player.MatcherName``, spelled out so ``--help`` needs no stage (a test keeps them equal)."""
MIN_TIMEOUT = 0.1
"""Seconds: a shorter per-session timeout would fire before the release starts."""
DEFAULT_MATCHERS = ("exact", "order")
"""``player.DEFAULT_MATCHERS``, likewise."""


class Unmatched(StrEnum):
    error = "error"
    empty = "empty"


class Model(StrEnum):
    recorded = "recorded"
    scripted = "scripted"
    live = "live"


def replay(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Cassettes, scenario files (.yaml), or directories of either."),
    ],
    agent: Annotated[
        str, typer.Option("--agent", "-a", help="The release's entrypoint, module:function.")
    ],
    model: Annotated[
        Model,
        typer.Option(
            help="recorded: serve the cassette's model responses; scripted: the release talks "
            "to its scripted model on loopback; live: to its real model (your keys, your "
            "network)."
        ),
    ] = Model.recorded,
    trials: Annotated[int, typer.Option(min=1, max=1000, help="Replays of each cassette.")] = 1,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Worker processes.")] = 1,
    timeout: Annotated[
        float, typer.Option(min=0, max=86_400, help="Seconds per session (0: none; else 0.1+).")
    ] = 60,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the candidate traces here, redacted like recordings (--key-file, "
            "--policy; the recording's key keeps equal values equal).",
        ),
    ] = None,
    key_file: KeyFile = None,
    policy_file: PolicyFile = None,
    matchers: Annotated[
        str,
        typer.Option(
            help="How a live tool call finds its recorded answer, tried in order: exact (same "
            "arguments), order (the tool's next recorded call), tool (its last one again). "
            "A loose match is noted in the candidate trace.",
        ),
    ] = ",".join(DEFAULT_MATCHERS),
    unmatched: Annotated[
        Unmatched,
        typer.Option(
            help="What an unmatched call gets: an error the release sees, or an empty result."
        ),
    ] = Unmatched.error,
    allow_truncated: Annotated[
        bool,
        typer.Option("--allow-truncated", help="Replay recordings that never finalised too."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON lines.")] = False,
    compare: Annotated[
        bool, typer.Option("--diff", help="Diff each candidate against its recording.")
    ] = False,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="Print what the release sent as it is. By default the answers, errors, "
            "divergences, request drift and unmatched calls shown are redacted like a "
            "recording (--policy, --key-file): a release may send what its recording never "
            "held, and replay output ends up in CI logs.",
        ),
    ] = False,
) -> None:
    """Replay cassettes against a release: tools and (by default) the model are answered
    from the recording, write tools are never executed, and no network leaves the process
    (loopback only with --model scripted; with --model live the release reaches its model).

    Exits 0 when every session completed, or raised the same exception type its recording
    ended with; 1 when a session raised where its recording did not (or raised another
    type), timed out, crashed, or its cassette could not be loaded; 2 on usage or input
    errors."""
    if 0 < timeout < MIN_TIMEOUT:
        raise typer.BadParameter(
            f"{timeout:g} s is too short to start a session; give {MIN_TIMEOUT:g} s or more, "
            "or 0 for no timeout",
            param_hint="--timeout",
        )
    chosen = tuple(m.strip() for m in matchers.split(",") if m.strip())
    wrong = [m for m in chosen if m not in MATCHERS]
    if wrong or not chosen:
        raise typer.BadParameter(
            f"{', '.join(wrong) or 'none given'}; choose from {', '.join(MATCHERS)}",
            param_hint="--matchers",
        )
    with user_errors():
        policy = redaction_policy(policy_file, key_file)
        # One key for the run, so a value keeps its token across sessions and trials.
        key = None if raw else runner.results_key(policy)
    config = runner.ReplayConfig(
        agent=agent,
        model=model.value,
        timeout=timeout or None,
        out=out,
        redaction=policy,
        compare=compare,
        allow_truncated=allow_truncated,
        matchers=chosen,  # type: ignore[arg-type]
        unmatched=unmatched.value,
        redact_results=not raw,
        results_key=key,
    )
    scenarios = [p for p in paths if p.suffix in runner.SCENARIO_SUFFIXES or _scenario_dir(p)]
    cassettes = [p for p in paths if p not in scenarios]

    def todo() -> Iterator[runner.Job]:
        for path, trial in runner.jobs(cassettes, trials):
            yield path, trial, config
        for path, trial, scenario in runner.scenario_jobs(
            scenarios,
            agent,
            model=model.value,
            timeout=timeout or None,
            out=out,
            redaction=policy,
            allow_truncated=allow_truncated,
        ):
            yield (
                path,
                trial,
                runner.replace(
                    scenario,
                    compare=compare,
                    matchers=config.matchers,
                    unmatched=config.unmatched,
                    redact_results=config.redact_results,
                    results_key=config.results_key,
                ),
            )

    with user_errors():
        total = sum(1 for _ in todo())
        if out is not None:
            _one_candidate_per_file(todo(), out)
    if total == 0:
        error(f"no cassettes or scenarios under {', '.join(map(str, paths))}.")
        raise typer.Exit(EXIT_USAGE)
    with user_errors():
        runner.load_entrypoint(agent)  # a wrong entrypoint is one clear error, not N failures
        if policy is not None:
            redact.Redactor(policy)  # so is a key file that cannot be read
        with progress_bar("replaying", total, disable=as_json) as step:

            def advance(result: SessionReplay) -> None:
                step(Path(result.scenario or result.cassette).stem)
                if as_json:
                    typer.echo(json.dumps(result.model_dump(mode="json")))

            run = runner.run_jobs(todo(), workers=workers, on_result=advance)
    if not as_json:
        console.print(_table(run.sessions, agent, model.value))
        _explain_misses(run.sessions)
        _explain_drift(run.sessions)
        if compare:
            _divergences(run.sessions)
    broken = [s for s in run.sessions if s.status in ("timeout", "crashed", "invalid")]
    unexpected = [s for s in run.sessions if runner.raised_unlike_recording(s)]
    _explain_raises(unexpected, err_console if as_json else console)
    if not as_json:
        counts = ", ".join(
            f"{run.count(status)} {status}" for status in _STATUS_STYLE if run.count(status)
        )
        if unexpected:
            counts += f" ({len(unexpected)} not as recorded)"
        console.print(f"{count(len(run.sessions), 'session')}: {counts}", highlight=False)
    if broken or unexpected:
        raise typer.Exit(EXIT_FAILED)


def _one_candidate_per_file(todo: Iterator[runner.Job], out: Path) -> None:
    """Refuse a run in which two sessions would write the same candidate file (two cassettes
    of the same name in different folders): the second would replace the first."""
    seen: dict[str, str] = {}
    for path, trial, config in todo:
        name = runner.candidate_name(path, config.scenario, trial)
        source = config.scenario or path
        if seen.setdefault(name, source) != source:
            raise InputFileError(
                f"{seen[name]!r} and {source!r} would both write {str(out / name)!r}; replay "
                "them into separate --out folders, or rename one."
            )


def _explain_raises(unexpected: list[SessionReplay], out: Console) -> None:
    for s in unexpected:
        name = Path(s.scenario).stem if s.scenario else Path(s.cassette).name
        recorded = (
            f"raised {s.recorded_raised}" + (f": {s.recorded_error}" if s.recorded_error else "")
            if s.recorded_raised
            else "ended without an error"
        )
        out.print(
            Text(f"\n{name} (trial {s.trial}): the release raised, unlike its recording", "bold")
        )
        out.print(Text(f"  release:   {s.error}\n  recording: {recorded}"), soft_wrap=True)


_SEVERITY = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "dim"}


def _divergences(sessions: list[SessionReplay]) -> None:
    for s in sessions:
        if not s.divergences:
            continue
        name = Path(s.scenario).stem if s.scenario else Path(s.cassette).name
        console.print(
            Text(f"\n{name} (trial {s.trial}): {len(s.divergences)} divergences", style="bold")
        )
        for d in s.divergences:
            step = d.candidate if d.candidate is not None else d.recorded
            console.print(
                Text(f"  {d.severity:<8} ", style=_SEVERITY.get(d.severity, "")),
                Text(f"step {step}: [{d.kind}] {d.summary}"),
                soft_wrap=True,
            )


def _scenario_dir(path: Path) -> bool:
    """A folder of scenario files (and no cassettes)."""
    return (
        path.is_dir()
        and bool(runner.scenario_files(path))
        and not any(path.rglob("*" + store.SUFFIX))
    )


def _table(sessions: list[SessionReplay], agent: str, model: str) -> Table:
    table = Table(title=f"replayed against {agent} (model: {model})")
    columns = ("cassette / scenario", "trial", "status", "wiring", "unmatched", "request drift")
    for column in (*columns, "answer"):
        table.add_column(column, overflow="fold")
    for s in sessions:
        table.add_row(
            Text(Path(s.scenario).stem if s.scenario else Path(s.cassette).name),
            str(s.trial),
            Text(s.status, style=_STATUS_STYLE.get(s.status, "")),
            Text(", ".join(f"{w.kind} {w.tool}" for w in s.wiring)),
            Text(", ".join(f"{u.tool} ({u.effect})" for u in s.unmatched)),
            str(len(s.request_drift)) if s.request_drift else "",
            Text(_abridged(s.answer) if s.answer is not None else s.error or ""),
        )
    return table


def _explain_drift(sessions: list[SessionReplay]) -> None:
    """The first difference of each model request the release sent otherwise than recorded."""
    for s in sessions:
        name = Path(s.scenario).stem if s.scenario else Path(s.cassette).name
        for drift in s.request_drift:
            console.print(
                Text.assemble((f"{name}, model call {drift.call}: ", "bold"), drift.detail),
                soft_wrap=True,
            )


def _abridged(answer: str, width: int = 100) -> str:
    """The agent's answer, cut to a line of the table (an error is shown whole: it says what
    to do at its end)."""
    return answer if len(answer) <= width else answer[: width - 1] + "\u2026"


def _explain_misses(sessions: list[SessionReplay]) -> None:
    for s in sessions:
        for miss in s.unmatched:
            console.print(
                Text(
                    f"\n{Path(s.cassette).name}, step {miss.seq}: {miss.tool} had no recorded "
                    f"answer and got the fail-closed error",
                    style="bold",
                ),
            )
            console.print(Text(miss.explanation), highlight=False)
