"""Runs the worker pool from a fresh, single-threaded process, as ``retake replay --workers``
does: workers fork from it directly, and a replacement for a dead one comes from the fork
server (the parent has queue threads by then). Prints each run's statuses as JSON."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from retake import runner


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]]
    threads_before = threading.active_count()
    runs = {}
    for agent in ("hangs", "dies", "answers"):
        config = runner.ReplayConfig(agent=f"tests.support.agents:{agent}", timeout=0.5)
        run = runner.run(paths, config, workers=2)
        runs[agent] = [[s.status, s.answer] for s in run.sessions]
    print(json.dumps({"threads_before": threads_before, "runs": runs}))


if __name__ == "__main__":
    main()
