"""A command never writes over what was recorded: not over its own input, not over any
cassette, and not over scenario files it did not write in this run; out-of-range options and
values a format cannot carry are clear input errors (exit 2), never a traceback."""

from __future__ import annotations

import math
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retake.cli import app
from retake.schema import (
    Cassette,
    CassetteHeader,
    OutputEvent,
    ToolCallEvent,
    ToolResultEvent,
    UserEvent,
)
from retake.store import save

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "cassettes" / "refund-within-limit.retake"


def run(*args: str) -> tuple[int, str]:
    key = {"RETAKE_REDACTION_KEY": "cli-guards-test-key-0123456789"}
    done = CliRunner().invoke(app, list(args), env=key)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, " ".join(done.output.split())


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    copy = tmp_path / "recorded.retake"
    shutil.copyfile(BUNDLED, copy)
    return copy


def test_mutate_refuses_to_write_the_scenario_or_the_mutated_cassette_over_a_recording(
    cassette: Path, tmp_path: Path
) -> None:
    before = cassette.read_bytes()
    code, said = run("mutate", str(cassette), "-o", str(cassette), "--timeout", "lookup_order")
    assert code == 2 and "also an input" in said
    scenario = tmp_path / "s.yaml"
    code, said = run(
        "mutate", str(cassette), "-o", str(scenario), "--timeout", "lookup_order",
        "--materialize", str(cassette),
    )  # fmt: skip
    assert code == 2 and "also an input" in said
    other = tmp_path / "other.retake"
    shutil.copyfile(BUNDLED, other)
    code, said = run(
        "mutate", str(cassette), "-o", str(scenario), "--timeout", "lookup_order",
        "--materialize", str(other),
    )  # fmt: skip
    assert code == 2 and "pass --overwrite" in said
    assert cassette.read_bytes() == before and other.read_bytes() == BUNDLED.read_bytes()
    mutated = tmp_path / "mutated.retake"
    again = (
        "mutate", str(cassette), "-o", str(scenario), "--timeout", "lookup_order",
        "--materialize", str(mutated),
    )  # fmt: skip
    assert run(*again)[0] == 0 and mutated.exists()
    first = mutated.read_bytes()
    scenario.unlink()
    code, said = run(*again)  # the mutated cassette is there: kept, and nothing written
    assert code == 2 and "--overwrite" in said
    assert mutated.read_bytes() == first and not scenario.exists()
    assert run(*again, "--overwrite")[0] == 0 and scenario.exists()


def test_export_refuses_to_write_over_its_cassette_or_another(
    cassette: Path, tmp_path: Path
) -> None:
    before = cassette.read_bytes()
    assert run("export", str(cassette), "-o", str(cassette))[0] == 2
    other = tmp_path / "other.retake"
    shutil.copyfile(BUNDLED, other)
    code, said = run("export", str(cassette), "-f", "yaml", "-o", str(other))
    assert code == 2 and "is a cassette" in said
    assert cassette.read_bytes() == before and other.read_bytes() == BUNDLED.read_bytes()
    assert run("export", str(cassette), "-o", str(tmp_path / "out.json"))[0] == 0


def test_an_output_that_is_not_a_regular_file_is_written_to_as_before(cassette: Path) -> None:
    # /dev/null (like /dev/stdout) is not read to see whether it holds a cassette
    assert run("export", str(cassette), "-o", os.devnull)[0] == 0


def test_check_refuses_to_write_its_reports_over_the_suites_files(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copyfile(BUNDLED, suite / "c.retake")
    (suite / "s.yaml").write_text("description: probe\ncassette: c.retake\nmodel: recorded\n")
    files = {p: p.read_bytes() for p in suite.iterdir()}
    agent = ("--agent", "retake.demo:release_1")
    code, said = run("check", str(suite), *agent, "--bundle", str(suite / "c.retake"))
    assert code == 2 and "is a cassette" in said
    code, said = run("check", str(suite), *agent, "--html", str(suite / "s.yaml"))
    assert code == 2 and "also an input" in said
    assert {p: p.read_bytes() for p in suite.iterdir()} == files


def test_matrix_keeps_scenarios_already_there_unless_told_to_overwrite(
    cassette: Path, tmp_path: Path
) -> None:
    out = tmp_path / "matrix"
    assert run("matrix", str(cassette), "-o", str(out), "--families", "faults")[0] == 0
    (written,) = out.iterdir()
    written.write_text("# edited by hand\n" + written.read_text())
    edited = written.read_text()
    code, said = run("matrix", str(cassette), "-o", str(out), "--families", "faults")
    assert code == 2 and "--overwrite" in said
    assert written.read_text() == edited
    assert (
        run("matrix", str(cassette), "-o", str(out), "--families", "faults", "--overwrite")[0] == 0
    )
    assert not written.read_text().startswith("# edited by hand")
    # A refusal writes nothing: a grid extended to another cassette is not half written.
    other = tmp_path / "other.retake"
    shutil.copyfile(ROOT / "cassettes" / "lookup-in-transit.retake", other)
    code, said = run("matrix", str(cassette), str(other), "-o", str(out), "--families", "faults")
    assert code == 2 and "Nothing was written" in said
    assert [p.name for p in out.iterdir()] == [written.name]


@pytest.mark.parametrize(
    "option",
    [
        ("--workers", "99999999999999999999"),
        ("--workers", "100000"),
        ("--trials", "99999999999999999999"),
        ("--timeout", "0.000001"),
    ],
)
def test_replay_refuses_out_of_range_options(option: tuple[str, str], cassette: Path) -> None:
    code, said = run("replay", str(cassette), "--agent", "retake.demo:release_1", *option)
    assert code == 2 and option[0] in said


@pytest.mark.parametrize("width", ["0", "-5"])
@pytest.mark.parametrize("command", ["show", "diff"])
def test_show_and_diff_refuse_a_width_below_1(command: str, width: str, cassette: Path) -> None:
    cassettes = [str(cassette)] * (2 if command == "diff" else 1)
    code, said = run(command, *cassettes, "--width", width)
    assert code == 2 and "Invalid value for '--width'" in said
    assert run(command, *cassettes, "--width", "1")[0] == 0


def odd_cassette(path: Path, **values: object) -> Path:
    header = CassetteHeader(
        session_id="odd",
        agent="tests:odd",
        release="1",
        recorded_at=datetime(2026, 11, 27, tzinfo=UTC),
    )
    events = (
        UserEvent(seq=0, t=float(values.get("t", 0.0)), text="hi"),  # type: ignore[arg-type]
        ToolCallEvent(seq=1, call_id="c1", tool="upload", arguments={"blob": values["blob"]}),
        ToolResultEvent(seq=2, call_id="c1", tool="upload", output={"ok": True}),
        OutputEvent(seq=3, text="done"),
    )
    return save(Cassette(header=header, events=events), path)


def test_export_to_otel_says_which_values_it_cannot_carry(tmp_path: Path) -> None:
    path = odd_cassette(tmp_path / "odd.retake", blob=b"\x00\x01")
    code, said = run("export", str(path), "-f", "otel", "-o", str(tmp_path / "spans.json"))
    assert code == 2 and "--format json" in said
    assert not (tmp_path / "spans.json").exists()


@pytest.mark.parametrize("form", ["json", "yaml", "otel"])
@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"blob": math.nan}, "events.1.arguments.blob=nan"),
        ({"blob": [1.0, -math.inf]}, "events.1.arguments.blob.1=-inf"),
        ({"blob": "x", "t": math.inf}, "events.0.t=inf"),
    ],
)
def test_export_refuses_a_number_that_is_not_finite_instead_of_writing_null(
    form: str, values: dict[str, object], where: str, tmp_path: Path
) -> None:
    path = odd_cassette(tmp_path / "odd.retake", **values)
    out = tmp_path / f"odd.{form}"
    code, said = run("export", str(path), "-f", form, "-o", str(out))
    assert code == 2, said
    assert f"holds a number that is not finite ({where})" in said and "Nothing was written" in said
    assert not out.exists()


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("never_call: [1]", "expectations.0: the settings of never_call are a map"),
        ("max_calls: 3", "expectations.0: the settings of max_calls are a map"),
        ("never_call: {tool: send_email, bogus: 1}", "expectations.0.bogus: never_call has no"),
        ("never_call: {}", "expectations.0.tool: never_call needs it"),
        ("max_calls: {tool: send_email, n: many}", "expectations.0.n: max_calls takes int"),
        ("canary_not_leaked: {canaries: [1]}", "expectations.0.canaries: a list of non-empty"),
        ("args_valid: {tool: x, schema: {type: nonsense}}", "expectations.0.schema: not a valid"),
        ("output_contains: {text: ''}", "expectations.0.text: must not be empty"),
    ],
)
def test_a_misconfigured_expectation_is_an_input_error_naming_line_and_field(
    entry: str, field: str, tmp_path: Path
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"description: probe\ncassette: {BUNDLED}\nmodel: recorded\nexpectations:\n- {entry}\n"
    )
    for command in ("replay", "check"):
        code, said = run(command, str(scenario), "--agent", "retake.demo:release_1")
        assert code == 2, (command, said)
        assert f"line 5, field {field}" in said


def test_mutate_checks_the_expectations_it_writes(cassette: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    base = ("mutate", str(cassette), "-o", str(scenario), "--timeout", "lookup_order")
    code, said = run(*base, "--expect", "never_cal")
    assert code == 2 and "did you mean" in said and "'never_call'?" in said
    assert not scenario.exists()
    assert run(*base, "--expect", 'never_call:{"tool": "send_email"}')[0] == 0


def test_a_pipe_is_refused_not_read_for_ever(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.retake"
    os.mkfifo(fifo)
    for command in ("show", "validate", "export"):
        code, said = run(command, str(fifo))
        assert code in (1, 2) and "not a regular file" in said, command


def billion_laughs(levels: int = 9) -> str:
    lines = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    names = "abcdefghijklmnop"
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_whose_aliases_explode_is_refused_or_read_as_text(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"description: x\ncassette: {BUNDLED}\n" + billion_laughs())
    code, said = run("replay", str(scenario), "--agent", "retake.demo:release_1")
    assert code == 2 and "aliases" in said
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    code, said = run("scan", "--any-file", str(bomb))
    assert code == 0 and "1 files scanned" in said
    code, said = run("import", str(bomb), "--out", str(tmp_path / "imported"))
    assert code != 0 and "aliases" in said


def test_json_nested_past_the_recursion_limit_is_not_imported(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, said = run("import", str(deep), "--out", str(tmp_path / "imported"))
    assert code != 0 and "nests its JSON deeper" in said


def test_replay_out_writes_one_candidate_per_session(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copyfile(BUNDLED, tmp_path / folder / "same.retake")
    out = tmp_path / "candidates"
    agent = ("--agent", "retake.demo:release_1", "--out", str(out))
    code, said = run("replay", str(tmp_path / "a"), str(tmp_path / "b"), *agent)
    assert code == 2 and "would both write" in said and not out.exists()
    # Scenarios that share a cassette each keep their own candidate, named for the scenario.
    for name in ("first", "second"):
        (tmp_path / f"{name}.yaml").write_text(
            f"description: {name}\ncassette: {BUNDLED}\nmodel: recorded\n"
        )
    scenarios = (str(tmp_path / "first.yaml"), str(tmp_path / "second.yaml"))
    code, said = run("replay", *scenarios, *agent)
    assert code == 0, said
    assert sorted(p.name for p in out.iterdir()) == [
        "first.trial-0.retake",
        "second.trial-0.retake",
    ]


def test_brackets_in_values_and_file_names_are_printed_as_they_are(
    cassette: Path, tmp_path: Path
) -> None:
    # Rich would read "[/x]" as a closing tag (a traceback) and "[bold]" as a style (lost).
    code, said = run(
        "mutate", str(cassette), "-o", str(tmp_path / "s.yaml"), "--revoke-role", "[/x]"
    )
    assert code == 2 and "--revoke-role '[/x]' changes nothing" in said
    code, said = run(
        "mutate", str(cassette), "-o", str(tmp_path / "s.yaml"), "--revoke-role", "[bold]admin"
    )
    assert code == 2 and "'[bold]admin'" in said
    missing = tmp_path / "nope[/x].retake"
    code, said = run("show", str(missing))
    assert code == 2 and "nope[/x].retake" in said
    named = tmp_path / "[red]odd.retake"
    shutil.copyfile(BUNDLED, named)
    code, said = run("validate", str(named))
    assert code == 0 and "[red]odd.retake (15 events)" in said
