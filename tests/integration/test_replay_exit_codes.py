"""``retake replay`` fails the run when the release raises where its recording did not, and
not when it raises as the recorded session did (an incident replayed before its fix)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import retake
from retake import redact
from retake.cli import app
from tests.support import raising_agents

KEY = redact.RedactionKey.from_text("tests-only key, not a secret")
RELEASE = "tests.support.raising_agents"


def record(folder: Path, name: str, agent: Callable[[retake.Task], str]) -> Path:
    """A cassette of ``agent`` on one task, recorded as in production (an error included)."""
    rec = retake.Recorder(
        folder,
        agent=f"{RELEASE}:{agent.__name__}",
        release="r1",
        redaction=redact.Redactor(key=KEY),
    )
    task = retake.Task(user_turns=("refund A-1042",))
    with contextlib.suppress(Exception, SystemExit), rec.session(task, session_id=name) as session:
        assert session is not None
        session.output(agent(task))
    rec.wait()
    return folder / f"{name}.retake"


@pytest.fixture
def answered(tmp_path: Path) -> Path:
    return record(tmp_path, "answered", raising_agents.answers)


@pytest.fixture
def raised(tmp_path: Path) -> Path:
    path = record(tmp_path, "raised", raising_agents.raises)
    assert retake.load(path).events[-1].kind == "error"
    return path


class Run:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout = code, stdout
        self.said = " ".join((stdout + stderr).split())
        """All output with rich's line wrapping undone."""


def replay(*args: str | Path) -> Run:
    result = CliRunner().invoke(
        app, ["replay", *map(str, args)], env={"COLUMNS": "200"}, catch_exceptions=False
    )
    run = Run(result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in run.said
    return run


def test_a_release_that_raises_where_the_recording_answered_fails_the_run(answered: Path) -> None:
    run = replay(answered, "--agent", f"{RELEASE}:raises", "--trials", "2")
    assert run.code == 1, run.said
    assert "answered.retake (trial 0): the release raised, unlike its recording" in run.said
    assert "release: RuntimeError: the model returned garbage" in run.said
    assert "recording: ended without an error" in run.said
    assert "2 sessions: 2 raised (2 not as recorded)" in run.said


def test_a_release_that_raises_as_its_recording_did_passes(tmp_path: Path, raised: Path) -> None:
    run = replay(raised, "--agent", f"{RELEASE}:raises")
    assert run.code == 0, run.said
    assert "1 session: 1 raised" in run.said and "not as recorded" not in run.said

    exited = record(tmp_path, "exited", raising_agents.exits)
    run = replay(exited, "--agent", f"{RELEASE}:exits")
    assert run.code == 0, run.said


def test_a_release_that_raises_another_exception_than_recorded_fails_the_run(
    raised: Path,
) -> None:
    run = replay(raised, "--agent", f"{RELEASE}:raises_key_error")
    assert run.code == 1, run.said
    assert "release: KeyError: 'order_id'" in run.said
    assert "recording: raised builtins.RuntimeError: the model returned garbage" in run.said


def test_a_release_that_answers_where_the_recording_raised_passes(raised: Path) -> None:
    # Answering where the recording raised is the fix of an incident, not a failure.
    assert replay(raised, "--agent", f"{RELEASE}:answers").code == 0


def test_json_lines_stay_parseable_and_the_exit_code_still_fails(
    answered: Path, raised: Path
) -> None:
    run = replay(answered, raised, "--agent", f"{RELEASE}:raises", "--json")
    assert run.code == 1, run.said
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert sorted((Path(r["cassette"]).name, r["status"]) for r in results) == [
        ("answered.retake", "raised"),
        ("raised.retake", "raised"),
    ]
    assert "answered.retake (trial 0): the release raised, unlike its recording" in run.said
    assert "raised.retake (trial 0)" not in run.said
    # The lines say how each side raised, for a machine reading them.
    raised_by = {Path(r["cassette"]).name: (r["raised"], r["recorded_raised"]) for r in results}
    assert raised_by == {
        "answered.retake": ("builtins.RuntimeError", None),
        "raised.retake": ("builtins.RuntimeError", "builtins.RuntimeError"),
    }
