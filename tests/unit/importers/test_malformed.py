"""Malformed sources give an error or a skipped-item line naming the file and the item; the
import never crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retake import importers
from retake.errors import InputFileError
from tests.unit.importers.helpers import OTEL, REALDATA, TAU, kinds, load

FOREIGN_VCR = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "foreign"
    / "vcrpy-dd-trace-openai-tool-call.yaml"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_result_whose_call_id_matches_nothing_is_skipped_by_name(tmp_path: Path) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "call_ghost", "content": "orphan"},
    ]
    path = _write(tmp_path, "orphan.json", json.dumps(messages))
    imported = load(path)
    assert kinds(imported.cassettes[0]) == ["user"]
    [skip] = imported.skipped
    assert skip.file == str(path) and skip.item == "messages[1]"
    assert "'call_ghost' matches no tool call" in str(skip)


def test_an_unknown_role_is_skipped_by_name(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "narrator", "content": "x"}]
    imported = load(_write(tmp_path, "roles.json", json.dumps({"messages": messages})))
    [skip] = imported.skipped
    assert skip.item == "messages[1]" and "unknown role 'narrator'" in skip.reason


def test_truncated_json_is_an_error_naming_the_file(tmp_path: Path) -> None:
    text = (TAU / "gpt-4o-airline__idx012__task12__trial0__reward1.json").read_text()
    path = _write(tmp_path, "cut.json", text[: len(text) // 2])
    with pytest.raises(InputFileError, match=r"cut\.json.*not valid JSON.*truncated"):
        load(path)


def test_a_truncated_json_line_is_skipped_and_the_rest_imports(tmp_path: Path) -> None:
    good = (OTEL / "support_desk_refund_denied.jsonl").read_text().strip()
    path = _write(tmp_path, "trace.jsonl", good + "\n" + good[:100] + "\n")
    imported = load(path)
    assert len(imported.cassettes) == 1
    assert [(s.item, "not valid JSON" in s.reason) for s in imported.skipped[:1]] == [
        ("line 2", True)
    ]


def test_truncated_yaml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    source = (
        REALDATA / "dd-trace-py/tests/contrib/openai/cassettes/v1/chat_completion_tool_call.yaml"
    )
    path = _write(tmp_path, "cut.yaml", source.read_text()[:700] + "\n  - [unclosed")
    with pytest.raises(InputFileError, match=r"cut\.yaml.*not valid YAML"):
        load(path)


def test_a_vcr_interaction_that_is_no_model_call_is_skipped(tmp_path: Path) -> None:
    cassette = {
        "interactions": [
            {
                "request": {"method": "GET", "uri": "https://example.com/health", "body": None},
                "response": {"status": {"code": 200}, "headers": {}, "body": {"string": "ok"}},
            },
            {
                "request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions",
                            "body": "{\"messages\": ["},
                "response": {"status": {"code": 200}, "headers": {}, "body": {"string": "{}"}},
            },
        ],
        "version": 1,
    }  # fmt: skip
    import yaml

    model_call = yaml.safe_load(FOREIGN_VCR.read_text())["interactions"]
    cassette["interactions"] += model_call
    imported = load(_write(tmp_path, "mixed.yaml", yaml.safe_dump(cassette)))
    items = [s.item for s in imported.skipped]
    assert items == ["interactions[0]", "interactions[1]"]
    assert "not a model call" in imported.skipped[0].reason
    assert "openai-chat" in imported.skipped[1].reason  # the adapter's own message
    assert [len(c.events) for c in imported.cassettes] == [3]  # the model call is imported


@pytest.mark.parametrize("text", ["null", "{}", "[]", '""', '{"foo": 1}'])
@pytest.mark.parametrize(
    "form", ["openai-chat", "openai-responses", "anthropic", "tau-bench", "otel"]
)
def test_a_file_with_no_session_in_the_format_named_is_an_error(
    tmp_path: Path, text: str, form: str
) -> None:
    path = _write(tmp_path, "nothing.json", text)
    with pytest.raises(InputFileError, match=r"holds no session|is not an OTLP JSON trace"):
        load(path, form)


def test_an_unrecognised_file_asks_for_format(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"cannot tell the format.*--format"):
        load(_write(tmp_path, "what.json", json.dumps({"hello": 1})))


def test_the_wrong_explicit_format_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.json", json.dumps({"interactions": 3}))
    with pytest.raises(InputFileError, match=r"x\.json"):
        importers.import_file(path, format="vcr")
    with pytest.raises(InputFileError, match="not an import format"):
        importers.import_file(path, format="csv")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"interactions": []}, "vcr"),
        ({"resourceSpans": []}, "otel"),
        ({"task_id": 1, "traj": []}, "tau-bench"),
        ([{"role": "user", "content": "x"}], "openai-chat"),
        ([{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}],
         "openai-responses"),
        ({"input": "hi", "output": []}, "openai-responses"),
        ([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}],
         "anthropic"),
        ({"system": "s", "messages": [{"role": "user", "content": "x"}]}, "anthropic"),
    ],
)  # fmt: skip
def test_detection(tmp_path: Path, content: object, expected: str) -> None:
    assert importers.detect_format(_write(tmp_path, "s.json", json.dumps(content))) == expected
