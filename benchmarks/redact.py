"""Redaction throughput on mixed tool-calling JSON, against a naive loop in the same run.

Input: the realdata vcrpy cassettes and tau-bench trajectories (copied under
tests/fixtures/redact/realdata). Each document gets a fresh redactor, so no token cache is
shared between documents. The naive loop walks the same values and runs every built-in
detector's regex over every string, with no gate and no cache.

A second figure replays each tau-bench trajectory the way a recorder sees it: one model
request per assistant turn, each resending the conversation so far, through one redactor
per session (its cache then pays off). It is labelled as such; the first figure is the
headline. Each line also gives the fastest and slowest run: the first run of a process
compiles the detectors for Hyperscan (once), and the machine may be shared.

    python benchmarks/redact.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from retake.redact import BUILTIN_DETECTORS, RedactionKey, Redactor  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "redact" / "realdata"


def load_corpus() -> list[Any]:
    docs: list[Any] = []
    for path in sorted(FIXTURES.rglob("*.json")):
        docs.append(json.loads(path.read_text()))
    for path in sorted(FIXTURES.rglob("*.yaml")):
        docs.append(yaml.safe_load(path.read_text()))
    return docs


def size_of(doc: Any) -> int:
    return len(json.dumps(doc, default=lambda b: b.decode("latin-1")).encode())


def naive(value: Any) -> Any:
    """Every detector regex over every string, one after the other."""
    if isinstance(value, str):
        for det in BUILTIN_DETECTORS:

            def sub(m: Any, det: Any = det) -> str:
                found = m.group(det.group)
                if det.validate is not None and not det.validate(
                    found, m.string, m.start(det.group), m.end(det.group)
                ):
                    return str(m.group(0))
                return f"<REDACTED:{det.name}:00000000>"

            value = det.pattern.sub(sub, value)
        return value
    if isinstance(value, dict):
        return {k: naive(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [naive(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    docs = load_corpus()
    total = sum(size_of(d) for d in docs)
    key = RedactionKey(b"benchmark-key-0123456789abcdef", "given")

    def run_retake() -> None:
        for doc in docs:
            Redactor(key=key).redact(doc)

    def run_naive() -> None:
        for doc in docs:
            naive(doc)

    sessions = [session_stream(d) for d in docs if isinstance(d, dict) and "traj" in d]
    stream_total = sum(size_of(r) for s in sessions for r in s)

    def run_stream() -> None:
        for session in sessions:
            r = Redactor(key=key)
            for request in session:
                r.redact(request)

    def run_stream_naive() -> None:
        for session in sessions:
            for request in session:
                naive(request)

    report("documents", len(docs), total, args.repeat, run_retake, run_naive)
    report(
        "session stream",
        sum(map(len, sessions)),
        stream_total,
        args.repeat,
        run_stream,
        run_stream_naive,
    )


def session_stream(doc: dict[str, Any]) -> list[Any]:
    """The model requests a recorder would see for one trajectory."""
    traj = doc["traj"]
    return [{"messages": traj[:i]} for i, m in enumerate(traj) if m.get("role") == "assistant"]


def report(label: str, n: int, size: int, repeat: int, fast: Any, slow: Any) -> None:
    times: dict[str, list[float]] = {"retake": [], "naive": []}
    for _ in range(repeat):
        for name, fn in (("retake", fast), ("naive", slow)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    mb = size / 1e6
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{label}: {n} values, {mb:.2f} MB of JSON, median of {repeat}")
    for name in ("retake", "naive"):
        lo, hi = min(times[name]), max(times[name])
        print(
            f"  {name:7s} {med[name] * 1000:8.1f} ms  {mb / med[name]:7.1f} MB/s"
            f"   (runs {lo * 1000:.1f}-{hi * 1000:.1f} ms)"
        )
    print(f"  retake is {med['naive'] / med['retake']:.1f}x faster than the naive loop")


if __name__ == "__main__":
    main()
