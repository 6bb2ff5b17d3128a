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


def _streamed_vcr(deltas: list[str]) -> dict[str, object]:
    """A vcrpy cassette of one streamed Chat Completions call answering with ``deltas``."""
    chunks = [
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"content": d}, "finish_reason": None}],
        }
        for d in deltas
    ]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    request = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "key?"}]}
    return {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/chat/completions",
                    "body": json.dumps(request),
                    "headers": {"content-type": ["application/json"]},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"content-type": ["text/event-stream; charset=utf-8"]},
                    "body": {"string": body},
                },
            }
        ],
    }


KEY = "sk-proj-" + "Zq8xW2mN4vB6cD1eF3gH5jK7lP9rS0tU2yV4wX6zA8bC"


def test_scan_finds_a_secret_split_across_a_streamed_answer(tmp_path: Path) -> None:
    path = tmp_path / "streamed.json"
    path.write_text(json.dumps(_streamed_vcr(["Your key is ", KEY[:14], KEY[14:], "."])))
    result = runner.invoke(app, ["scan", "--any-file", "--json", str(path)])
    assert result.exit_code == 1, result.output
    findings = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["detector"] for f in findings] == ["openai_key"]
    assert findings[0]["path"].startswith("model call 0 (POST https://api.openai.com/")
    assert "stream read whole" in findings[0]["path"]
    assert KEY[4:] not in result.stdout  # a preview, never the key


def test_a_secret_whole_in_one_delta_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "streamed.json"
    path.write_text(json.dumps(_streamed_vcr(["Your key is ", KEY, "."])))
    result = runner.invoke(app, ["scan", "--any-file", "--json", str(path)])
    assert result.exit_code == 1, result.output
    findings = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["detector"] for f in findings] == ["openai_key"]
    assert findings[0]["path"].startswith("interactions[0].response.body")


def test_a_clean_stream_scans_clean(tmp_path: Path) -> None:
    path = tmp_path / "streamed.json"
    path.write_text(json.dumps(_streamed_vcr(["Your order ", "has shipped."])))
    result = runner.invoke(app, ["scan", "--any-file", str(path)])
    assert result.exit_code == 0, result.output
    assert "0 findings" in result.stdout
