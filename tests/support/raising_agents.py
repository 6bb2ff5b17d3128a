"""Releases that raise, for the exit codes of ``retake replay``: each is an entrypoint
``tests.support.raising_agents:NAME``."""

from __future__ import annotations

import sys

from retake.schema import Task


def answers(task: Task) -> str:
    return f"answer to {task.prompt}"


def raises(task: Task) -> str:
    raise RuntimeError(f"the model returned garbage for {task.prompt!r}")


def raises_key_error(task: Task) -> str:
    raise KeyError("order_id")


def exits(task: Task) -> str:
    sys.exit(3)
