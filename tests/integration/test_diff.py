"""The divergence engine on real traces: tau-bench trials, release 2 of the demo against the
bundled cassettes, and seeded scripted-model noise on release 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retake import runner, store
from retake.cli import app
from retake.diff import DiffConfig, diff, learn_noise
from retake.importers import import_file
from retake.schema import Cassette, DiffReport, ToolCallEvent
from tests.integration.test_demo import BUNDLED

TAU = Path(__file__).resolve().parent.parent / "fixtures" / "tau-bench"


def tau(task: int, trial: int) -> Cassette:
    (path,) = TAU.glob(f"*__task{task:02d}__trial{trial}__*.json")
    return import_file(path, format="tau-bench").cassettes[0]


def calls(cassette: Cassette) -> dict[int, tuple[str, str]]:
    return {
        e.seq: (e.tool, json.dumps(e.arguments, sort_keys=True))
        for e in cassette.events
        if isinstance(e, ToolCallEvent)
    }


def test_tau_bench_trials_of_one_task_pair_the_same_tool_calls() -> None:
    reference = tau(12, 0)
    for trial in (1, 2):
        other = tau(12, trial)
        report = diff(reference, other)
        left, right = calls(reference), calls(other)
        paired = [(r, c) for r, c, _ in report.pairs if r in left and c in right]
        # every lookup of the reference pairs with the same lookup in the other trial,
        # although the providers' call ids differ
        assert [left[r] for r, _ in paired] == [right[c] for _, c in paired]
        assert {left[r][0] for r, _ in paired} == {"get_user_details", "get_reservation_details"}
        assert not report.of_kind("arguments_changed") and not report.critical


def test_a_failing_tau_bench_trial_diverges_where_it_went_wrong_not_after() -> None:
    passing, failing = tau(13, 1), tau(13, 0)
    report = diff(passing, failing)
    # the common start (greeting, ids, the reservation lookup) pairs step for step
    assert [(r, c) for r, c, _ in report.pairs if r is not None and r <= 10] == [
        (r, r) for r in range(11)
    ]
    behaviour = [d for d in report.divergences if d.severity != "info"]
    first = behaviour[0]
    # where the trials part: the passing trial tried the upgrade, the failing one went searching
    assert (first.kind, first.recorded, first.candidate) == ("tool_replaced", 11, 11)
    assert "update_reservation_flights replaced by search_direct_flight" in first.summary
    # nothing before it is more than reworded text
    assert all(d.severity == "info" for d in report.divergences if (d.candidate or 0) < 11)
    # and the end of the conversation pairs again instead of being reported as removed/added
    assert (32, 71, "sequence") in report.pairs


def replayed(cassette: Cassette, agent: str) -> runner.ReplayOutcome:
    return runner.replay_cassette(
        cassette, runner.ReplayConfig(agent=agent, model="scripted"), source="test"
    )


def release_2(name: str) -> DiffReport:
    recorded = store.load(BUNDLED / f"{name}.retake")
    outcome = replayed(recorded, "retake.demo:release_2")
    assert outcome.candidate is not None
    return diff(recorded, outcome.candidate, wiring=outcome.result.wiring)


def kinds(report: DiffReport) -> set[tuple[str, str]]:
    return {(d.kind, d.severity) for d in report.divergences}


def test_release_2_regressions_are_reported_with_their_kind_and_severity() -> None:
    # a refund retried after a timeout without an idempotency key
    retry = release_2("refund-timeout-retry")
    changed = retry.of_kind("arguments_changed")
    assert len(changed) == 2 and all(d.severity == "error" for d in changed)
    assert all("arguments.idempotency_key removed" in d.summary for d in changed)
    # the permission check moved after the call: attempted, then rejected
    denied = release_2("refund-above-limit-denied")
    assert ("called_then_rejected", "critical") in kinds(denied)
    allowed = release_2("refund-within-limit")
    late = [d for d in allowed.of_kind("order_changed") if "after the call" in d.summary]
    assert [(d.tool, d.severity) for d in late] == [("issue_refund", "error")]
    # knowledge-base text pasted into the system prompt, and obeyed: an email nobody asked for
    hijacked = release_2("kb-gift-cards")
    assert ("tool_added", "critical") in kinds(hijacked)
    assert hijacked.critical[0].tool == "send_email"
    pasted = [d for d in hijacked.of_kind("model_request_drift") if d.severity == "error"]
    assert pasted and "pasted into the system prompt" in pasted[0].summary
    # the email confirmation check dropped: ask became allow, and the email went out
    email = release_2("email-unconfirmed")
    assert ("permission_changed", "error") in kinds(email)
    assert [(d.kind, d.tool) for d in email.critical] == [("tool_added", "send_email")]


def test_release_2_benign_changes_are_not_critical() -> None:
    report = release_2("refund-within-limit")
    drift = report.of_kind("model_request_drift")[0]  # the reworded prompt
    assert drift.severity == "info" and "system prompt changed" in drift.summary
    swapped = [d for d in report.of_kind("order_changed") if d.tool == "lookup_order"]
    assert [d.severity for d in swapped] == ["warning"]  # the lookups the other way round
    tracking = release_2("lookup-in-transit")  # the new read-only tool
    assert kinds(tracking) >= {("wiring_drift", "info"), ("tool_added", "warning")}
    assert not tracking.critical and not report.critical
    assert tracking.max_severity == "warning"


def seeded(cassette: Cassette, seed: int) -> Cassette:
    tags = {**cassette.header.tags, "temperature": 0.8, "seed": seed}
    header = cassette.header.model_copy(update={"tags": tags})
    return cassette.model_copy(update={"header": header})


@pytest.mark.parametrize("name", ["refund-within-limit", "email-confirmed-in-chat", "kb-returns"])
def test_seeded_noise_of_release_1_is_learned_and_nothing_is_critical(name: str) -> None:
    recorded = store.load(BUNDLED / f"{name}.retake")

    def trial(seed: int) -> Cassette:
        candidate = replayed(seeded(recorded, seed), "retake.demo:release_1").candidate
        assert candidate is not None
        return candidate

    noise = learn_noise(recorded, [trial(seed) for seed in range(1, 7)])
    for seed in (41, 42, 43):
        report = diff(recorded, trial(seed), noise=noise)
        assert not report.critical, report.critical
        assert report.max_severity in (None, "info"), report.divergences
        assert report.noise_trials == 6


def test_the_diff_command(tmp_path: Path) -> None:
    recorded = BUNDLED / "refund-above-limit-denied.retake"
    candidate = replayed(store.load(recorded), "retake.demo:release_2").candidate
    assert candidate is not None
    path = store.save(candidate, tmp_path / "candidate.retake")

    def retake(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "retake.cli", "diff", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    shown = retake(str(recorded), str(path), "--explain")
    assert shown.returncode == 1, shown.stderr  # a critical divergence
    assert "called_then_rejected" in shown.stdout and "Traceback" not in shown.stderr
    data = json.loads(retake(str(recorded), str(path), "--json").stdout)
    assert data["schema_version"] == 1
    assert DiffReport.model_validate(data).critical
    assert retake(str(recorded), str(recorded)).returncode == 0
    missing = retake(str(tmp_path / "nope.retake"), str(path))
    assert missing.returncode == 2 and "no cassette at" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_imported_traces_get_their_write_tools_from_the_diff_config(tmp_path: Path) -> None:
    """An imported trace's header names no tool effects: declared write tools make a new write
    call as critical as in a recording of retake's own."""
    failing, passing = tau(13, 0), tau(13, 1)
    assert not diff(failing, passing).critical
    config = DiffConfig(write_tools=("update_reservation_flights",))
    (critical,) = diff(failing, passing, config=config).critical
    assert (critical.kind, critical.tool) == ("tool_replaced", "update_reservation_flights")

    a = store.save(failing, tmp_path / "failing.retake")
    b = store.save(passing, tmp_path / "passing.retake")
    settings = tmp_path / "diff.yaml"
    settings.write_text(
        "write_tools: [update_reservation_flights]\n"
        "ignore_values: ['[A-Z0-9]{6}']  # reservation codes\n"
        "text_threshold: 0.8\n"
    )
    cli = CliRunner()
    assert cli.invoke(app, ["diff", str(a), str(b)]).exit_code == 0
    for options in (["--config", str(settings)], ["--write-tool", "update_reservation_flights"]):
        done = cli.invoke(app, ["diff", str(a), str(b), "--json", *options])
        assert done.exit_code == 1, done.output  # a critical divergence
        assert DiffReport.model_validate_json(done.stdout).critical
    settings.write_text("ignore_values: ['[unclosed']\n")
    bad = cli.invoke(app, ["diff", str(a), str(b), "--config", str(settings)])
    assert bad.exit_code == 2
    said = " ".join(bad.output.split())
    assert str(settings) in said and "line 1" in said and "not a regular expression" in said


def test_the_terminal_view_marks_the_divergent_field_and_says_why_noise_was_suppressed() -> None:
    from datetime import UTC, datetime

    from rich.console import Console

    from retake.report import diff_view
    from retake.schema import CassetteHeader, UserEvent

    header = CassetteHeader(
        session_id="s", agent="a:b", release="1", recorded_at=datetime(2026, 11, 27, tzinfo=UTC)
    )

    def trace(order: str, greeting: str) -> Cassette:
        return Cassette(
            header=header,
            events=(
                UserEvent(seq=0, text=greeting),
                ToolCallEvent(
                    seq=1, call_id="c1", tool="lookup_order", arguments={"order_id": order}
                ),
            ),
        )

    recorded = trace("A-1042", "Where is my order, please?")
    candidate = trace("B-7731", "Where is my order please?")
    report = diff(recorded, candidate)
    console = Console(record=True, width=200, color_system="standard", force_terminal=True)
    console.print(diff_view(report, recorded, candidate))
    text = console.export_text(styles=True, clear=False)
    # the changed value sits in a marked span (black on yellow) on each side
    assert "\x1b[1;30;43mB-7731\x1b[0m" in text and "\x1b[1;30;43mA-1042\x1b[0m" in text
    plain = console.export_text()
    assert "noise (suppressed): text: text_similarity, texts 0.98 similar" in " ".join(
        plain.split()
    )
