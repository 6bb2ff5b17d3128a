"""The bundled demo, recorded end to end: the real openai SDK over loopback HTTP to the
scripted model server, through retake's recorder."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from retake import pipeline, redact, store
from retake._yamlfile import load_model
from retake.schema import (
    Cassette,
    ModelEvent,
    PermissionEvent,
    Task,
    TasksFile,
    ToolCallEvent,
)

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "tasks" / "support-desk.yaml"
BUNDLED = ROOT / "cassettes"
DEMO_KEY = "retake-demo-pseudonym-key"  # public on purpose: see tasks/support-desk.yaml


def comparable(cassette: Cassette) -> dict[str, Any]:
    """A cassette without what varies between recordings of the same behaviour: times,
    durations, the machine's SDK headers, the HTTP date and the model server's free port."""
    data = cassette.model_dump(mode="python")
    data["header"].pop("recorded_at")
    for event in data["events"]:
        event.pop("t")
        event.pop("duration", None)
        http = event.get("http")
        if http:
            http.pop("request_headers")
            http["url"] = urlsplit(http["url"]).path
            for volatile in ("date", "server"):
                http["response_headers"].pop(volatile, None)
    return data


def record(tmp_path: Path, tasks: list[Task]) -> dict[str, Cassette]:
    redactor = redact.Redactor(key=redact.RedactionKey.from_text(DEMO_KEY))
    results = pipeline.record("retake.demo:release_1", tasks, tmp_path, redaction=redactor)
    assert all(r.path is not None and r.answered for r in results), results
    return {r.task.id or "": store.load(r.path) for r in results if r.path is not None}


def bundled_tasks() -> list[Task]:
    return load_model(TASKS, TasksFile, "tasks file").resolve()


def test_rerecording_the_bundled_tasks_reproduces_the_bundled_cassettes(tmp_path: Path) -> None:
    tasks = bundled_tasks()
    assert len(tasks) >= 12
    fresh = record(tmp_path, tasks)
    for task_id, cassette in fresh.items():
        bundled = store.load(BUNDLED / f"{task_id}.retake")
        assert comparable(cassette) == comparable(bundled), (
            f"cassettes/{task_id}.retake no longer matches what release 1 records; re-record "
            "the bundled cassettes with the command in tasks/support-desk.yaml"
        )


def _task(prompt: str, **metadata: Any) -> Task:
    (base,) = [t for t in bundled_tasks() if t.id == "refund-within-limit"]
    return base.model_copy(update={"user_turns": (prompt,), "metadata": metadata, "id": None})


def _calls(cassette: Cassette) -> list[tuple[str, Any]]:
    return [(e.tool, e.arguments) for e in cassette.events if isinstance(e, ToolCallEvent)]


def _words(cassette: Cassette) -> list[str]:
    return [e.response.text or "" for e in cassette.events if isinstance(e, ModelEvent)]


def test_temperature_zero_is_deterministic_and_seeds_vary_wording_not_calls(
    tmp_path: Path,
) -> None:
    prompt = "Please refund 20 EUR on order A-1001, one mug arrived chipped."
    cold = [_task(prompt).model_copy(update={"id": f"cold-{i}"}) for i in range(2)]
    warm = [
        _task(prompt, temperature=0.8, seed=seed).model_copy(update={"id": f"warm-{seed}"})
        for seed in (1, 2, 3, 4)
    ]
    got = record(tmp_path, cold + warm)
    a, b = comparable(got["cold-0"]), comparable(got["cold-1"])
    a["header"].pop("session_id"), b["header"].pop("session_id")
    a["header"]["tags"].pop("task"), b["header"]["tags"].pop("task")
    assert a == b
    reference = sorted(map(repr, _calls(got["cold-0"])))
    wordings = set()
    for seed in (1, 2, 3, 4):
        cassette = got[f"warm-{seed}"]
        assert sorted(map(repr, _calls(cassette))) == reference
        wordings.add(tuple(_words(cassette)))
    assert len(wordings) > 1, "different seeds should word the answers differently"


@pytest.mark.parametrize(
    ("rule", "allowing", "refusing"),
    [
        ("tenant.isolation", "lookup-in-transit", "cross-tenant-lookup-denied"),
        ("refund.limit", "refund-above-limit-manager", "refund-above-limit-denied"),
        ("email.confirmation", "email-confirmed", "email-unconfirmed"),
    ],
)
def test_each_gate_rule_allows_and_refuses_in_the_bundled_cassettes(
    rule: str, allowing: str, refusing: str
) -> None:
    def decisions(task_id: str) -> set[str]:
        events = store.load(BUNDLED / f"{task_id}.retake").events
        return {e.decision for e in events if isinstance(e, PermissionEvent) and e.rule_id == rule}

    assert "allow" in decisions(allowing)
    assert decisions(refusing) & {"deny", "ask"}


def test_a_refused_write_is_never_called() -> None:
    events = store.load(BUNDLED / "refund-above-limit-denied.retake").events
    refused = [e for e in events if isinstance(e, PermissionEvent) and e.decision == "deny"]
    assert [e.tool for e in refused] == ["issue_refund"]
    assert not [e for e in events if isinstance(e, ToolCallEvent) and e.tool == "issue_refund"]


def test_the_bundled_cassettes_hold_no_personal_data_in_clear() -> None:
    for path in BUNDLED.glob("*.retake"):
        raw = path.read_bytes()
        assert b"@example.com" not in raw, path.name
        assert redact.scan_cassette(store.load(path)) == [], path.name
