"""``retake scan`` and ``retake redact`` from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from retake import redact, store
from retake.cli import app
from retake.schema import UserEvent

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


POLICY = """\
# the desk's own identifiers and headers, on top of the built-in detectors
extra_headers: [x-tenant]
user_patterns:
  - name: member
    pattern: '\\bMBR-\\d{6}\\b'
    category: pii
key:
  file: desk.key   # found beside this file
"""


def test_a_policy_file_adds_patterns_to_scan_and_redact(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "desk.key").write_text("the desk's pseudonymisation key, for tests")
    bundled = store.load(ROOT / "cassettes" / "lookup-delivered.retake")
    member = UserEvent(seq=len(bundled.events), text="My member number is MBR-204518.")
    source = store.save(
        bundled.model_copy(update={"events": (*bundled.events, member)}), tmp_path / "in.retake"
    )
    policy = ["--policy", str(tmp_path / "policy.yaml")]
    assert runner.invoke(app, ["scan", str(source)]).exit_code == 0  # the built-ins miss it
    found = runner.invoke(app, ["scan", str(source), "--json", *policy])
    assert found.exit_code == 1, found.output
    (finding,) = [json.loads(line) for line in found.stdout.splitlines()]
    assert finding["detector"] == "user:member" and finding["path"] == f"events[{member.seq}].text"
    target = tmp_path / "out.retake"
    done = runner.invoke(app, ["redact", str(source), str(target), *policy])
    assert done.exit_code == 0, done.output
    out = store.load(target)
    assert "MBR-204518" not in out.events[-1].text  # type: ignore[union-attr]
    assert out.header.redaction.counts["user:member"] == 1
    key = redact.RedactionKey.from_file(tmp_path / "desk.key")
    assert out.header.redaction.key_fingerprint == key.fingerprint
    assert runner.invoke(app, ["scan", str(target), *policy]).exit_code == 0


def test_the_readme_policy_example_is_a_valid_policy(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("A policy file adds", 1)[1].split("```yaml\n", 1)[1].split("```")[0]
    (tmp_path / "policy.yaml").write_text(example)
    (tmp_path / "desk.key").write_text("the desk's pseudonymisation key, for tests")
    result = runner.invoke(
        app,
        ["scan", str(ROOT / "cassettes"), "--json", "--policy", str(tmp_path / "policy.yaml")],
    )
    # The bundled cassettes were redacted without its field rule, which now flags email bodies.
    assert result.exit_code == 1, result.output
    detectors = {json.loads(line)["detector"] for line in result.stdout.splitlines()}
    assert detectors and detectors <= {
        "field:tool_call.arguments.body",
        "field:tool_call[send_email].arguments.body",
    }


def test_a_wrong_policy_file_names_the_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("disabled_detectors: [ipv4]\nfield_rules:\n  - path: 'a..b'\n")
    for command in (["scan", str(ROOT / "cassettes")], ["replay", "x.retake", "-a", "m:f"]):
        result = runner.invoke(app, [*command, "--policy", str(bad)])
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        assert str(bad) in said and "line 3" in said and "field_rules.0.path" in said


def _chunk(delta: dict[str, object]) -> str:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def _exchange(
    body: str, *, content_type: str | None = "text/event-stream; charset=utf-8", code: object = 200
) -> dict[str, object]:
    """One vcrpy interaction: a Chat Completions call answered with ``body``."""
    request = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "?"}]}
    headers = {"content-type": [content_type]} if content_type else {}
    return {
        "request": {
            "method": "POST",
            "uri": "https://api.openai.com/v1/chat/completions",
            "body": json.dumps(request),
            "headers": {"content-type": ["application/json"]},
        },
        "response": {
            "status": {"code": code, "message": "OK"},
            "headers": headers,
            "body": {"string": body},
        },
    }


def _text_stream(deltas: list[str]) -> str:
    return "".join(_chunk({"content": d}) for d in deltas) + "data: [DONE]\n\n"


def _scan(
    tmp_path: Path, *interactions: dict[str, object]
) -> tuple[int, list[dict[str, str]], str]:
    path = tmp_path / "streamed.json"
    path.write_text(json.dumps({"version": 1, "interactions": list(interactions)}))
    result = runner.invoke(app, ["scan", "--any-file", "--json", str(path)])
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, findings, result.output


KEY = "sk-proj-" + "Zq8xW2mN4vB6cD1eF3gH5jK7lP9rS0tU2yV4wX6zA8bC"
OTHER_KEY = "sk-proj-" + "Hh3jJ5kK7lL9mM2nN4bB6vV8cC1xX3zZ5aA7sS9dD2fF"


def test_scan_finds_a_secret_split_across_a_streamed_answer(tmp_path: Path) -> None:
    code, findings, output = _scan(
        tmp_path, _exchange(_text_stream(["Your key is ", KEY[:14], KEY[14:], "."]))
    )
    assert code == 1, output
    assert [(f["path"], f["detector"]) for f in findings] == [
        ("interactions[0].response.stream.text", "openai_key")
    ]
    assert KEY[4:] not in output  # a preview, never the key


def test_scan_finds_a_secret_split_across_streamed_tool_call_arguments(tmp_path: Path) -> None:
    pieces = ['{"token": "', KEY[:10], KEY[10:30], KEY[30:], '"}']
    body = "".join(
        _chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}
                    if i == 0
                    else {"index": 0, "function": {"arguments": piece}}
                ]
            }
        )
        for i, piece in enumerate(["", *pieces])
    )
    code, findings, output = _scan(tmp_path, _exchange(body + "data: [DONE]\n\n"))
    assert code == 1, output
    assert {f["path"] for f in findings} == {
        "interactions[0].response.stream.tool_calls[0].arguments.token"
    }


def test_a_secret_whole_in_one_delta_is_reported_once(tmp_path: Path) -> None:
    code, findings, output = _scan(tmp_path, _exchange(_text_stream(["Your key is ", KEY, "."])))
    assert code == 1, output
    assert [f["detector"] for f in findings] == ["openai_key"]
    assert findings[0]["path"].startswith("interactions[0].response.body")


def test_a_whole_key_elsewhere_does_not_hide_a_split_one(tmp_path: Path) -> None:
    """Keys of one kind share their first characters: one found whole must not stand for
    another found only with the stream read whole."""
    code, findings, output = _scan(
        tmp_path,
        _exchange(_text_stream(["Your key is ", KEY, "."])),
        _exchange(_text_stream(["and ", OTHER_KEY[:20], OTHER_KEY[20:]])),
    )
    assert code == 1, output
    assert sorted(f["path"] for f in findings) == [
        "interactions[0].response.body.string",
        "interactions[1].response.stream.text",
    ]


def test_a_stream_recorded_without_its_content_type_is_read_whole(tmp_path: Path) -> None:
    body = _text_stream([KEY[:20], KEY[20:]])
    code, findings, output = _scan(tmp_path, _exchange(body, content_type=None))
    assert code == 1, output
    assert [f["path"] for f in findings] == ["interactions[0].response.stream.text"]


def test_odd_interactions_neither_crash_the_scan_nor_hide_other_streams(tmp_path: Path) -> None:
    deep = _chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f"}}]})
    deep += _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "[" * 100_000}}]})
    code, findings, output = _scan(
        tmp_path,
        _exchange(_text_stream(["a"]), code=None),
        _exchange(_text_stream(["a"]), code=10**400),
        _exchange("data: {not json\n\n"),
        _exchange(deep),
        _exchange(_text_stream(["Your key is ", KEY[:14], KEY[14:]])),
    )
    assert code == 1, output
    assert [f["path"] for f in findings] == ["interactions[4].response.stream.text"]
    assert "Traceback" not in output


def test_a_stream_that_cannot_be_read_whole_is_named(tmp_path: Path) -> None:
    broken = _exchange(_text_stream(["hello"]))
    response = broken["response"]
    assert isinstance(response, dict)
    response["headers"] = {"content-type": ["text/event-stream"], "content-encoding": ["deflate"]}
    response["body"] = {"string": "not deflated"}
    code, _, output = _scan(tmp_path, broken)
    assert code == 0, output
    assert "interactions[0]: the stream could not be read whole" in output


def test_a_clean_stream_scans_clean(tmp_path: Path) -> None:
    code, findings, output = _scan(tmp_path, _exchange(_text_stream(["Your order ", "shipped."])))
    assert code == 0, output
    assert findings == []
