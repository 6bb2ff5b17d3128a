"""Divergence engine speed on long traces, against DeepDiff measured in the same run.

    python benchmarks/diff.py [--steps 2000] [--repeats 7]

Prints (medians):
- ``retake.diff.diff`` of two identical 2,000-step traces (target <= 20 ms);
- the same with 5% of the tool calls' arguments perturbed (target <= 200 ms), with the count
  of divergences it found;
- a trace that did not diverge but was run again: times, durations and call ids differ, as in
  a replay of the same release;
- a plain ``==`` over the identical traces' events as dicts (the floor of any comparison);
- one DeepDiff over the two whole perturbed traces (their events as dicts; the ratio must
  stay above 1x).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deepdiff import DeepDiff

from retake.diff import diff
from retake.schema import Cassette, PermissionEvent, ToolCallEvent, ToolResultEvent
from sessions import session


def perturbed(cassette: Cassette, share: float, seed: int) -> tuple[Cassette, int]:
    """A copy with ``share`` of the tool calls' arguments changed."""
    rng = random.Random(seed)
    events = list(cassette.events)
    calls = [i for i, e in enumerate(events) if isinstance(e, ToolCallEvent)]
    chosen = rng.sample(calls, round(len(calls) * share))
    for i in chosen:
        event = events[i]
        assert isinstance(event, ToolCallEvent)
        arguments: dict[str, Any] = dict(event.arguments)
        key = next(iter(arguments))
        arguments[key] = f"{arguments[key]}-changed"
        events[i] = event.model_copy(update={"arguments": arguments})
    return cassette.model_copy(update={"events": tuple(events)}), len(chosen)


def rerun(cassette: Cassette) -> Cassette:
    """The same behaviour run again: every time, duration and call id differs."""
    ids: dict[str, str] = {}

    def minted(old: str) -> str:
        return ids.setdefault(old, f"call_rerun_{len(ids):05d}")

    events = []
    for event in cassette.events:
        update: dict[str, Any] = {"t": event.t + 0.25}
        if isinstance(event, ToolCallEvent | PermissionEvent | ToolResultEvent):
            update["call_id"] = minted(event.call_id) if event.call_id else None
        if isinstance(event, ToolResultEvent):
            update["duration"] = event.duration * 1.5
        events.append(event.model_copy(update=update))
    return cassette.model_copy(update={"events": tuple(events)})


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    recorded = session(args.steps, seed=7)
    same = session(args.steps, seed=7)
    candidate, changed = perturbed(recorded, 0.05, seed=1)
    events = len(recorded.events)

    report = diff(recorded, candidate)
    divergent_ms = median_ms(lambda: diff(recorded, candidate), args.repeats)
    left = [e.model_dump() for e in recorded.events]
    right = [e.model_dump() for e in candidate.events]
    deep_ms = median_ms(lambda: DeepDiff(left, right), 1)  # ~40 s: once is enough
    twin = [e.model_dump() for e in same.events]
    again = rerun(same)
    # Interleaved, so all three see the same load on a shared machine.
    identical, plain, rerun_times = [], [], []
    for _ in range(args.repeats):
        identical.append(median_ms(lambda: diff(recorded, same), 1))
        rerun_times.append(median_ms(lambda: diff(recorded, again), 1))
        plain.append(median_ms(lambda: left == twin, 1))
    identical_ms, plain_ms = statistics.median(identical), statistics.median(plain)
    rerun_ms = statistics.median(rerun_times)

    assert not diff(recorded, same).divergences
    assert not diff(recorded, again).divergences
    found = len(report.of_kind("arguments_changed"))
    print(f"{args.steps}-step traces ({events} events), medians of {args.repeats}")
    print(f"  identical traces:            {identical_ms:8.1f} ms   (target <= 20 ms)")
    print(
        f"  run again, no divergence:    {rerun_ms:8.1f} ms   (times, durations and call ids"
        f" differ; {rerun_ms / identical_ms:.2f}x the identical traces)"
    )
    print(
        f"  5% divergent ({changed} calls):   {divergent_ms:8.1f} ms   (target <= 200 ms); "
        f"{found} arguments_changed found"
    )
    print(
        f"  plain == of the identical traces' event dicts: {plain_ms:.1f} ms"
        f"   -> retake.diff takes {identical_ms / plain_ms:.2f}x a bare equality check"
    )
    print(f"  one DeepDiff, whole traces:  {deep_ms:8.1f} ms")
    print(f"  retake.diff vs DeepDiff:     {deep_ms / divergent_ms:8.1f}x faster (target > 1x)")


if __name__ == "__main__":
    main()
