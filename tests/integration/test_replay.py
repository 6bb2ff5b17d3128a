"""Replaying cassettes against releases: identity, release 2's changes, no side effects,
explained misses, timeouts and crashes."""

from __future__ import annotations

import gc
import json
import socket
import subprocess
import sys
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from retake import player, redact, runner, store
from retake.schema import (
    Cassette,
    CassetteHeader,
    ModelEvent,
    NoteEvent,
    OutputEvent,
    PermissionEvent,
    ToolCallEvent,
    ToolResultEvent,
    ToolSpec,
    UserEvent,
)
from tests.integration.test_demo import BUNDLED, comparable
from tests.support.agents import LEFT_IN_CYCLES, WRITES_RAN, Cycle

RELEASE_1 = "retake.demo:release_1"
RELEASE_2 = "retake.demo:release_2"


def replayed(name: str, agent: str, model: player.ModelMode = "recorded") -> runner.ReplayOutcome:
    cassette = store.load(BUNDLED / f"{name}.retake")
    return runner.replay_cassette(
        cassette, runner.ReplayConfig(agent=agent, model=model), source=name
    )


def events_of(cassette: Cassette, *, live_model: bool = False) -> list[dict[str, Any]]:
    """The events up to ids and times; with a live (scripted) model, also up to token counts,
    which follow the length of pseudonymised values rather than the originals."""
    events = list(comparable(cassette)["events"])
    if live_model:
        for event in events:
            if event["kind"] == "model":
                event["response"]["usage"] = None
                event["http"].pop("response_body")
    return events


@pytest.mark.parametrize("model", ["recorded", "scripted"])
def test_every_bundled_cassette_replays_identically_against_release_1(model: str) -> None:
    paths = sorted(BUNDLED.glob("*.retake"))
    assert len(paths) >= 12
    for path in paths:
        outcome = replayed(path.stem, RELEASE_1, model)  # type: ignore[arg-type]
        result = outcome.result
        assert result.status == "completed", (path.name, result.error)
        assert result.unmatched == () and result.request_drift == () and result.wiring == ()
        assert outcome.candidate is not None
        live = model == "scripted"
        assert events_of(outcome.candidate, live_model=live) == events_of(
            store.load(path), live_model=live
        ), path.name


def _kinds(cassette: Cassette, *kinds: str) -> list[tuple[str, str, str]]:
    return [
        (e.kind, getattr(e, "tool", ""), getattr(e, "decision", ""))
        for e in cassette.events
        if e.kind in kinds
    ]


def test_release_2_benign_changes_show_in_the_candidate() -> None:
    outcome = replayed("refund-within-limit", RELEASE_2, "scripted")
    assert outcome.candidate is not None
    # reworded prompt: every model request differs from the recorded one at message 0
    assert outcome.result.request_drift and outcome.result.request_drift[0].message == 0
    # the two independent lookups now run the other way round
    calls = [e.tool for e in outcome.candidate.events if isinstance(e, ToolCallEvent)]
    assert calls[:2] == ["search_kb", "lookup_order"]
    recorded = [
        e.tool
        for e in store.load(BUNDLED / "refund-within-limit.retake").events
        if isinstance(e, ToolCallEvent)
    ]
    assert recorded[:2] == ["lookup_order", "search_kb"]
    # a new read-only tool, reported as wiring drift and used for orders in transit
    assert [(w.kind, w.tool) for w in outcome.result.wiring] == [("added", "track_shipment")]
    tracking = replayed("lookup-in-transit", RELEASE_2, "scripted")
    assert [(u.tool, u.effect) for u in tracking.result.unmatched] == [("track_shipment", "read")]


def test_release_2_regressions_show_in_the_candidate() -> None:
    # a refund retried after a timeout, without an idempotency key
    timeout = replayed("refund-timeout-retry", RELEASE_2, "scripted").candidate
    assert timeout is not None
    refunds = [
        e for e in timeout.events if isinstance(e, ToolCallEvent) and e.tool == "issue_refund"
    ]
    assert len(refunds) == 2
    assert all("idempotency_key" not in e.arguments for e in refunds)
    recorded = store.load(BUNDLED / "refund-timeout-retry.retake")
    assert all(
        "idempotency_key" in e.arguments
        for e in recorded.events
        if isinstance(e, ToolCallEvent) and e.tool == "issue_refund"
    )
    # the permission check moved after the call: attempted, then rejected
    denied = replayed("refund-above-limit-denied", RELEASE_2, "scripted").candidate
    assert denied is not None
    order = _kinds(denied, "tool_call", "permission")
    assert order.index(("tool_call", "issue_refund", "")) < order.index(
        ("permission", "issue_refund", "deny")
    )
    assert ("tool_call", "issue_refund", "") not in _kinds(
        store.load(BUNDLED / "refund-above-limit-denied.retake"), "tool_call"
    )
    # knowledge-base text obeyed as instructions: an email nobody asked for
    hijacked = replayed("kb-gift-cards", RELEASE_2, "scripted").candidate
    assert hijacked is not None
    assert ("tool_call", "send_email", "") in _kinds(hijacked, "tool_call")
    # the email confirmation check dropped: allowed without the customer's confirmation
    email = replayed("email-unconfirmed", RELEASE_2, "scripted").candidate
    assert email is not None
    assert ("permission", "send_email", "allow") in _kinds(email, "permission")
    assert ("permission", "send_email", "ask") in _kinds(
        store.load(BUNDLED / "email-unconfirmed.retake"), "permission"
    )


# --- no side effects, explained misses, timeouts, crashes ------------------------------------


def _tiny_cassette(tmp_path: Path, name: str = "tiny") -> Path:
    header = CassetteHeader(
        session_id=name,
        agent="tests.support.agents:refunds_twice",
        release="r1",
        recorded_at=datetime(2026, 11, 27, tzinfo=UTC),
        tools=(ToolSpec(name="lookup_order"), ToolSpec(name="issue_refund", effect="write")),
    )
    events = (
        UserEvent(seq=0, text="refund A-1"),
        ToolCallEvent(seq=1, call_id="c1", tool="lookup_order", arguments={"order_id": "A-1"}),
        ToolResultEvent(seq=2, call_id="c1", tool="lookup_order", output={"total": 10.0}),
        PermissionEvent(seq=3, call_id="c2", tool="issue_refund", decision="allow"),
        ToolCallEvent(
            seq=4, call_id="c2", tool="issue_refund", arguments={"order_id": "A-1", "amount": 10.0}
        ),
        ToolResultEvent(seq=5, call_id="c2", tool="issue_refund", output={"refund": "RF-1"}),
        OutputEvent(seq=6, text="refunded"),
    )
    return store.save(Cassette(header=header, events=events), tmp_path / f"{name}.retake")


def test_tool_bodies_never_run_and_an_unmatched_write_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "writes.log"
    monkeypatch.setenv(WRITES_RAN, str(marker))
    path = _tiny_cassette(tmp_path)
    outcome = runner.replay_cassette(
        store.load(path),
        runner.ReplayConfig(agent="tests.support.agents:refunds_twice"),
        source=str(path),
    )
    assert not marker.exists(), marker.read_text()
    assert outcome.result.status == "completed"
    assert outcome.result.answer is not None
    assert outcome.result.answer.startswith("second refund failed: retake replay: no recorded")
    (miss,) = outcome.result.unmatched
    assert (miss.tool, miss.effect) == ("issue_refund", "write")
    # the explanation shows the live call, the nearest recorded one, and why it failed
    assert 'live call   issue_refund({"amount":99.0,"order_id":"A-1"})' in miss.explanation
    assert 'step 4: issue_refund({"amount":10.0,"order_id":"A-1"})' in miss.explanation
    assert "amount: recorded 10.0, live 99.0" in miss.explanation
    assert "already served" in miss.explanation
    assert outcome.candidate is not None
    marked = [
        e for e in outcome.candidate.events if isinstance(e, NoteEvent) and e.level == "replay"
    ]
    assert marked and marked[0].data["unmatched"] == "issue_refund"


def test_a_socket_to_a_non_loopback_address_is_refused_during_replay(tmp_path: Path) -> None:
    path = _tiny_cassette(tmp_path)
    outcome = runner.replay_cassette(
        store.load(path), runner.ReplayConfig(agent="tests.support.agents:phones_home")
    )
    assert outcome.result.status == "raised"
    assert outcome.result.error is not None and "refused a connection to 203.0.113.7" in (
        outcome.result.error
    )
    # and the guard is down again afterwards
    with pytest.raises(OSError) as caught:
        socket.create_connection(("127.0.0.1", 9), timeout=0.5)  # nothing listens: refused
    assert "retake" not in str(caught.value)


def test_loopback_is_refused_in_recorded_mode_and_allowed_in_scripted_mode() -> None:
    with player.network_guard(allow_loopback=False), pytest.raises(ConnectionRefusedError) as e:
        socket.create_connection(("127.0.0.1", 9), timeout=0.5)
    assert "retake" in str(e.value)
    with player.network_guard(allow_loopback=True), pytest.raises(OSError) as other:
        socket.create_connection(("127.0.0.1", 9), timeout=0.5)
    assert "retake" not in str(other.value)


def test_datagrams_and_host_name_lookups_are_refused_during_replay() -> None:
    """UDP needs no connection, and a DNS query carries the host name out: both are refused."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with player.network_guard(allow_loopback=True):
            with pytest.raises(ConnectionRefusedError, match=r"refused a datagram to 192\.0\.2\.1"):
                udp.sendto(b"x", ("192.0.2.1", 9))
            with pytest.raises(socket.gaierror, match=r"refused to look up 'api\.example\.com'"):
                socket.getaddrinfo("api.example.com", 443)
            with pytest.raises(socket.gaierror, match="retake"):
                socket.gethostbyname("api.example.com")
            with pytest.raises(socket.gaierror, match=r"refused to look up '192\.0\.2\.1'"):
                socket.gethostbyaddr("192.0.2.1")  # a reverse lookup is a query too
            assert socket.getaddrinfo("127.0.0.1", 9)  # loopback, allowed in this run
            udp.sendto(b"x", ("127.0.0.1", 9))
        with player.network_guard(allow_loopback=False), pytest.raises(socket.gaierror):
            socket.getaddrinfo("localhost", 9)
        # a socket given a host name would resolve it in C before any audit event: the name
        # is refused first, so no DNS query leaves either
        tcp = socket.socket()
        try:
            with player.network_guard(allow_loopback=True):
                for send in (
                    lambda: tcp.connect(("leak-connect.example.com", 80)),
                    lambda: tcp.connect_ex(("leak-connect.example.com", 80)),
                    lambda: udp.sendto(b"x", ("leak-sendto.example.com", 53)),
                    lambda: udp.sendto(b"x", 0, ("leak-sendto.example.com", 53)),
                    lambda: udp.sendmsg([b"x"], [], 0, ("leak-sendmsg.example.com", 53)),
                    lambda: socket.getnameinfo(("192.0.2.77", 80), 0),
                ):
                    with pytest.raises(socket.gaierror, match="retake replay refused to look up"):
                        send()
                with pytest.raises(TypeError):
                    udp.sendto()  # type: ignore[call-overload]  # the socket's own error
        finally:
            tcp.close()
    finally:
        udp.close()


def test_timeouts_and_crashed_workers_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    paths = [_tiny_cassette(tmp_path, f"s{i}") for i in range(3)]
    for agent, status in (
        ("tests.support.agents:hangs", "timeout"),
        ("tests.support.agents:dies", "crashed"),
    ):
        config = runner.ReplayConfig(agent=agent, timeout=0.5)
        run = runner.run(paths, config, workers=2)
        assert [s.status for s in run.sessions] == [status] * 3, run.sessions
        assert [Path(s.cassette).name for s in run.sessions] == [
            "s0.retake",
            "s1.retake",
            "s2.retake",
        ]
    healthy = runner.run(
        paths, runner.ReplayConfig(agent="tests.support.agents:answers"), workers=2
    )
    assert [s.answer for s in healthy.sessions] == ["answer to refund A-1"] * 3


def test_in_one_process_a_release_cannot_swallow_its_timeout_or_end_the_run(
    tmp_path: Path,
) -> None:
    paths = [_tiny_cassette(tmp_path, f"s{i}") for i in range(2)]
    for agent, status, error in (
        ("tests.support.agents:swallows", "timeout", "ran longer than 0.5 s"),
        ("tests.support.agents:exits", "raised", "sys.exit(3)"),
    ):
        run = runner.run(paths, runner.ReplayConfig(agent=agent, timeout=0.5))
        assert [s.status for s in run.sessions] == [status] * 2, run.sessions
        assert all(s.error is not None and error in s.error for s in run.sessions)


def test_a_run_frees_what_its_sessions_leave_in_cycles_and_leaves_the_collector_as_it_was(
    tmp_path: Path,
) -> None:
    paths = [_tiny_cassette(tmp_path, f"s{i}") for i in range(4)]
    config = runner.ReplayConfig(agent="tests.support.agents:leaves_cycles")
    LEFT_IN_CYCLES.clear()
    gc.collect()
    freed_during_the_run = []

    def after_each(_: runner.SessionReplay) -> None:
        gc.collect()  # what a collection falling due would do
        freed_during_the_run.append(LEFT_IN_CYCLES[-1]() is None)

    run = runner.run(paths, config, on_result=after_each)
    assert [s.status for s in run.sessions] == ["completed"] * 4
    # The first session's leftovers may wait for the run's end (they are set aside with the
    # agent's imports); every later session's are freed as it ends.
    assert freed_during_the_run[1:] == [True] * 3
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert [ref() for ref in LEFT_IN_CYCLES] == [None] * 4

    def fails(_: runner.SessionReplay) -> None:
        raise RuntimeError("the caller's callback failed")

    with pytest.raises(RuntimeError):
        runner.run(paths, config, on_result=fails)
    assert gc.get_freeze_count() == 0
    # A program that froze objects itself keeps them frozen: uncollected.
    kept = weakref.ref(Cycle())
    gc.freeze()
    try:
        runner.run(paths, config)
        gc.collect()
        assert kept() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert kept() is None


def test_workers_forked_from_a_single_threaded_parent_recover_the_same_way(
    tmp_path: Path,
) -> None:
    paths = [str(_tiny_cassette(tmp_path, f"s{i}")) for i in range(3)]
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.pool_run", *paths],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["threads_before"] == 1
    assert result["runs"] == {
        "hangs": [["timeout", None]] * 3,
        "dies": [["crashed", None]] * 3,
        "answers": [["completed", "answer to refund A-1"]] * 3,
    }


def _replay_command(*options: str) -> subprocess.CompletedProcess[str]:
    """``retake replay`` of one bundled cassette with ``options``, in a fresh process."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "retake.cli",
            "replay",
            str(BUNDLED / "refund-above-limit-denied.retake"),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_agent_whose_import_fails_is_one_clear_error(workers: str) -> None:
    done = _replay_command(
        "--agent", "tests.support.agent_that_cannot_import:run", "--workers", workers
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert "RuntimeError: AGENT_CONFIG is not set" in " ".join(output.split())


def test_an_invalid_cassette_is_a_result_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "bad.retake"
    bad.write_bytes(b"not a cassette")
    run = runner.run([bad], runner.ReplayConfig(agent="tests.support.agents:answers"))
    (only,) = run.sessions
    assert (
        only.status == "invalid"
        and only.error is not None
        and "not a retake cassette" in only.error
    )


def test_the_replay_command_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "candidates"
    key = tmp_path / "replay.key"
    key.write_text("replay-candidates-key-0123456789")
    done = _replay_command(
        "--agent", RELEASE_2, "--model", "scripted", "--out", str(out), "--key-file", str(key)
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "issue_refund had no recorded answer" in done.stdout
    (candidate,) = out.glob("*.retake")
    written = store.load(candidate)
    models = [e for e in written.events if isinstance(e, ModelEvent) and e.http is not None]
    assert models
    # The candidate is redacted like a recording: the release's own credential is not kept.
    for event in models:
        assert event.http is not None
        assert event.http.request_headers["authorization"].startswith("<REDACTED:authorization:")
    assert b"demo-model-server" not in candidate.read_bytes()
    fingerprint = redact.RedactionKey.from_file(key).fingerprint
    assert written.header.redaction.key_fingerprint == fingerprint
    assert redact.scan_cassette(written) == []


def test_the_replay_command_chooses_the_matchers_and_the_unmatched_answer(
    tmp_path: Path,
) -> None:
    done = _replay_command(
        "--agent", RELEASE_2, "--model", "scripted", "--out", str(tmp_path),
        "--matchers", "exact", "--unmatched", "empty", "--json",
    )  # fmt: skip
    result = json.loads(done.stdout.splitlines()[-1])
    assert [u["tool"] for u in result["unmatched"]] == ["issue_refund"]
    (candidate,) = tmp_path.glob("*.retake")
    refunds = [
        e
        for e in store.load(candidate).events
        if isinstance(e, ToolResultEvent) and e.tool == "issue_refund"
    ]
    assert refunds and all(e.failure is None and e.output is None for e in refunds)
    wrong = _replay_command("--agent", RELEASE_2, "--matchers", "exact,closest")
    assert wrong.returncode == 2 and "closest" in wrong.stderr


def test_a_key_file_that_cannot_be_read_is_one_clear_error(tmp_path: Path) -> None:
    done = _replay_command(
        "--agent", RELEASE_1, "--out", str(tmp_path), "--key-file", str(tmp_path / "missing")
    )
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr and "missing" in done.stderr
    assert not list(tmp_path.glob("*.retake"))


def test_the_replay_command_replays_a_suite_folder_without_its_crosswalk() -> None:
    # A suite folder holds its crosswalk beside the scenarios; the crosswalk is not one.
    suite = Path(__file__).resolve().parents[2] / "scenarios"
    assert (suite / "crosswalk.yaml").is_file()
    done = subprocess.run(
        [sys.executable, "-m", "retake.cli", "replay", str(suite), "--agent", RELEASE_1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "crosswalk" not in done.stderr
    assert "sessions:" in done.stdout and "completed" in done.stdout
