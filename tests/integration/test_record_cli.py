"""``retake record`` exits 1 when the agent raised on a task, and keeps that task's cassette
(a crash is worth replaying); 0 only when the agent answered every task."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import retake
from retake.cli import app

RELEASE = "tests.support.raising_agents"


def record(tmp_path: Path, agent: str) -> tuple[int, str, Path]:
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(
        "tasks:\n  - id: a\n    user_turns: [hello]\n  - id: b\n    user_turns: [hi]\n"
    )
    out = tmp_path / "out"
    done = CliRunner().invoke(
        app,
        ["record", "--agent", f"{RELEASE}:{agent}", "--tasks", str(tasks), "--out", str(out)],
        env={"RETAKE_REDACTION_KEY": "record-cli-test-key-0123456789", "COLUMNS": "200"},
    )
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, " ".join(done.output.split()), out


def test_record_exits_0_when_the_agent_answered_every_task(tmp_path: Path) -> None:
    code, said, _ = record(tmp_path, "answers")
    assert code == 0, said
    assert "2 tasks: 2 cassettes written" in said and "0 where the agent raised" in said


def test_record_exits_1_when_the_agent_raised_and_keeps_the_cassettes(tmp_path: Path) -> None:
    code, said, out = record(tmp_path, "raises")
    assert code == 1, said
    assert "2 where the agent raised" in said
    for task in ("a", "b"):
        assert retake.load(out / f"{task}.retake").events[-1].kind == "error"
