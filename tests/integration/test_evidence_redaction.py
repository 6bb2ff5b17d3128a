"""What ``retake check`` writes quotes the release's traces (its answers, errors, timelines,
divergences, verdicts and unmatched calls), and the release under test may send credentials
or personal data its recordings never held: none of them reaches the bundle or the reports,
while the checks still see them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retake import report, suite
from retake.cli import app
from retake.redact import FieldRule, RedactionKey, RedactionPolicy, Redactor
from retake.schema import EvidenceBundle
from tests.support.leaky_agents import API_KEY, EMAIL, PASSWORD, SHORT_PIN

ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "cassettes" / "lookup-in-transit.retake"

SCENARIO = f"""\
description: The release mails an order's customer on its own.
cassette: {CASSETTE}
model: recorded
expectations:
- never_call:
    tool: send_email
- output_excludes:
    text: the key
"""


def written(bundle: EvidenceBundle, folder: Path) -> dict[str, str]:
    """The bundle and every report, as the files a CI run keeps."""
    suite.write_bundle(bundle, folder / "evidence.json")
    return {
        "bundle": (folder / "evidence.json").read_text(),
        "junit": report.junit_xml(bundle),
        "markdown": report.markdown(bundle),
        "html": report.render_html(bundle),
        "terminal": str(report.terminal(bundle)),
    }


def leaked(texts: dict[str, str]) -> dict[str, list[str]]:
    pieces = (EMAIL, API_KEY, API_KEY[:24], "jane.doe", PASSWORD, json.dumps(PASSWORD)[1:-1])
    found = {name: [p for p in pieces if p in text] for name, text in texts.items()}
    return {name: hits for name, hits in found.items() if hits}


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "mails-the-customer.yaml").write_text(SCENARIO)
    return folder


def test_a_release_that_leaks_is_caught_and_its_evidence_holds_no_secret(
    scenarios: Path, tmp_path: Path
) -> None:
    bundle = suite.check(scenarios, agent="tests.support.leaky_agents:leaks", model="recorded")
    (scenario,) = bundle.scenarios
    (trial,) = scenario.trials
    # The checks saw the raw trace: the write call, its arguments and the answer.
    assert not bundle.passed
    verdicts = {v.expectation: v.passed for v in trial.verdicts}
    assert verdicts == {"never_call": False, "output_excludes": False}
    added = [d for d in trial.divergences if d.kind == "tool_added" and d.tool == "send_email"]
    assert added and added[0].severity == "critical"
    assert trial.unmatched and trial.unmatched[0].tool == "send_email"
    # What the evidence quotes is redacted, in the bundle and in every report.
    assert leaked(written(bundle, tmp_path)) == {}
    assert trial.answer is not None and "@redacted.example" in trial.answer
    assert "<REDACTED:" in trial.answer
    assert "@redacted.example" in trial.unmatched[0].arguments["to"]
    assert "@redacted.example" in added[0].summary
    timeline = " ".join(step.detail for step in trial.candidate)
    assert "@redacted.example" in timeline and "A-1077" in timeline


def test_an_error_quoting_credentials_is_redacted(scenarios: Path, tmp_path: Path) -> None:
    bundle = suite.check(scenarios, agent="tests.support.leaky_agents:raises", model="recorded")
    (trial,) = bundle.scenarios[0].trials
    assert trial.status == "raised"
    assert trial.error is not None and trial.error.startswith("RuntimeError: login for user-")
    assert leaked(written(bundle, tmp_path)) == {}


def test_a_candidate_that_cannot_be_redacted_is_withheld_not_quoted(
    scenarios: Path, tmp_path: Path
) -> None:
    # A field rule that masks a typed field (a number) makes the redacted trace invalid.
    policy = RedactionPolicy(field_rules=(FieldRule(path="tool_result.duration"),))
    bundle = suite.check(
        scenarios,
        agent="tests.support.leaky_agents:leaks",
        model="recorded",
        redaction=policy,
    )
    (trial,) = bundle.scenarios[0].trials
    assert not bundle.passed
    assert trial.answer is not None and trial.answer.startswith("withheld:")
    assert trial.candidate == ()
    assert {d.kind for d in trial.divergences} >= {"tool_added"}
    assert leaked(written(bundle, tmp_path)) == {}


def suite_of(folder: Path, cassette: str) -> Path:
    folder.mkdir()
    (folder / "s.yaml").write_text(
        f"description: probe\ncassette: {ROOT / 'cassettes' / cassette}\nmodel: recorded\n"
    )
    return folder


def test_secrets_under_their_field_name_escaped_or_short_are_redacted(tmp_path: Path) -> None:
    scenarios = suite_of(tmp_path / "suite", "lookup-in-transit.retake")
    bundle = suite.check(scenarios, agent="tests.support.leaky_agents:resets_password")
    (trial,) = bundle.scenarios[0].trials
    assert [c.tool for c in trial.unmatched] == ["reset_password", "reset_password"]
    texts = written(bundle, tmp_path)
    assert leaked(texts) == {}
    assert f"'{SHORT_PIN}'" not in texts["bundle"] and f'"{SHORT_PIN}"' not in texts["bundle"]
    assert all("<REDACTED:" in c.arguments["password"] for c in trial.unmatched)


def test_a_key_of_the_candidates_data_is_redacted_in_paths_and_summaries(
    tmp_path: Path,
) -> None:
    scenarios = suite_of(tmp_path / "suite", "refund-within-limit.retake")
    bundle = suite.check(scenarios, agent="tests.support.leaky_agents:keyed_note")
    (trial,) = bundle.scenarios[0].trials
    paths = [c.path for d in trial.divergences for c in d.changes]
    assert any(p.startswith("data.result.user-") for p in paths), paths
    assert leaked(written(bundle, tmp_path)) == {}


def test_retake_check_takes_the_redaction_key_and_policy(scenarios: Path, tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("ab" * 32)
    policy = tmp_path / "policy.yaml"
    policy.write_text("field_rules:\n  - path: 'output.text'\n")

    def run(*more: str) -> tuple[int, str]:
        bundle = tmp_path / "e.json"
        bundle.unlink(missing_ok=True)
        result = CliRunner().invoke(
            app,
            [
                "check",
                str(scenarios),
                "--agent",
                "tests.support.leaky_agents:leaks",
                "--model",
                "recorded",
                "--bundle",
                str(bundle),
                *more,
            ],
        )
        return result.exit_code, bundle.read_text() if bundle.exists() else result.output

    code, text = run("--key-file", str(key))
    assert code == 1, text
    expected = Redactor(key=RedactionKey.from_file(key)).redact_text(EMAIL)
    answer = json.loads(text)["scenarios"][0]["trials"][0]["answer"]
    assert expected in answer and EMAIL not in text and API_KEY not in text
    code, text = run("--key-file", str(key), "--policy", str(policy))
    assert code == 1, text
    answer = json.loads(text)["scenarios"][0]["trials"][0]["answer"]
    assert answer.startswith("<REDACTED:field:"), answer
    code, text = run("--key-file", str(tmp_path / "no-such-key"))
    assert code == 2 and "cannot read the redaction key file" in text


def test_an_unmatched_call_with_bytes_is_quoted_without_a_traceback(tmp_path: Path) -> None:
    scenarios = suite_of(tmp_path / "suite", "lookup-in-transit.retake")
    bundle = suite.check(scenarios, agent="tests.support.leaky_agents:uploads_bytes")
    (trial,) = bundle.scenarios[0].trials
    assert [c.tool for c in trial.unmatched] == ["upload"]
    assert trial.unmatched[0].explanation.startswith("live call   upload(")
    assert leaked(written(bundle, tmp_path)) == {}


@pytest.mark.parametrize("agent", ["leaks", "raises", "resets_password"])
def test_retake_replay_prints_what_the_release_sent_redacted_unless_raw(
    agent: str, tmp_path: Path
) -> None:
    cassette = "lookup-in-transit.retake"
    args = ["replay", str(ROOT / "cassettes" / cassette), "--agent"]
    args.append(f"tests.support.leaky_agents:{agent}")
    shown = {}
    for view in ("table", "--json"):
        flags = ["--diff"] + ([view] if view != "table" else [])
        done = CliRunner().invoke(app, [*args, *flags], env={"COLUMNS": "400"})
        assert done.exception is None or isinstance(done.exception, SystemExit), done.output
        shown[view] = done.output
    assert leaked(shown) == {}
    # It is the same run, only redacted: the release's calls, answer or error are still shown.
    sessions = [json.loads(line) for line in shown["--json"].splitlines() if line.startswith("{")]
    (session,) = sessions
    assert session["unmatched"] or session["error"]
    assert "@redacted.example" in shown["table"] or "<REDACTED:" in shown["table"]
    raw = CliRunner().invoke(app, [*args, "--diff", "--json", "--raw"])
    assert leaked({"raw": raw.output}), "--raw prints what the release sent as it is"
