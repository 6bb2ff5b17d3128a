"""tau-bench trajectories: ``{"task_id", "reward", "info", "traj", "trial"}`` objects, alone or
in a list (tau-bench's ``historical_trajectories/*.json``), one session each.

The trajectory is an OpenAI chat message list; a tool message whose text starts ``Error:`` is
what tau-bench's environment answers when a tool raised, and becomes a typed tool failure. The
task's instruction, the reward and the expected actions go to the header's tags.
"""

from __future__ import annotations

from typing import Any

from retake.schema import Cassette, Message, ToolFailure

from ._build import SessionBuilder, Skipped, session_name
from ._openai_chat import NAME as OPENAI_CHAT
from ._openai_chat import read_messages

NAME = "tau-bench"
ERROR_PREFIX = "Error:"


def failure_of(message: Message) -> ToolFailure | None:
    """tau-bench's environment answers ``Error: ...`` when a tool raised."""
    text = message.content or ""
    if text.startswith(ERROR_PREFIX):
        return ToolFailure(type="error", message=text)
    return None


def is_trajectory(value: Any) -> bool:
    return isinstance(value, dict) and "traj" in value and ("task_id" in value or "info" in value)


def _tags(run: dict[str, Any]) -> dict[str, Any]:
    info = run.get("info")
    info = info if isinstance(info, dict) else {}
    task = info.get("task")
    task = task if isinstance(task, dict) else {}
    tags: dict[str, Any] = {
        "task_id": run.get("task_id"),
        "trial": run.get("trial"),
        "reward": run.get("reward"),
        "instruction": task.get("instruction"),
        "expected_actions": task.get("actions"),
        "expected_outputs": task.get("outputs"),
        "user_id": task.get("user_id"),
    }
    return {k: v for k, v in tags.items() if v is not None}


def import_data(data: Any, file: str, skipped: list[Skipped]) -> list[Cassette]:
    runs = data if isinstance(data, list) else [data]
    cassettes: list[Cassette] = []
    for index, run in enumerate(runs):
        where = f"[{index}]" if isinstance(data, list) else ""
        builder = SessionBuilder(file)
        if not is_trajectory(run):
            builder.skip(where or "(top level)", "not a tau-bench run (no 'traj'); left out")
            skipped += builder.skipped
            continue
        messages = read_messages(run["traj"], builder, f"{where}traj".lstrip("."))
        builder.conversation(messages, provider=OPENAI_CHAT, failure_of=failure_of)
        builder.final_output()
        skipped += builder.skipped
        tags = _tags(run)
        suffix = None
        if isinstance(data, list):
            suffix = f"task{tags.get('task_id', 'x')}-trial{tags.get('trial', 'x')}"
        cassettes.append(
            builder.finish(
                session_id=session_name(file, index if isinstance(data, list) else None, suffix),
                source=NAME,
                agent=NAME,
                lacks=("permission", "duration", "time", "http"),
                tags=tags,
            )
        )
    return cassettes
