"""Import throughput: MB/s of source JSON/YAML turned into cassettes, per format, with the
baseline of merely decoding the same bytes (json.loads / yaml.safe_load) measured in the run.

    python benchmarks/import.py [--repeats 5]

Sources are the test fixtures: 48 tau-bench trajectories, 11 vcrpy cassettes, and OTLP JSON
traces exported from the imported tau-bench cassettes. Import here is read + detect + build
events (no redaction, no disk writes); ``--pipeline`` also times redact + store.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml

from retake import importers, pipeline, redact
from retake.capture._providers import parse_exchange

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures"


def _best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _decode(paths: list[Path]) -> None:
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".yaml":
            yaml.safe_load(text)
        else:
            for line in text.splitlines() if path.suffix == ".jsonl" else [text]:
                json.loads(line)


def _import(paths: list[Path]) -> None:
    for path in paths:
        importers.import_file(path, parse_exchange=parse_exchange)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pipeline", action="store_true", help="also time redact + store")
    args = parser.parse_args()
    tau = sorted((FIXTURES / "tau-bench").glob("*.json"))
    vcr = sorted((FIXTURES / "realdata").rglob("*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        otel = []
        for path in tau:
            [cassette] = importers.import_file(path).cassettes
            target = Path(tmp) / f"{path.stem}.jsonl"
            target.write_text(json.dumps(importers.to_otel(cassette)) + "\n", encoding="utf-8")
            otel.append(target)
        print(
            f"{'format':<10} {'files':>5} {'MB':>7} {'import MB/s':>12} {'decode MB/s':>12} ratio"
        )
        for name, paths in (("tau-bench", tau), ("vcr", vcr), ("otel", otel)):
            size = sum(p.stat().st_size for p in paths) / 1e6
            took = _best(lambda paths=paths: _import(paths), args.repeats)
            base = _best(lambda paths=paths: _decode(paths), args.repeats)
            print(
                f"{name:<10} {len(paths):>5} {size:>7.2f} {size / took:>12.1f} "
                f"{size / base:>12.1f} {took / base:>5.1f}x"
            )
        if args.pipeline:
            key = redact.RedactionKey.from_text("benchmark key, not a secret")
            size = sum(p.stat().st_size for p in tau) / 1e6
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                pipeline.import_paths(
                    tau, Path(tmp) / "out", redaction=redact.Redactor(key=key), overwrite=True
                )
            took = time.perf_counter() - start
            print(f"pipeline (read+redact+store), tau-bench: {size / took:.1f} MB/s")


if __name__ == "__main__":
    main()
