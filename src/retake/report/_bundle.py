"""Views of an evidence bundle: the terminal report, JUnit XML and Markdown."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from rich.console import Group
from rich.table import Table
from rich.text import Text

from retake.schema import EvidenceBundle, ScenarioEvidence, TrialEvidence

_STATUS = {"evidenced": "green", "failed": "bold red", "without evidence": "yellow"}


def _name(scenario: ScenarioEvidence) -> str:
    return Path(scenario.scenario).stem


def _failures(trial: TrialEvidence) -> list[str]:
    lines = [f"{v.expectation}: {v.detail}" for v in trial.verdicts if not v.passed]
    if trial.status != "completed":
        lines.insert(0, f"the replay {trial.status}: {trial.error}")
    return lines


def _critical(trial: TrialEvidence) -> list[str]:
    return [f"[{d.kind}] {d.summary}" for d in trial.divergences if d.severity == "critical"]


def terminal(bundle: EvidenceBundle) -> Group:
    """The check report for a terminal."""
    table = Table(title=f"retake check · release {bundle.release} · model {bundle.model}")
    for column in ("scenario", "pass^k", "trials", "failed expectations", "critical"):
        table.add_column(column, overflow="fold")
    for scenario in bundle.scenarios:
        failed = sorted({line for t in scenario.trials for line in _failures(t)})
        ok = scenario.pass_k
        table.add_row(
            Text(_name(scenario)),
            Text("pass" if ok else "FAIL", style="green" if ok else "bold red"),
            f"{sum(t.passed for t in scenario.trials)}/{len(scenario.trials)}",
            Text("\n".join(failed)),
            Text(
                f"{scenario.critical}" + ("" if scenario.gating_critical else " (mutated)")
                if scenario.critical
                else ""
            ),
        )
    parts: list[Table | Text] = [table]
    if bundle.wiring:
        wiring = Table(title="wiring drift (the release's tools vs the recordings)")
        wiring.add_column("change")
        wiring.add_column("tool")
        wiring.add_column("detail")
        for change in bundle.wiring:
            wiring.add_row(change.kind, change.tool, change.detail)
        parts.append(wiring)
    if bundle.controls:
        controls = Table(title="controls")
        controls.add_column("control")
        controls.add_column("status")
        controls.add_column("scenarios", overflow="fold")
        for control in bundle.controls:
            controls.add_row(
                control.id,
                Text(control.status, style=_STATUS.get(control.status, "")),
                ", ".join(Path(s).stem for s in control.scenarios) or "(none)",
            )
        parts.append(controls)
    shifted = [a for a in bundle.diagnostics.adherence if a.shift]
    if shifted or bundle.diagnostics.incidents:
        diag = Table(title="diagnostics (scenarios without mutations, recordings vs release)")
        diag.add_column("signal")
        diag.add_column("recordings")
        diag.add_column("release")
        diag.add_column("p")
        for a in shifted:
            diag.add_row(
                Text(f"{a.tool}: {a.shift.split(':')[0]}"),
                _counted(a.recorded),
                _counted(a.release),
                Text(
                    f"{a.p_value:.3g}" + (" significant" if a.significant else ""),
                    style="bold red" if a.significant else "",
                ),
            )
        for i in bundle.diagnostics.incidents:
            diag.add_row(f"incident: {i.signature}", str(i.recorded), str(i.release), "")
        parts.append(diag)
    failing = [s for s in bundle.scenarios if not s.pass_k or s.gating_critical]
    verdict = (
        Text(f"PASSED: {len(bundle.scenarios)} scenarios held.", style="bold green")
        if bundle.passed
        else Text(
            f"FAILED: {len(failing)} of {len(bundle.scenarios)} scenarios did not hold.",
            style="bold red",
        )
    )
    parts.append(verdict)
    return Group(*parts)


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(counts.items()))


def junit_xml(bundle: EvidenceBundle) -> str:
    """One test case per scenario x trial; failed expectations and critical divergences as
    the failure text."""
    cases = [(s, t) for s in bundle.scenarios for t in s.trials]
    failures = sum(1 for _, t in cases if not t.passed)
    suite = ET.Element(
        "testsuite",
        name=f"retake check {bundle.release}",
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        time=f"{bundle.seconds:.3f}",
    )
    for scenario, trial in cases:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"retake.{bundle.release}",
            name=f"{_name(scenario)}[trial {trial.trial}]",
            time=f"{trial.seconds:.3f}",
        )
        if not trial.passed:
            lines = _failures(trial) + (_critical(trial) if not scenario.mutations else [])
            failure = ET.SubElement(
                case, "failure", message=lines[0] if lines else "the scenario did not hold"
            )
            failure.text = "\n".join(lines)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def markdown(bundle: EvidenceBundle) -> str:
    """A summary for a pull-request comment."""
    head = "✅ passed" if bundle.passed else "❌ failed"
    lines = [
        f"### retake check: {head}",
        "",
        (
            f"Release `{bundle.release}` (`{bundle.agent}`, {bundle.model} model), "
            f"{len(bundle.scenarios)} scenarios in {bundle.seconds:.1f} s."
        ),
        "",
        "| scenario | pass^k | trials | what failed |",
        "| --- | --- | --- | --- |",
    ]
    for scenario in bundle.scenarios:
        failed = sorted({line for t in scenario.trials for line in _failures(t)})
        cell = "<br>".join(f.replace("|", "\\|") for f in failed)
        mark = "pass" if scenario.pass_k else "**FAIL**"
        passed = sum(t.passed for t in scenario.trials)
        lines.append(f"| {_name(scenario)} | {mark} | {passed}/{len(scenario.trials)} | {cell} |")
    if bundle.controls:
        lines += ["", "| control | status |", "| --- | --- |"]
        lines += [f"| {c.id} | {c.status} |" for c in bundle.controls]
    if bundle.wiring:
        lines += ["", "Wiring drift: " + "; ".join(f"{w.kind} `{w.tool}`" for w in bundle.wiring)]
    shifted = [a for a in bundle.diagnostics.adherence if a.significant]
    if shifted:
        lines += [""] + [
            f"Diagnostics: `{a.tool}` {a.shift} (Fisher p = {a.p_value:.3g})" for a in shifted
        ]
    return "\n".join(lines) + "\n"
