"""Replay throughput and memory, as ratios against baselines measured in the same run.

    python benchmarks/replay.py [--rounds 20]

Prints:
- sessions/s replaying the bundled cassettes against the demo's release 1 with the recorded
  model in one process (target >= 200), against the same agent running the same tasks with no
  retake at all: talking to its scripted model over loopback; with that model answering
  inside the process through an httpx transport; and given the recorded response bytes in
  turn by an httpx transport, with no model at all (the agent's own cost, the SDK's included:
  the floor of any replay; what is left of a replay's time is retake's). With no retake,
  a task's later user turns are not given, so the two sessions that ask the user something
  end at the question: the agent alone does a little less than a replay;
- two worker processes vs one process on the same sessions (target >= 1.6x), each run in a
  fresh process as ``retake replay --workers N`` runs it, the workers' start-up included;
- peak RSS replaying 2,000 cassettes (copies in a temporary folder) vs 20 (target <= 1.5x).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "cassettes"
AGENT = "retake.demo:release_1"

_PEAK = """
import json, resource, sys
from retake import runner
run = runner.run([sys.argv[1]], runner.ReplayConfig(agent=sys.argv[2]))
assert all(s.status == "completed" for s in run.sessions), run.sessions[:3]
print(json.dumps({"sessions": len(run.sessions),
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


_WORKERS = """
import json, sys, time
from retake import runner
stamps = []
start = time.perf_counter()
run = runner.run([sys.argv[1]], runner.ReplayConfig(agent=sys.argv[2]), workers=int(sys.argv[3]),
                 on_result=lambda _: stamps.append(time.perf_counter() - start))
wall = time.perf_counter() - start
assert all(s.status == "completed" for s in run.sessions), run.sessions[:3]
print(json.dumps({"sessions": len(run.sessions), "wall": wall,
                  "steady": (len(stamps) - 1) / (stamps[-1] - stamps[0])}))
"""


def workers_run(folder: Path, workers: int) -> dict[str, float]:
    """One ``runner.run`` in a fresh process, as ``retake replay --workers N`` runs it; the
    time is from the call to the last result (the imports, the same for both, come before)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WORKERS, str(folder), AGENT, str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    data["process"] = time.perf_counter() - started
    return data


def copies(target: Path, n: int) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(BUNDLED.glob("*.retake"))
    for i in range(n):
        src = sources[i % len(sources)]
        shutil.copyfile(src, target / f"{i:05d}-{src.name}")
    return target


def peak(folder: Path) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(folder), AGENT],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return data["sessions"], data["peak_kib"]


def in_process_model() -> Any:
    """An openai client whose requests the demo's scripted model answers in this process."""
    import httpx2
    import openai

    from retake.demo._policy import complete

    class Answer(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            body = json.dumps(complete(json.loads(request.read()))).encode()
            return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)

    return openai.OpenAI(
        api_key="in-process",
        base_url="http://in-process.invalid/v1",
        http_client=httpx2.Client(transport=Answer()),
        max_retries=0,
    )


def recorded_answers(bodies: list[bytes]) -> Any:
    """An openai client whose requests get ``bodies`` in turn, as they were recorded: the
    agent's own cost with no model at all and no retake (the floor of a replay)."""
    import httpx2
    import openai

    class Recorded(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            request.read()
            headers = {"content-type": "application/json"}
            return httpx2.Response(200, headers=headers, content=bodies.pop(0))

    return openai.OpenAI(
        api_key="in-process",
        base_url="http://in-process.invalid/v1",
        http_client=httpx2.Client(transport=Recorded()),
        max_retries=0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the bundled set")
    parser.add_argument("--sessions", type=int, default=2000, help="sessions for the 1 vs 2 run")
    parser.add_argument("--pairs", type=int, default=3, help="1 vs 2 runs, interleaved")
    args = parser.parse_args()

    from retake import runner, store
    from retake.demo import _agent, release_1, shared_url
    from retake.schema import ModelEvent

    paths = sorted(BUNDLED.glob("*.retake"))
    config = runner.ReplayConfig(agent=AGENT)
    recordings = [store.load(p) for p in paths]
    tasks = [runner.task_of(c) for c in recordings]
    answers = [
        [e.http.response_body for e in c.events if isinstance(e, ModelEvent) and e.http]
        for c in recordings
    ]
    pending: list[bytes] = []
    runner.run(paths, config)  # warm up: imports, the model server, the SDK client
    url = shared_url()
    clients = {
        "loopback": _agent._clients[url],
        "in process": in_process_model(),
        "recorded bytes": recorded_answers(pending),
    }

    def replay() -> None:
        run = runner.run(paths, config)
        assert all(s.status == "completed" for s in run.sessions)

    def alone(client: str) -> Callable[[], None]:
        def serve() -> None:
            _agent._clients[url] = clients[client]  # the agent's one client, swapped
            try:
                for task, recorded in zip(tasks, answers, strict=True):
                    pending[:] = recorded
                    release_1(task)
            finally:
                _agent._clients[url] = clients["loopback"]

        return serve

    passes = {
        "replay": replay,
        "loopback": alone("loopback"),
        "in process": alone("in process"),
        "recorded bytes": alone("recorded bytes"),
    }
    for serve in passes.values():
        serve()  # warm up
    seconds = dict.fromkeys(passes, 0.0)
    for _ in range(args.rounds):  # in turn, so a burst of load slows all three alike
        for name, serve in passes.items():
            start = time.perf_counter()
            serve()
            seconds[name] += time.perf_counter() - start
    rate = {name: args.rounds * len(paths) / s for name, s in seconds.items()}
    one, own, floor = rate["replay"], rate["in process"], rate["recorded bytes"]

    print(f"replay, recorded model, one process: {one:7.1f} sessions/s (target >= 200)")
    print(
        f"the agent alone, no retake, scripted model on loopback: {rate['loopback']:7.1f}"
        f" sessions/s   -> replay runs at {one / rate['loopback']:.2f}x that speed"
    )
    print(
        f"the agent alone, no retake, scripted model in process:  {own:7.1f} sessions/s"
        f"   -> replay runs at {one / own:.2f}x the agent's own speed; retake takes"
        f" {1000 / one - 1000 / own:.2f} ms of a session's {1000 / one:.2f} ms"
    )
    print(
        f"the agent alone, answered the recorded bytes in process, no model, no retake:"
        f" {floor:7.1f} sessions/s (the floor of any replay)   -> retake takes"
        f" {1000 / one - 1000 / floor:.2f} ms a session; 200 sessions/s would leave it"
        f" {1000 / 200 - 1000 / floor:.2f} ms"
    )

    with tempfile.TemporaryDirectory() as tmp:
        n = args.sessions
        many = copies(Path(tmp) / "many", n)
        # Interleaved, so both counts see the same load on a shared machine.
        trials: dict[int, list[dict[str, float]]] = {1: [], 2: []}
        for _ in range(args.pairs):
            for workers in (1, 2):
                trials[workers].append(workers_run(many, workers))
        med = {
            w: {k: statistics.median(t[k] for t in trials[w]) for k in trials[w][0]} for w in trials
        }
        print(
            f"{n} sessions, fresh process each, medians of {args.pairs}: 1 process"
            f" {med[1]['wall']:.2f} s, 2 worker processes {med[2]['wall']:.2f} s"
            f"   -> {med[1]['wall'] / med[2]['wall']:.2f}x (target >= 1.6x; worker start-up"
            " included)"
        )
        print(
            f"  with the imports too: {med[1]['process']:.2f} s vs {med[2]['process']:.2f} s"
            f"   -> {med[1]['process'] / med[2]['process']:.2f}x;"
            f" once running: {med[1]['steady']:.0f} vs {med[2]['steady']:.0f} sessions/s"
            f"   -> {med[2]['steady'] / med[1]['steady']:.2f}x"
        )

        small, small_peak = peak(copies(Path(tmp) / "small", 20))
        large, large_peak = peak(copies(Path(tmp) / "large", 2000))
        print(
            f"peak RSS: {small} sessions {small_peak / 1024:.0f} MiB, {large} sessions "
            f"{large_peak / 1024:.0f} MiB   -> {large_peak / small_peak:.2f}x (target <= 1.5x)"
        )


if __name__ == "__main__":
    main()
