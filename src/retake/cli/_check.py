"""``retake check`` and ``retake verify``: the release gate, and its evidence."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import (
    EXIT_FAILED,
    KeyFile,
    PolicyFile,
    console,
    count,
    labelled,
    progress_bar,
    redaction_policy,
    user_errors,
    writable,
)
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import report, suite
else:
    report = lazy("retake.report")
    suite = lazy("retake.suite")


class Model(StrEnum):
    recorded = "recorded"
    scripted = "scripted"
    live = "live"


def check(
    suite_dir: Annotated[
        Path | None, typer.Argument(help="The folder of scenario files (default: scenarios/).")
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="The release's entrypoint.")
    ] = None,
    release: Annotated[str | None, typer.Option(help="The release id to report.")] = None,
    model: Annotated[Model | None, typer.Option(help="The model mode.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=256, help="Worker processes.")] = None,
    bundle: Annotated[
        Path | None, typer.Option(help="Where to write the evidence bundle (JSON).")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Also write JUnit XML here.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Also write Markdown here.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write a self-contained HTML here.")
    ] = None,
    sign_key: Annotated[
        Path | None, typer.Option(help="Sign the bundle with the HMAC key in this file.")
    ] = None,
    key_file: KeyFile = None,
    policy_file: PolicyFile = None,
) -> None:
    """Run a suite of scenarios against a release, print the report, write the evidence, and
    exit 0 only when every expectation holds and no critical divergence appears (1 when they
    fail, 2 on usage or input errors). What the evidence quotes from the release's traces is
    redacted (--policy, --key-file) like a recording."""
    with user_errors():
        policy = redaction_policy(policy_file, key_file)
        settings = suite.SuiteSettings.find()
        folder = suite_dir or Path(settings.suite)
        target = bundle or Path(settings.bundle)
        inputs = [*suite.scenario_files(folder), folder / suite.CROSSWALK]
        for path, what in (
            (target, "the evidence bundle"),
            (junit, "the JUnit report"),
            (markdown, "the Markdown report"),
            (html, "the HTML report"),
        ):
            if path is not None:
                writable(path, inputs=inputs, what=what)
        total = sum(
            suite.mutate.load_scenario(p).scenario.trials for p in suite.scenario_files(folder)
        )
        with progress_bar("checking", total) as advance:
            evidence = suite.check(
                folder,
                agent=agent or settings.agent,
                release=release or settings.release,
                model=(model.value if model else settings.model),
                workers=workers or settings.workers,
                timeout=settings.timeout,
                on_result=lambda result: advance(Path(result.scenario or "").stem),
                redaction=policy,
            )
        if sign_key is not None:
            evidence = suite.sign(evidence, suite.read_key(sign_key))
        suite.write_bundle(evidence, target)
        if junit is not None:
            junit.write_text(report.junit_xml(evidence), encoding="utf-8")
        if markdown is not None:
            markdown.write_text(report.markdown(evidence), encoding="utf-8")
        if html is not None:
            html.write_text(report.render_html(evidence), encoding="utf-8")
    console.print(report.terminal(evidence))
    console.print(f"evidence: {target}", highlight=False)
    if not evidence.passed:
        raise typer.Exit(EXIT_FAILED)


def verify(
    bundle: Annotated[Path, typer.Argument(help="The evidence bundle.")],
    sign_key: Annotated[
        Path | None, typer.Option(help="Check the HMAC signature with the key in this file.")
    ] = None,
) -> None:
    """Re-hash every file an evidence bundle names (and check its signature); exit 1 on any
    change."""
    with user_errors():
        evidence = suite.read_bundle(bundle)
        key = suite.read_key(sign_key) if sign_key is not None else None
        problems = suite.verify(evidence, key=key)
    if problems:
        empty = not evidence.files  # then the first problem says so
        for i, problem in enumerate(problems):
            label = "EMPTY" if empty and i == 0 else "CHANGED"
            labelled(console, label, "bold red", problem, soft_wrap=True)
        console.print(
            "the bundle evidences nothing."
            if empty
            else f"{count(len(problems), 'problem')}: the evidence no longer matches."
        )
        raise typer.Exit(EXIT_FAILED)
    signed = " and its signature holds" if key is not None else ""
    n = len(evidence.files)
    console.print(
        f"ok: {'1 file matches' if n == 1 else f'all {n} files match'} the bundle{signed}."
    )
