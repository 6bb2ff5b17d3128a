"""Small agents for replay tests: each is an entrypoint ``tests.support.agents:NAME``."""

from __future__ import annotations

import os
import signal
import sys
import time
import weakref
from typing import Any

import retake.capture as rc
from retake.schema import Task

WRITES_RAN = "RETAKE_TEST_WRITE_BODY_RAN"


@rc.tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """A read tool; in replay its answer comes from the cassette."""
    raise AssertionError("a tool body ran during replay")


@rc.tool(effect="write")
def issue_refund(order_id: str, amount: float) -> dict[str, Any]:
    """A write tool whose body must never run in replay."""
    marker = os.environ.get(WRITES_RAN)
    if marker:
        with open(marker, "a") as f:
            f.write(f"issue_refund({order_id}, {amount})\n")
    raise AssertionError("a write tool's body ran during replay")


def refunds_twice(task: Task) -> str:
    """Looks the order up, then refunds it twice: the second refund was never recorded."""
    order = lookup_order("A-1")
    issue_refund("A-1", 10.0)
    try:
        issue_refund("A-1", 99.0)
    except rc.ToolError as exc:
        return f"second refund failed: {exc}"
    return f"refunded twice {order}"


def hangs(task: Task) -> str:
    time.sleep(3600)
    return "never"


def swallows(task: Task) -> str:
    """A retry loop that catches every ``Exception`` and tries again, for ever."""
    while True:
        try:
            time.sleep(3600)
        except Exception:
            continue


def exits(task: Task) -> str:
    sys.exit(3)


def dies(task: Task) -> str:
    os.kill(os.getpid(), signal.SIGKILL)
    return "never"


def phones_home(task: Task) -> str:
    import socket

    with socket.create_connection(("203.0.113.7", 443), timeout=1):
        return "connected"


def answers(task: Task) -> str:
    return f"answer to {task.prompt}"


class Cycle:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


LEFT_IN_CYCLES: list[weakref.ref[Cycle]] = []


def leaves_cycles(task: Task) -> str:
    """Answers, leaving one unreachable cycle behind per session (as many libraries do)."""
    LEFT_IN_CYCLES.append(weakref.ref(Cycle()))
    return f"answer to {task.prompt}"


for entry in (refunds_twice, hangs, dies, phones_home, answers, leaves_cycles):
    entry.tools = [lookup_order, issue_refund]  # type: ignore[attr-defined]


def chats_through_vcrpy(task: Task) -> str:
    """Model calls with plain httpx, captured (and, in replay, answered) through vcrpy: the
    same request twice, as a retry sends it."""
    import httpx

    body = {"model": "scripted-1", "messages": [{"role": "user", "content": task.prompt}]}
    names = []
    with rc.recording_http():
        for _ in range(2):
            response = httpx.post(f"{task.metadata['base']}/v1/chat/completions", json=body)
            (call,) = response.json()["choices"][0]["message"]["tool_calls"]
            names.append(str(call["function"]["name"]))
    return ",".join(names)
