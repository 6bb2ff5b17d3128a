"""``retake import`` over the real fixtures: redacted cassettes, a summary with events by kind
and skipped items, exit codes; and ``retake export --format otel`` read back by the import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retake import store
from retake.cli import app
from retake.schema import ToolCallEvent

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key"
    path.write_text("tests-only key, at least 16 bytes", encoding="utf-8")
    return path


def retake(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"retake raised {result.exception!r}") from result.exception
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return result.exit_code, " ".join(output.split())


def test_import_every_real_source(tmp_path: Path, key_file: Path) -> None:
    out = tmp_path / "out"
    code, said = retake(
        "import", FIXTURES / "tau-bench", FIXTURES / "realdata", "--out", out,
        "--key-file", key_file,
    )  # fmt: skip
    assert code == 0, said
    assert "59 files: 59 sessions written" in said
    assert "tool_call 335" in said and "tool_result 332" in said
    written = sorted(out.glob("*.retake"))
    assert len(written) == 59
    cassette = store.load(out / "gpt-4o-airline__idx000__task00__trial0__reward0.retake")
    assert cassette.header.redaction.applied
    assert cassette.header.source == "tau-bench"
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    assert len(calls) == 8
    assert "mia.li3818@example.com" not in store.dumps(cassette).decode("utf-8", "replace")


def test_skipped_items_and_unreadable_files_are_reported(tmp_path: Path, key_file: Path) -> None:
    orphan = tmp_path / "orphan.json"
    orphan.write_text(json.dumps([{"role": "tool", "tool_call_id": "zz", "content": "x"},
                                  {"role": "user", "content": "hi"}]))  # fmt: skip
    broken = tmp_path / "broken.json"
    broken.write_text('{"messages": [')
    code, said = retake("import", orphan, broken, "--out", tmp_path / "o", "--key-file", key_file)
    assert code == 1
    assert f"skipped {orphan}: messages[0]: tool result for call id 'zz'" in said
    assert "broken.json" in said and "not valid JSON" in said and "truncated" in said


@pytest.mark.parametrize("text", ["null", "{}"])
def test_a_file_that_is_no_transcript_writes_no_empty_cassette(
    tmp_path: Path, key_file: Path, text: str
) -> None:
    source = tmp_path / "nothing.json"
    source.write_text(text)
    out = tmp_path / "o"
    code, said = retake(
        "import", source, "--format", "openai-chat", "--out", out, "--key-file", key_file
    )
    assert code == 1
    assert f"not imported: {str(source)!r} holds no session to import as openai-chat" in said
    assert "0 sessions written" in said and not list(out.glob("*.retake"))


def test_no_sources_is_a_usage_error(tmp_path: Path) -> None:
    code, said = retake("import", tmp_path, "--out", tmp_path / "o")
    assert code == 2 and "no source files found" in said


def test_export_otel_then_import_gives_the_cassette_back(tmp_path: Path, key_file: Path) -> None:
    out = tmp_path / "out"
    source = FIXTURES / "tau-bench" / "gpt-4o-airline__idx196__task46__trial3__reward0.json"
    assert retake("import", source, "--out", out, "--key-file", key_file)[0] == 0
    [cassette_path] = out.glob("*.retake")
    trace = tmp_path / "trace.jsonl"
    code, said = retake("export", cassette_path, "--format", "otel", "--output", trace)
    assert code == 0, said
    assert "resourceSpans" in trace.read_text()
    again = tmp_path / "again"
    code, said = retake("import", trace, "--out", again, "--key-file", key_file)
    assert code == 0, said
    [back_path] = again.glob("*.retake")
    original, back = store.load(cassette_path), store.load(back_path)

    def plain(events: tuple[object, ...]) -> list[object]:
        return [e.model_copy(update={"span_id": None, "parent_id": None}) for e in events]  # type: ignore[attr-defined]

    assert plain(back.events) == plain(original.events)


@pytest.mark.parametrize("format", ["auto", "otel"])
def test_an_otlp_file_shared_with_metrics_imports_its_traces(
    tmp_path: Path, key_file: Path, format: str
) -> None:
    # A collector's file exporter may write metrics lines between the trace lines.
    traces = (FIXTURES / "otel" / "support_desk_refund_denied.jsonl").read_text()
    mixed = tmp_path / "collector.jsonl"
    mixed.write_text(traces.rstrip("\n") + '\n{"resourceMetrics": []}\n', encoding="utf-8")
    out = tmp_path / "out"
    code, said = retake("import", mixed, "--format", format, "--out", out, "--key-file", key_file)
    assert code == 0, said
    assert len(list(out.glob("*.retake"))) == 1
    lines = len(traces.strip().splitlines()) + 1
    assert f"skipped {mixed}: line {lines}: OTLP resourceMetrics, not a trace: left out" in said
