"""``retake scan`` and ``retake redact`` from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from retake import store
from retake.cli import app

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT / "tests" / "fixtures" / "realdata"
runner = CliRunner()


def test_scan_reports_the_cookies_and_organisation_headers_of_real_vcrpy_cassettes() -> None:
    result = runner.invoke(app, ["scan", "--any-file", "--json", str(REALDATA)])
    assert result.exit_code == 1, result.output
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    detectors = {f["detector"] for f in findings}
    assert {"header:cookie", "header:openai-organization"} <= detectors
    assert all(len(f["preview"]) <= 4 for f in findings)


def test_scan_of_the_bundled_cassettes_is_clean() -> None:
    result = runner.invoke(app, ["scan", str(ROOT / "cassettes")])
    assert result.exit_code == 0, result.output
    assert "0 findings" in result.stdout


def test_scan_with_nothing_to_scan_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path)])
    assert result.exit_code == 2
    assert "--any-file" in result.output


def test_redact_rewrites_a_cassette_with_a_key_file(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("another pseudonymisation key, for this test only")
    source = tmp_path / "in.retake"
    shutil.copyfile(ROOT / "cassettes" / "email-confirmed.retake", source)
    result = runner.invoke(
        app, ["redact", str(source), str(tmp_path / "out.retake"), "--key-file", str(key)]
    )
    assert result.exit_code == 0, result.output
    out = store.load(tmp_path / "out.retake")
    assert (
        out.header.redaction.key_fingerprint != store.load(source).header.redaction.key_fingerprint
    )
    again = runner.invoke(
        app, ["redact", str(source), str(tmp_path / "out.retake"), "--key-file", str(key)]
    )
    assert again.exit_code == 2 and "already exists" in again.output
