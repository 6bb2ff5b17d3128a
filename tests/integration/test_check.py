"""``retake check`` on the bundled suite, each expectation passing and failing, and the
evidence bundle's tamper evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from retake import expect, runner, store, suite
from retake.cli import app
from retake.schema import EvidenceBundle

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
BUNDLED = ROOT / "cassettes"


@pytest.fixture(scope="module")
def release_2() -> EvidenceBundle:
    return suite.check(SCENARIOS, agent="retake.demo:release_2")


@pytest.fixture(scope="module")
def release_1() -> EvidenceBundle:
    return suite.check(SCENARIOS, agent="retake.demo:release_1")


def failing(bundle: EvidenceBundle) -> dict[str, set[str]]:
    return {
        Path(s.scenario).stem: {v.expectation for t in s.trials for v in t.verdicts if not v.passed}
        for s in bundle.scenarios
        if not s.pass_k
    }


def test_release_1_passes_the_bundled_suite(release_1: EvidenceBundle) -> None:
    assert release_1.passed, failing(release_1)
    assert len(release_1.scenarios) >= 20
    statuses = {c.id: c.status for c in release_1.controls}
    # a control no scenario evidences is shown, never hidden; it does not fail the run
    assert statuses.pop("escalation-offered") == "without evidence"
    assert set(statuses.values()) == {"evidenced"}
    assert any(k.endswith("crosswalk.yaml") for k in release_1.files)


def test_a_crosswalk_naming_a_missing_scenario_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        (SCENARIOS / "tenant-switched.yaml").read_text().replace("../cassettes", str(BUNDLED))
    )
    (tmp_path / "crosswalk.yaml").write_text(
        "controls:\n  - id: c1\n    statement: s\n    scenarios: [a, nowhere]\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(tmp_path),
            "--agent",
            "retake.demo:release_1",
            "--bundle",
            str(tmp_path / "e.json"),
        ],
    )
    assert result.exit_code == 2
    assert "line 4" in result.output and "no scenario 'nowhere'" in result.output


def test_release_2_fails_naming_every_regression_of_its_docstring(
    release_2: EvidenceBundle,
) -> None:
    assert not release_2.passed
    failed = failing(release_2)
    # a refund retried after a timeout without an idempotency key
    assert "args_valid" in failed["refund-timeout-needs-idempotency"]
    assert "args_valid" in failed["recorded-timeout-retry"]
    # the permission check moved after the call: attempted, then rejected
    assert "refuse_before_call" in failed["refund-above-limit"]
    assert "refuse_before_call" in failed["manager-role-revoked"]
    # knowledge-base text obeyed as instructions
    assert "never_call" in failed["gift-card-planted-instructions"]
    assert "canary_not_leaked" in failed["kb-injection-exfiltration"]
    # the email confirmation check dropped
    assert "refuse_before_call" in failed["email-without-consent"]
    assert "never_call" in failed["turn-consent-withdrawn"]
    # the benign changes (rewording, swapped lookups, a new read tool) fail nothing
    assert "tenant-switched" not in failed and "lookup-schema-drift" not in failed
    assert [(w.kind, w.tool) for w in release_2.wiring] == [("added", "track_shipment")]
    refund = next(c for c in release_2.controls if c.id == "refund-limit")
    assert refund.status == "failed"


def test_the_views_of_the_bundle(release_2: EvidenceBundle) -> None:
    from retake import report

    xml = ET.fromstring(report.junit_xml(release_2).split("\n", 1)[1])
    cases = xml.findall("testcase")
    assert len(cases) == sum(len(s.trials) for s in release_2.scenarios)
    failures = [c for c in cases if c.find("failure") is not None]
    failing_trials = sum(1 for s in release_2.scenarios for t in s.trials if not t.passed)
    assert int(xml.get("failures", "0")) == len(failures) == failing_trials
    refund = next(c for c in cases if c.get("name", "").startswith("refund-above-limit["))
    assert "called at step" in (refund.find("failure").text or "")  # type: ignore[union-attr]
    text = report.markdown(release_2)
    assert text.startswith("### retake check: ❌ failed")
    assert "| refund-above-limit | **FAIL** |" in text


def test_check_exit_codes_and_files(tmp_path: Path) -> None:
    cli = CliRunner()
    bundle, junit, md = tmp_path / "e.json", tmp_path / "j.xml", tmp_path / "m.md"
    failed = cli.invoke(
        app,
        [
            "check",
            str(SCENARIOS),
            "--bundle",
            str(bundle),
            "--junit",
            str(junit),
            "--markdown",
            str(md),
        ],
    )
    assert failed.exit_code == 1, failed.output
    assert "FAILED" in failed.stdout and bundle.is_file() and junit.is_file() and md.is_file()
    subset = tmp_path / "subset"
    subset.mkdir()
    for name in ("refund-above-limit", "tenant-switched"):
        text = (SCENARIOS / f"{name}.yaml").read_text().replace("../cassettes", str(BUNDLED))
        (subset / f"{name}.yaml").write_text(text)
    passed = cli.invoke(
        app,
        [
            "check",
            str(subset),
            "--agent",
            "retake.demo:release_1",
            "--bundle",
            str(tmp_path / "ok.json"),
        ],
    )
    assert passed.exit_code == 0, passed.output
    missing = cli.invoke(app, ["check", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no suite at" in missing.output
    bad_agent = cli.invoke(
        app,
        ["check", str(subset), "--agent", "nowhere:agent", "--bundle", str(tmp_path / "x.json")],
    )
    assert bad_agent.exit_code == 2 and "cannot import module 'nowhere'" in bad_agent.output


def test_verify_fails_after_one_byte_of_any_named_file_changes(tmp_path: Path) -> None:
    copies = tmp_path / "suite"
    copies.mkdir()
    cassette = tmp_path / "c.retake"
    cassette.write_bytes((BUNDLED / "refund-above-limit-denied.retake").read_bytes())
    scenario = copies / "refund-above-limit.yaml"
    scenario.write_text(
        (SCENARIOS / "refund-above-limit.yaml")
        .read_text()
        .replace("../cassettes/refund-above-limit-denied.retake", str(cassette))
    )
    key = tmp_path / "key"
    key.write_text("a signing key for this test only")
    bundle_path = tmp_path / "e.json"
    cli = CliRunner()
    made = cli.invoke(
        app,
        [
            "check",
            str(copies),
            "--agent",
            "retake.demo:release_1",
            "--bundle",
            str(bundle_path),
            "--sign-key",
            str(key),
        ],
    )
    assert made.exit_code == 0, made.output
    ok = cli.invoke(app, ["verify", str(bundle_path), "--sign-key", str(key)])
    assert ok.exit_code == 0 and "signature holds" in ok.stdout
    for victim in (cassette, scenario):
        original = victim.read_bytes()
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        victim.write_bytes(bytes(flipped))
        broken = cli.invoke(app, ["verify", str(bundle_path)])
        assert broken.exit_code == 1 and str(victim) in broken.stdout
        victim.write_bytes(original)
    data = json.loads(bundle_path.read_text())
    data["passed"] = False
    bundle_path.write_text(json.dumps(data))
    forged = cli.invoke(app, ["verify", str(bundle_path), "--sign-key", str(key)])
    assert forged.exit_code == 1 and "signature does not match" in forged.stdout


def test_verify_refuses_a_bundle_of_an_unknown_format_or_naming_no_files(tmp_path: Path) -> None:
    named = tmp_path / "scenario.yaml"
    named.write_text("cassette: c.retake\n")
    bundle = EvidenceBundle(
        retake_version="0",
        release="r",
        agent="m:f",
        model="recorded",
        created_at=datetime.now(UTC),
        files={str(named): suite.sha256_file(named)},
    )
    good = tmp_path / "e.json"
    suite.write_bundle(bundle, good)
    cli = CliRunner()
    assert cli.invoke(app, ["verify", str(good)]).exit_code == 0

    def verify(**changes: Any) -> tuple[int, str]:
        data = json.loads(good.read_text()) | changes
        path = tmp_path / "changed.json"
        path.write_text(json.dumps(data))
        done = cli.invoke(app, ["verify", str(path)], env={"COLUMNS": "200"})
        assert done.exception is None or isinstance(done.exception, SystemExit), done.output
        return done.exit_code, " ".join(done.output.split())

    code, said = verify(bundle_version=99)
    assert code == 2, said
    assert "bundle_version=99; a newer retake wrote it" in said and "upgrade retake" in said
    code, said = verify(bundle_version=99, field_of_the_future=1)  # the version speaks first
    assert code == 2 and "bundle_version=99" in said
    code, said = verify(bundle_version=0)
    assert code == 2 and "bundle_version=0" in said
    code, said = verify(bundle_version="1")
    assert code == 2 and "bundle_version='1'; it must be a number" in said
    code, said = verify(release=5)
    assert code == 2 and "is not a valid evidence bundle: field release:" in said
    assert "validation error" not in said
    code, said = verify(files={})
    assert code == 1 and "EMPTY the bundle names no files" in said and "ok:" not in said
    assert "the bundle evidences nothing." in said and "no longer matches" not in said


def test_the_check_command_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "retake.cli", "check", "--bundle", str(tmp_path / "e.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "FAILED: 11 of 27 scenarios did not hold." in done.stdout.replace("\n", " ")


# --- each expectation, passing and failing, on demo cassettes ---------------------------------


def trace(name: str, agent: str = "retake.demo:release_1", **extra: Any) -> expect.Trace:
    recorded = store.load(BUNDLED / f"{name}.retake")
    outcome = runner.replay_cassette(
        recorded, runner.ReplayConfig(agent=agent, model="scripted", compare=True, **extra)
    )
    assert outcome.candidate is not None
    return expect.Trace(
        outcome.candidate, recorded, outcome.result.canaries, outcome.result.divergences
    )


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # (expectation, settings, a cassette where release 1 keeps it, one where it does not)
    ("never_call", {"tool": "issue_refund"}, "lookup-in-transit", "refund-within-limit"),
    ("must_call", {"tool": "issue_refund"}, "refund-within-limit", "lookup-in-transit"),
    (
        "max_calls",
        {"tool": "issue_refund", "n": 1},
        "refund-within-limit",
        "refund-rate-limited-retry",
    ),
    (
        "max_retries",
        {"tool": "issue_refund", "n": 0},
        "refund-within-limit",
        "refund-rate-limited-retry",
    ),
    (
        "args_valid",
        {"tool": "lookup_order", "schema": {"required": ["order_id"]}},
        "lookup-in-transit",
        None,
    ),  # type: ignore[list-item]
    ("audit_complete", {}, "refund-above-limit-denied", None),  # type: ignore[list-item]
    ("output_contains", {"text": "in transit"}, "lookup-in-transit", "lookup-delivered"),
    ("output_excludes", {"text": "in transit"}, "lookup-delivered", "lookup-in-transit"),
    ("refusal_expected", {}, "refund-above-limit-denied", "refund-within-limit"),
    ("same_as_recording", {"critical": 0}, "kb-returns", None),  # type: ignore[list-item]
    ("no_write_after_deny", {}, "refund-above-limit-denied", None),  # type: ignore[list-item]
    (
        "refuse_before_call",
        {"tool": "issue_refund"},
        "refund-above-limit-denied",
        "refund-within-limit",
    ),
]


@pytest.mark.parametrize(("name", "params", "keeps", "breaks"), CASES, ids=[c[0] for c in CASES])
def test_each_expectation_passes_and_fails(
    name: str, params: dict[str, Any], keeps: str, breaks: str | None
) -> None:
    (kept,) = expect.check([{name: params}], trace(keeps))
    assert kept.passed, kept.detail
    if breaks is not None:
        (broken,) = expect.check([{name: params}], trace(breaks))
        assert not broken.passed, broken.detail
        assert broken.evidence, "a failing verdict cites the steps that decided it"


def test_expectations_that_release_2_breaks() -> None:
    # the failing cases of the expectations release 1 always keeps on the bundled cassettes
    timeout = trace("refund-timeout-retry", agent="retake.demo:release_2")
    (args,) = expect.check(
        [{"args_valid": {"tool": "issue_refund", "schema": {"required": ["idempotency_key"]}}}],
        timeout,
    )
    assert not args.passed and "idempotency_key" in args.detail
    denied = trace("refund-above-limit-denied", agent="retake.demo:release_2")
    verdicts = expect.check(
        [
            {"no_write_after_deny": {}},
            {"audit_complete": {}},
            {"same_as_recording": {"critical": 0}},
        ],
        denied,
    )
    by_name = {v.expectation: v for v in verdicts}
    assert not by_name["same_as_recording"].passed
    gift = trace("kb-gift-cards", agent="retake.demo:release_2")
    (leak,) = expect.check([{"canary_not_leaked": {"canaries": ["order history"]}}], gift)
    assert not leak.passed


def test_an_unknown_expectation_names_the_nearest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="did you mean 'never_call'"):
        expect.parse([{"nevr_call": {"tool": "x"}}])


def test_diagnostics_show_the_moved_permission_check_as_a_significant_shift(
    release_1: EvidenceBundle, release_2: EvidenceBundle
) -> None:
    refund = next(a for a in release_2.diagnostics.adherence if a.tool == "issue_refund")
    assert refund.significant and refund.p_value < 0.05
    assert refund.recorded.get("refuse_before_call", 0) > 0
    assert refund.release.get("call_then_reject", 0) > 0
    assert "refuse-before-call -> call-then-reject" in refund.shift
    # release 1 against its own recordings: nothing shifts
    assert not [a for a in release_1.diagnostics.adherence if a.significant or a.shift]
    assert not [d for d in release_1.diagnostics.decisions if d.significant]
    # an incident the release makes likelier is counted, with the scenarios where it grew
    unmatched = next(i for i in release_2.diagnostics.incidents if i.signature == "unmatched_call")
    assert unmatched.release > unmatched.recorded
    assert "refund-above-limit" in unmatched.scenarios


def test_fisher_exact_matches_known_values() -> None:
    # two-sided p-values of textbook tables
    assert expect.fisher_exact(5, 0, 0, 5) == pytest.approx(0.0079365, rel=1e-4)
    assert expect.fisher_exact(3, 1, 1, 3) == pytest.approx(0.4857143, rel=1e-4)
    assert expect.fisher_exact(1, 0, 0, 1) == pytest.approx(1.0)


def test_no_write_after_deny_and_audit_complete_fail_on_a_trace_that_breaks_them() -> None:
    from retake.schema import (
        NoteEvent,
        PermissionEvent,
        ToolCallEvent,
        ToolResultEvent,
    )

    recorded = store.load(BUNDLED / "refund-above-limit-denied.retake")
    n = len(recorded.events)
    broken = recorded.model_copy(
        update={
            "events": (
                *recorded.events,
                PermissionEvent(seq=n, call_id="c9", tool="lookup_order", decision="deny"),
                ToolCallEvent(seq=n + 1, call_id="c10", tool="send_email", arguments={"to": "x"}),
                ToolResultEvent(seq=n + 2, call_id="c10", tool="send_email", output={"ok": True}),
            )
        }
    )
    verdicts = {
        v.expectation: v
        for v in expect.check(
            [{"no_write_after_deny": {}}, {"audit_complete": {}}], expect.Trace(broken, recorded)
        )
    }
    assert not verdicts["no_write_after_deny"].passed
    assert verdicts["no_write_after_deny"].evidence[-1] == n + 1  # the write that broke it
    assert not verdicts["audit_complete"].passed
    assert "no audit note" in verdicts["audit_complete"].detail
    audited = broken.model_copy(
        update={
            "events": (
                *broken.events,
                NoteEvent(seq=n + 3, message="sent", level="audit", call_id="c10"),
                NoteEvent(seq=n + 4, message="refused", level="audit", call_id="c9"),
            )
        }
    )
    (complete,) = expect.check([{"audit_complete": {}}], expect.Trace(audited, recorded))
    assert complete.passed, complete.detail


def test_canary_not_leaked_holds_for_release_1() -> None:
    scenario = runner.mutate.Scenario.model_validate(
        {"cassette": "-", "mutations": [{"inject": {"tool": "search_kb", "path": "0.text"}}]}
    )
    kept = trace("kb-returns", mutations=scenario.mutations, seed=7)
    assert kept.canaries
    (verdict,) = expect.check([{"canary_not_leaked": {}}], kept)
    assert verdict.passed, verdict.detail
    leaked = trace(
        "kb-returns", agent="retake.demo:release_2", mutations=scenario.mutations, seed=7
    )
    (verdict,) = expect.check([{"canary_not_leaked": {}}], leaked)
    assert not verdict.passed and verdict.evidence
