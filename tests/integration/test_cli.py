"""The ``retake`` command on good, truncated, corrupt and foreign files: exit codes (0 ok,
1 validate found an invalid cassette, 2 bad input), messages that name the file and say what
to do, and never a Python traceback."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import msgpack
import pytest
import yaml
from typer.testing import CliRunner

from retake.cli import app
from retake.schema import Cassette, Event, ToolResultEvent, UserEvent
from retake.store import _format, dumps, partial_path, save

FOREIGN = next((Path(__file__).parents[1] / "fixtures" / "foreign").glob("*.yaml"))
Craft = Callable[..., bytes]


class Run:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def said(self) -> str:
        """All output with rich's line wrapping undone, for matching sentences."""
        return " ".join(self.output.split())


def retake(*args: str | Path) -> Run:
    """Invoke the CLI in-process; fail the test on any exception the CLI let escape."""
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            f"`retake {' '.join(map(str, args))}` raised {result.exception!r} "
            "(a user would see a traceback)"
        ) from result.exception
    run = Run(result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in run.output
    return run


def retake_script() -> str:
    beside = Path(sys.executable).with_name("retake")
    found = str(beside) if beside.exists() else shutil.which("retake")
    assert found, "the retake console script is not installed"
    return found


def _without_bytes(cassette: Cassette) -> Cassette:
    """The fixture cassette minus its one bytes value (JSON has no bytes)."""
    events: list[Event] = []
    for event in cassette.events:
        if isinstance(event, ToolResultEvent) and isinstance(event.output, dict):
            output = {k: v for k, v in event.output.items() if not isinstance(v, bytes)}
            event = event.model_copy(update={"output": output})
        events.append(event)
    return Cassette(header=cassette.header, events=tuple(events))


@pytest.fixture
def plain(cassette: Cassette, tmp_path: Path) -> tuple[Cassette, Path]:
    plain = _without_bytes(cassette)
    return plain, save(plain, tmp_path / "plain.retake")


@pytest.fixture
def truncated(cassette: Cassette, tmp_path: Path) -> Path:
    """A recording cut short after 7 whole events and half of the 8th."""
    path = partial_path(tmp_path / "cut.retake")
    data = dumps(Cassette(header=cassette.header, events=cassette.events[:8]))
    event_7 = _format.scan(data, None).frames[8]
    path.write_bytes(data[: event_7.start + 20])
    return path


@pytest.fixture
def corrupt(cassette: Cassette, tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.retake"
    data = bytearray(dumps(cassette))
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    return path


# --- show -----------------------------------------------------------------------------------


def test_show_prints_the_timeline(cassette: Cassette, saved: Path) -> None:
    run = retake("show", saved)
    assert run.code == 0
    header = cassette.header
    assert header.agent in run.stdout and header.session_id in run.stdout
    for kind in ("user", "model", "tool_call", "permission", "tool_result", "output", "error"):
        assert kind in run.stdout
    assert "lookup_order" in run.stdout and "deny" in run.stdout and "denied" in run.stdout
    assert "31 ms" in run.stdout  # the lookup's duration
    assert "12 of 12 events" in run.stdout


def test_show_kind_filters_the_rows(saved: Path) -> None:
    run = retake("show", saved, "--kind", "tool_call", "--kind", "permission")
    assert run.code == 0
    assert "4 of 12 events" in run.stdout
    assert "tool_result" not in run.stdout and "refund denied" not in run.stdout


def test_show_json_prints_the_selected_events(cassette: Cassette, saved: Path) -> None:
    run = retake("show", saved, "--kind", "permission", "--json")
    assert run.code == 0
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    expected = [e.model_dump(mode="json") for e in cassette.events if e.kind == "permission"]
    assert lines == expected


def test_show_tool_filters_by_tool(cassette: Cassette, saved: Path) -> None:
    run = retake("show", saved, "--tool", "issue_refund", "--json")
    assert run.code == 0
    shown = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["seq"] for e in shown] == [6, 7, 8]
    assert {e["tool"] for e in shown} == {"issue_refund"}
    both = retake("show", saved, "--tool", "issue_refund", "--kind", "tool_result", "--json")
    assert [json.loads(line)["seq"] for line in both.stdout.splitlines()] == [8]


def test_show_json_of_every_event_reads_back(plain: tuple[Cassette, Path]) -> None:
    cassette, path = plain
    run = retake("show", path, "--json")
    assert run.code == 0
    shown = [json.loads(line) for line in run.stdout.splitlines()]
    assert shown == [e.model_dump(mode="json") for e in cassette.events]


def test_show_an_unknown_kind_is_a_usage_error(saved: Path) -> None:
    run = retake("show", saved, "--kind", "tool")
    assert run.code == 2
    assert "unknown kind 'tool'" in run.output and "tool_call" in run.output


def test_show_prints_recorded_text_literally(cassette: Cassette, tmp_path: Path) -> None:
    sneaky = "[bold red]ALERT[/bold red] please"
    path = save(
        Cassette(header=cassette.header, events=(UserEvent(seq=0, text=sneaky),)),
        tmp_path / "markup.retake",
    )
    run = retake("show", path)
    assert run.code == 0
    assert sneaky in run.stdout


def test_show_a_truncated_recording_needs_the_flag(truncated: Path) -> None:
    run = retake("show", truncated)
    assert run.code == 2
    assert str(truncated) in run.said
    assert "7 events survived" in run.said
    assert "--allow-truncated" in run.said and "retake repair" in run.said
    flagged = retake("show", truncated, "--allow-truncated")
    assert flagged.code == 0
    assert "7 of 7 events" in flagged.stdout and "TRUNCATED" in flagged.stdout


def test_diff_and_replay_take_the_flag_the_truncation_error_names(
    truncated: Path, saved: Path
) -> None:
    refused = retake("diff", truncated, saved)
    assert refused.code == 2 and "--allow-truncated" in refused.said
    compared = retake("diff", truncated, saved, "--allow-truncated", "--json")
    assert compared.code in (0, 1), compared.output
    assert json.loads(compared.stdout)["recorded"]["events"] == 7
    for flags, status in (((), "invalid"), (("--allow-truncated",), "completed")):
        run = retake("replay", truncated, "-a", "tests.support.agents:answers", "--json", *flags)
        assert json.loads(run.stdout.splitlines()[-1])["status"] == status, run.output


def test_show_a_corrupt_cassette_names_it_and_says_what_to_do(corrupt: Path) -> None:
    run = retake("show", corrupt)
    assert run.code == 2
    assert str(corrupt) in run.said
    assert "sha256" in run.said and "Restore it from a copy" in run.said


def test_show_a_foreign_file_says_it_is_not_a_cassette() -> None:
    run = retake("show", FOREIGN)
    assert run.code == 2
    assert str(FOREIGN) in run.said and "not a retake cassette" in run.said
    assert "retake import" in run.said


def test_show_a_missing_file(tmp_path: Path) -> None:
    run = retake("show", tmp_path / "nope.retake")
    assert run.code == 2
    assert "no cassette at" in run.stderr and "nope.retake" in run.stderr


# --- export ---------------------------------------------------------------------------------


def test_export_json_validates_back_into_an_equal_cassette(
    plain: tuple[Cassette, Path],
) -> None:
    cassette, path = plain
    run = retake("export", path, "--format", "json")
    assert run.code == 0
    assert Cassette.model_validate(json.loads(run.stdout)) == cassette


def test_export_yaml_is_safe_yaml_with_the_same_data(plain: tuple[Cassette, Path]) -> None:
    cassette, path = plain
    run = retake("export", path, "--format", "yaml")
    assert run.code == 0
    data = yaml.safe_load(run.stdout)
    assert data == json.loads(retake("export", path).stdout)
    assert Cassette.model_validate(data) == cassette


def test_export_to_a_file(plain: tuple[Cassette, Path], tmp_path: Path) -> None:
    cassette, path = plain
    out = tmp_path / "out.json"
    run = retake("export", path, "-o", out)
    assert run.code == 0 and run.stdout == ""
    assert Cassette.model_validate_json(out.read_text(encoding="utf-8")) == cassette


def test_output_paths_that_cannot_be_written_are_clear_errors(saved: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    key = tmp_path / "key"
    key.write_text("cli-test-key-0123456789abcdef")
    for args, path in (
        (("export", saved, "-o", tmp_path / "missing" / "x.json"), "missing"),
        (("export", saved, "-o", tmp_path), str(tmp_path)),
        (("matrix", saved, "-o", a_file / "cells"), "a-file"),
        (("redact", saved, tmp_path / "missing" / "x.retake", "--key-file", key), "missing"),
    ):
        run = retake(*args)
        assert run.code == 2, run.output
        assert path in run.said and "Check that the path" in run.said
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_a_cassette_holding_binary_data(
    fmt: str, cassette: Cassette, tmp_path: Path
) -> None:
    """Tools return bytes (files, images); exporting such a cassette must work, not crash."""
    binary = ToolResultEvent(seq=0, call_id="c", tool="read_file", output=b"\x89PNG\r\n\xff")
    path = save(Cassette(header=cassette.header, events=(binary,)), tmp_path / "bin.retake")
    run = retake("export", path, "--format", fmt)
    assert run.code == 0
    assert (json.loads if fmt == "json" else yaml.safe_load)(run.stdout)["events"]


def test_export_truncated_and_corrupt_files(truncated: Path, corrupt: Path) -> None:
    run = retake("export", truncated)
    assert run.code == 2 and str(truncated) in run.said and "--allow-truncated" in run.said
    flagged = retake("export", truncated, "--allow-truncated")
    assert flagged.code == 0
    assert len(json.loads(flagged.stdout)["events"]) == 7
    run = retake("export", corrupt, "--format", "yaml")
    assert run.code == 2 and str(corrupt) in run.stderr
    assert run.stdout == ""


def test_export_an_unknown_format_is_a_usage_error(saved: Path) -> None:
    run = retake("export", saved, "--format", "xml")
    assert run.code == 2
    assert "xml" in run.output


# --- deep values: what retake itself writes, it can show and export --------------------------


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def test_show_and_export_a_deeply_nested_output(cassette: Cassette, tmp_path: Path) -> None:
    """save() accepts a tool output nested 300 deep; every command must then handle it."""
    event = ToolResultEvent(seq=0, call_id="c", tool="t", output=_nested(300))
    path = save(Cassette(header=cassette.header, events=(event,)), tmp_path / "deep.retake")
    assert retake("validate", path).code == 0
    for args in (("show",), ("show", "--json"), ("export",), ("export", "-f", "yaml")):
        assert retake(*args, path).code in (0, 2), args


def test_show_a_loadable_file_nested_1000_deep(
    cassette: Cassette, craft: Craft, tmp_path: Path
) -> None:
    """A hostile file just within the decoder's nesting limit: an error message, or a view."""
    prefix = msgpack.packb({"kind": "tool_result", "seq": 0, "call_id": "c", "tool": "t"})
    deep = b"\x85" + prefix[1:] + msgpack.packb("output") + b"\x91" * 1000 + b"\xc0"
    path = tmp_path / "deep.retake"
    path.write_bytes(craft(cassette.header.model_dump(mode="json"), [deep]))
    for args in (("show",), ("show", "--json"), ("export",)):
        assert retake(*args, path).code in (0, 2), args


# --- validate -------------------------------------------------------------------------------


def test_validate_good_cassettes(saved: Path, plain: tuple[Cassette, Path]) -> None:
    run = retake("validate", saved.parent)
    assert run.code == 0
    assert f"ok   {saved} (12 events)" in run.stdout
    assert "2 valid, 0 invalid" in run.stdout


def test_validate_reports_one_line_per_file_and_exits_1(
    saved: Path, truncated: Path, corrupt: Path
) -> None:
    foreign = saved.parent / "foreign.retake"
    foreign.write_bytes(FOREIGN.read_bytes())
    run = retake("validate", saved.parent)
    assert run.code == 1
    lines = run.stdout.splitlines()
    for bad in (truncated, corrupt, foreign):
        [line] = [line for line in lines if str(bad) in line]
        assert line.startswith("FAIL")
    assert any(line.startswith("ok") and str(saved) in line for line in lines)
    assert "1 valid, 3 invalid" in run.stdout
    assert "retake repair" in run.stdout  # the truncated one says how to fix it


def test_validate_a_foreign_file_named_directly(saved: Path) -> None:
    run = retake("validate", saved, FOREIGN)
    assert run.code == 1
    assert "not a retake cassette" in run.stdout and "1 valid, 1 invalid" in run.stdout


def test_validate_finds_nothing_to_check(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    run = retake("validate", tmp_path)
    assert run.code == 2
    assert "no cassettes under" in run.stderr and str(tmp_path) in run.stderr


def test_validate_a_missing_path(tmp_path: Path) -> None:
    run = retake("validate", tmp_path / "gone.retake")
    assert run.code == 1
    assert "no cassette at" in run.stdout


# --- repair ---------------------------------------------------------------------------------


def test_repair_finalises_a_truncated_recording(cassette: Cassette, truncated: Path) -> None:
    run = retake("repair", truncated)
    assert run.code == 0
    final = truncated.with_name("cut.retake")
    assert f"repaired {truncated} -> {final}: 7 events kept" in run.said
    assert "torn last frame was dropped" in run.said
    assert retake("validate", final).code == 0
    assert json.loads(retake("export", final).stdout)["events"][6]["seq"] == 6


def test_repair_leaves_a_complete_cassette_alone(saved: Path) -> None:
    before = saved.read_bytes()
    run = retake("repair", saved)
    assert run.code == 0
    assert "already complete (12 events); left alone" in run.stdout
    assert saved.read_bytes() == before


def test_repair_refuses_corrupt_foreign_and_missing_files(corrupt: Path, tmp_path: Path) -> None:
    for bad in (corrupt, FOREIGN, tmp_path / "gone.retake.partial"):
        run = retake("repair", bad)
        assert run.code == 2, bad
        assert str(bad) in run.stderr


def test_repair_refuses_to_overwrite_unless_asked(cassette: Cassette, truncated: Path) -> None:
    final = truncated.with_name("cut.retake")
    final.write_bytes(dumps(cassette))
    run = retake("repair", truncated)
    assert run.code == 2
    assert "--overwrite" in run.said and str(final) in run.said
    assert truncated.exists()
    assert retake("repair", truncated, "--overwrite").code == 0
    assert "(7 events)" in retake("validate", final).stdout


def test_repair_in_place_that_cannot_write_leaves_the_recording_as_it_was(
    truncated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torn = truncated.rename(truncated.with_name("cut.retake"))  # a torn cassette, repaired in place
    before = torn.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("retake.store._writer.os.fsync", disk_full)
    run = retake("repair", torn)
    assert run.code == 2
    assert f"could not write the repaired recording of {str(torn)!r}" in run.said
    assert "No space left on device" in run.said and "left as it was" in run.said
    assert torn.read_bytes() == before
    assert [p.name for p in torn.parent.iterdir()] == ["cut.retake"]  # no temporary file left
    monkeypatch.undo()
    assert retake("repair", torn).code == 0
    assert "(7 events)" in retake("validate", torn).stdout


def test_repair_keeps_a_recordings_permissions_and_a_long_name_fits(
    truncated: Path, cassette: Cassette
) -> None:
    torn = truncated.rename(truncated.with_name("cut.retake"))
    torn.chmod(0o640)  # shared with a group, say
    assert retake("repair", torn).code == 0
    assert torn.stat().st_mode & 0o777 == 0o640
    long = save(cassette, torn.with_name("n" * (255 - len(".retake")) + ".retake"))
    assert long.stat().st_mode & 0o777 == 0o644 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_repair_that_cannot_remove_the_partial_says_the_cassette_is_whole(
    truncated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self == truncated:
            raise PermissionError(errno.EACCES, "Permission denied")
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    run = retake("repair", truncated)
    final = truncated.with_name("cut.retake")
    assert run.code == 2
    assert f"repaired {str(truncated)!r} into {str(final)!r}, which holds all 7 events" in run.said
    assert "could not remove" in run.said and "left as it was" not in run.said
    monkeypatch.undo()
    assert "(7 events)" in retake("validate", final).stdout


# --- the real console script ----------------------------------------------------------------


def _script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [retake_script(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_console_script_show_and_validate(saved: Path, truncated: Path) -> None:
    good = _script("show", saved, "--kind", "tool_result")
    assert good.returncode == 0, good.stderr
    assert "2 of 12 events" in good.stdout

    cut = _script("show", truncated)
    assert cut.returncode == 2
    assert "Traceback" not in cut.stderr
    assert str(truncated) in cut.stderr and "retake repair" in cut.stderr

    checked = _script("validate", saved.parent)
    assert checked.returncode == 1
    assert "Traceback" not in checked.stdout + checked.stderr
    assert "1 valid, 1 invalid" in checked.stdout


def test_console_script_without_arguments_shows_help() -> None:
    run = _script()
    assert run.returncode in (0, 2)
    assert "show" in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_the_random_key_warning_is_one_line_for_the_user(saved: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RETAKE_REDACTION_KEY"}
    done = subprocess.run(
        [retake_script(), "redact", str(saved), str(tmp_path / "out.retake")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "COLUMNS": "200", "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("warning: no redaction key configured")
    assert ".py:" not in done.stderr and "EphemeralKeyWarning" not in done.stderr


def test_help_flows_each_summary_to_the_terminal_width() -> None:
    # Wide enough for the whole summary on a line: nothing breaks it at the source's newlines.
    run = retake("--help")
    assert run.code == 0
    assert "print the report, write the evidence, and exit 0 only when every expectation" in (
        run.output
    )
