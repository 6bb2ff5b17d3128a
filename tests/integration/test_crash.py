"""Crash safety: a recording killed with SIGKILL at any point loads up to its last flush, and
``retake repair`` finalises it into a cassette that loads strictly with the same events."""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from retake.store import inspect, load

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
TRIALS = 50
STEPS = 30  # ~125 events

CHILD = """
import importlib.util, sys
from pathlib import Path
from retake.store import CassetteWriter

spec = importlib.util.spec_from_file_location("bench_sessions", sys.argv[1])
sessions = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sessions)
session = sessions.session(int(sys.argv[3]), seed=int(sys.argv[4]))
writer = CassetteWriter(Path(sys.argv[2]), session.header)
writer.flush()
print(0, flush=True)
for count, event in enumerate(session.events, 1):
    writer.append(event)
    writer.flush()
    print(count, flush=True)
sys.stdin.read()  # wait to be killed
"""


def retake_script() -> str:
    beside = Path(sys.executable).with_name("retake")
    found = str(beside) if beside.exists() else shutil.which("retake")
    assert found, "the retake console script is not installed"
    return found


@pytest.fixture(scope="module")
def sessions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_sessions", BENCHMARKS / "sessions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record_and_kill(script: Path, path: Path, seed: int, kill_after: int, linger: float) -> int:
    """Run a recording, SIGKILL it once it reported ``kill_after`` flushes; return the last
    count it reported."""
    child = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(BENCHMARKS / "sessions.py"),
            str(path),
            str(STEPS),
            str(seed),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    reported = -1
    try:
        for line in child.stdout:
            reported = int(line)
            if reported >= kill_after:
                break
        time.sleep(linger)  # let it get some way into the next writes
        os.kill(child.pid, signal.SIGKILL)
    finally:
        out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    for line in out.split():
        reported = max(reported, int(line))
    return reported


def test_sigkill_at_random_points_leaves_repairable_recordings(
    tmp_path: Path, sessions: ModuleType
) -> None:
    script = tmp_path / "record.py"
    script.write_text(CHILD)
    rng = random.Random(20261127)
    expected = sessions.session(STEPS, seed=0)
    total = len(expected.events)
    partials: dict[Path, int] = {}
    for trial in range(TRIALS):
        path = tmp_path / f"trial-{trial:02d}.retake"
        kill_after = rng.randrange(total + 1)
        linger = rng.choice([0.0, 0.0, rng.uniform(0, 0.004)])
        partials[path.with_name(path.name + ".partial")] = _record_and_kill(
            script, path, 0, kill_after, linger
        )

    loaded_before = {}
    for partial, flushed in partials.items():
        assert partial.exists(), f"{partial.name}: nothing on disk"
        assert not inspect(partial).complete
        cassette = load(partial, allow_truncated=True)
        assert cassette.truncated
        assert len(cassette.events) >= flushed, f"{partial.name} lost flushed events"
        assert cassette.header == expected.header
        assert cassette.events == expected.events[: len(cassette.events)]
        loaded_before[partial] = cassette.events

    run = subprocess.run(
        [retake_script(), "repair", *map(str, partials)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.count("repaired") == TRIALS

    for partial, events in loaded_before.items():
        final = partial.with_name(partial.name.removesuffix(".partial"))
        assert not partial.exists()
        repaired = load(final)
        assert not repaired.truncated
        assert repaired.events == events
        assert inspect(final).repaired
