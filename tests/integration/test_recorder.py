"""Recording real sessions: tools, gates, notes and turns land in the right cassette, redacted,
from many threads and asyncio tasks at once, with no file I/O on the agent's thread."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import retake.capture as rc
from retake import redact, store
from retake.errors import LeakDetected
from retake.pipeline import Recorder
from retake.schema import (
    NoteEvent,
    OutputEvent,
    PermissionContext,
    PermissionEvent,
    Task,
    ToolCallEvent,
    ToolResultEvent,
    UserEvent,
)

KEY = redact.RedactionKey.from_text("tests-only key, not a secret")


@rc.tool
def lookup_order(order_id: str, include_lines: bool = False) -> dict[str, Any]:
    """Look up an order."""
    return {"order_id": order_id, "total": 240.0, "lines": 3 if include_lines else None}


@rc.tool(effect="write")
def issue_refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    if amount > 100:
        raise rc.ToolError("processor refused", type="rate_limited", retry_after=2.0)
    return f"refunded {amount} on {order_id}"


@rc.tool
async def search_kb(query: str) -> list[str]:
    await asyncio.sleep(0)
    return [f"article about {query}"]


def recorder(tmp_path: Path, **kwargs: Any) -> Recorder:
    return Recorder(
        tmp_path,
        agent="tests:desk",
        release="r1",
        redaction=redact.Redactor(key=KEY),
        tools=[lookup_order, issue_refund],
        **kwargs,
    )


def only_cassette(directory: Path) -> Path:
    files = list(directory.glob("*.retake"))
    assert len(files) == 1, files
    return files[0]


def test_a_session_records_every_boundary_in_order(tmp_path: Path) -> None:
    rec = recorder(tmp_path)

    @rec
    def desk(task: Task) -> str:
        order = lookup_order("A-1042")
        with rc.tool_call_id("call_7"):
            rc.permission("issue_refund", "deny", rule_id="refund.limit", reason="needs manager")
            rc.note("refund denied", level="audit", data={"amount": order["total"]})
        follow_up = rc.user_turn()
        return f"sorry ({follow_up})"

    task = Task(
        user_turns=("refund A-1042", "ok, thanks"),
        permission_context=PermissionContext(principal="desk-7", roles=("agent",)),
        id="refund-denied",
    )
    assert desk(task) == "sorry (ok, thanks)"
    rec.wait()
    cassette = store.load(only_cassette(tmp_path))
    kinds = [e.kind for e in cassette.events]
    assert kinds == ["user", "tool_call", "tool_result", "permission", "note", "user", "output"]
    call, result, gate, note = cassette.events[1:5]
    assert isinstance(call, ToolCallEvent) and call.arguments == {"order_id": "A-1042"}
    assert isinstance(result, ToolResultEvent) and result.output["total"] == 240.0
    assert result.call_id == call.call_id
    assert isinstance(gate, PermissionEvent) and (gate.decision, gate.call_id) == ("deny", "call_7")
    assert isinstance(note, NoteEvent) and note.data == {"amount": 240.0}
    assert isinstance(cassette.events[-1], OutputEvent)
    header = cassette.header
    assert header.permission_context.roles == ("agent",)
    assert header.tags["task"] == "refund-denied"
    assert {t.name: t.effect for t in header.tools} == {
        "lookup_order": "read",
        "issue_refund": "write",
    }
    refund = next(t for t in header.tools if t.name == "issue_refund")
    assert refund.parameters["properties"]["amount"]["type"] == "number"
    assert header.redaction.applied and header.redaction.key_fingerprint == KEY.fingerprint


def test_tool_failures_are_recorded_as_typed_data(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    with rec.session("refund 240") as session:
        assert session is not None
        with pytest.raises(rc.ToolError):
            issue_refund("A-1", 240.0)
        with pytest.raises(ZeroDivisionError):
            issue_refund("A-1", amount=1 / 0) if False else _divide()
    rec.wait()
    results = [e for e in store.load(only_cassette(tmp_path)).events if e.kind == "tool_result"]
    assert len(results) == 2
    assert results[0].failure is not None
    assert (results[0].status, results[0].failure.retry_after) == ("rate_limited", 2.0)
    assert results[1].status == "error"
    assert results[1].failure is not None and results[1].failure.exception_type == (
        "builtins.ZeroDivisionError"
    )


@rc.tool
def _divide() -> float:
    return 1 / 0


def test_an_agent_that_raises_is_recorded_with_its_error(tmp_path: Path) -> None:
    rec = recorder(tmp_path)

    @rec
    def broken(task: Task) -> str:
        lookup_order("A-1")
        raise RuntimeError("model returned garbage")

    with pytest.raises(RuntimeError):
        broken(Task(user_turns=("hi",)))
    rec.wait()
    events = store.load(only_cassette(tmp_path)).events
    assert [e.kind for e in events] == ["user", "tool_call", "tool_result", "error"]
    assert "model returned garbage" in events[-1].message


def test_fifty_threads_and_fifty_tasks_each_land_in_their_own_cassette(tmp_path: Path) -> None:
    rec = recorder(tmp_path)

    def run_in_thread(n: int) -> None:
        with rec.session(Task(user_turns=(f"thread {n}",)), session_id=f"thread-{n:02d}") as s:
            for i in range(5):
                lookup_order(f"T{n}-{i}")
            assert s is not None
            s.output(f"thread {n} done")

    async def run_in_task(n: int) -> None:
        with rec.session(Task(user_turns=(f"task {n}",)), session_id=f"task-{n:02d}") as s:
            for i in range(5):
                await search_kb(f"K{n}-{i}")
                await asyncio.sleep(0)
            assert s is not None
            s.output(f"task {n} done")

    async def run_tasks() -> None:
        await asyncio.gather(*(run_in_task(n) for n in range(50)))

    threads = [threading.Thread(target=run_in_thread, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    asyncio.run(run_tasks())
    for t in threads:
        t.join()
    rec.wait()
    files = sorted(tmp_path.glob("*.retake"))
    assert len(files) == 100
    for path in files:
        cassette = store.load(path)
        origin, n = cassette.header.session_id.split("-")
        prefix = ("T" if origin == "thread" else "K") + str(int(n)) + "-"
        calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
        assert len(calls) == 5
        for call in calls:
            value = call.arguments.get("order_id") or call.arguments.get("query")
            assert value.startswith(prefix), (path.name, value)
        assert isinstance(cassette.events[0], UserEvent)
        assert cassette.events[0].text == f"{origin} {int(n)}"


def test_the_agent_thread_never_opens_the_cassette(tmp_path: Path) -> None:
    opened_by: list[tuple[str, int]] = []
    watched = str(tmp_path)

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and watching.is_set() and str(args[0]).startswith(watched):
            opened_by.append((str(args[0]), threading.get_ident()))

    watching = threading.Event()
    sys.addaudithook(audit)  # audit hooks cannot be removed; this one is gated by the event
    watching.set()
    try:
        rec = recorder(tmp_path)
        with rec.session("look it up") as session:
            assert session is not None
            for i in range(20):
                lookup_order(f"A-{i}")
            session.flush()
        rec.wait()
    finally:
        watching.clear()
    agent = threading.get_ident()
    assert opened_by, "the writer thread should have opened the cassette"
    assert all(ident != agent for _, ident in opened_by), opened_by
    assert len(store.load(only_cassette(tmp_path)).events) == 41


def test_a_secret_in_a_tool_argument_never_reaches_the_file(tmp_path: Path) -> None:
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    rec = recorder(tmp_path)
    with rec.session(f"my key is {secret}, mail jane.doe@example.com"):
        lookup_order(f"token={secret}")
    rec.wait()
    raw = only_cassette(tmp_path).read_bytes()
    assert secret.encode() not in raw
    assert b"jane.doe@example.com" not in raw
    events = store.load(only_cassette(tmp_path)).events
    assert "<REDACTED:" in events[1].arguments["order_id"]


def test_a_leak_the_redactor_cannot_see_is_refused_at_finalise(tmp_path: Path) -> None:
    # A redactor that fails to replace a value: the write-time scan still refuses to publish.
    class Broken(redact.Redactor):
        def redact(self, value: Any, **kwargs: Any) -> Any:
            return value

    rec = Recorder(tmp_path, agent="tests", release="r1", redaction=Broken(key=KEY))
    with rec.session("hello"):
        lookup_order("AKIAIOSFODNN7EXAMPLE")
    with pytest.raises(LeakDetected):
        rec.wait()
    assert list(tmp_path.iterdir()) == []


def test_sampling_records_only_a_fraction(tmp_path: Path) -> None:
    rec = recorder(tmp_path, sample_rate=0.0)
    with rec.session("not recorded") as session:
        assert session is None
        assert lookup_order("A-1")["order_id"] == "A-1"
    rec.wait()
    assert list(tmp_path.iterdir()) == []


_CHILD = """
import sys, time
import retake.capture as rc
from retake import redact
from retake.pipeline import Recorder

@rc.tool
def lookup_order(order_id: str) -> dict:
    return {"order_id": order_id}

key = redact.RedactionKey.from_text("tests-only key, not a secret")
rec = Recorder(sys.argv[1], agent="child", release="r1", redaction=redact.Redactor(key=key))
with rec.session("crash me", session_id="crashing") as session:
    for i in range(10_000):
        lookup_order(f"A-{i}")
        session.flush()
        print(i, flush=True)
        time.sleep(0.001)
"""


def test_a_killed_process_leaves_a_cassette_that_loads_to_its_last_event(
    tmp_path: Path,
) -> None:
    import signal
    import subprocess

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    last = -1
    for line in child.stdout:
        last = int(line)
        if last >= 30:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    partial = tmp_path / "crashing.retake.partial"
    assert partial.exists() and not (tmp_path / "crashing.retake").exists()
    cassette = store.load(partial, allow_truncated=True)
    assert cassette.truncated
    # the user turn, then a call and a result per flushed lookup
    assert len(cassette.events) >= 1 + 2 * (last + 1)
    calls = [e for e in cassette.events if isinstance(e, ToolCallEvent)]
    assert [c.arguments["order_id"] for c in calls[: last + 1]] == [
        f"A-{i}" for i in range(last + 1)
    ]
