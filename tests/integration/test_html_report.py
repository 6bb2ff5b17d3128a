"""The HTML view of the evidence bundle, opened in a real headless Chromium from a file:// URL.

Chromium is Debian's ``chromium`` package; ``.ci/run`` installs it when it is missing. Without
it these tests fail (they never skip), saying how to install it.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from retake.report import render_html
from retake.schema import ControlEvidence, EvidenceBundle, Step

REPO = Path(__file__).parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "evidence" / "release-2.json"
ARTIFACTS = REPO / "test-artifacts"
FAILING_SCENARIO = "scenarios/refund-above-limit.yaml"

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(
            "chromium is not installed (looked on PATH and at /usr/bin/chromium): the HTML "
            "report is checked in a real browser. Install it with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this in CI)."
        )
    return path


def _open(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Load ``page`` in headless Chromium with a throwaway profile; no network is involved."""
    return subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _console_faults(stderr: str) -> list[str]:
    """The lines where the page wrote to its console or threw.

    This Chromium logs every console message, ``console.error`` included, as
    ``[...:INFO:CONSOLE:1] "message", source: URL (line)``: the log level is always INFO, so
    filtering on an error level would find nothing. Uncaught exceptions and Content-Security-
    Policy violations (any attempt to load something) are logged the same way. The report
    page never logs, so any console line is a fault.
    """
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


class _Elements(HTMLParser):
    """Each element that has an id: its attributes and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, dict[str, str]] = {}
        self.text: dict[str, str] = {}
        self._open: list[tuple[str, str, int]] = []  # (id, tag, depth of that tag)
        self._depth: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._depth[tag] = self._depth.get(tag, 0) + 1
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.attrs[values["id"]] = values
            self.text[values["id"]] = ""
            self._open.append((values["id"], tag, self._depth[tag]))

    def handle_endtag(self, tag: str) -> None:
        self._open = [o for o in self._open if not (o[1] == tag and o[2] == self._depth[tag])]
        self._depth[tag] = self._depth.get(tag, 0) - 1

    def handle_data(self, data: str) -> None:
        for element_id, _, _ in self._open:
            self.text[element_id] += data


def _elements(dom: str) -> _Elements:
    parser = _Elements()
    parser.feed(dom)
    return parser


def _bundle() -> EvidenceBundle:
    return EvidenceBundle.model_validate_json(FIXTURE.read_text(encoding="utf-8"))


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_the_console_check_catches_a_broken_page(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><p>broken</p><script>console.error('boom'); undefinedFn()</script>",
        encoding="utf-8",
    )
    faults = _console_faults(_open(page, tmp_path / "profile", "--dump-dom").stderr)
    assert any("Uncaught ReferenceError: undefinedFn is not defined" in f for f in faults)
    assert any('"boom"' in f for f in faults)


def test_the_report_loads_cleanly_and_shows_the_divergent_step(tmp_path: Path) -> None:
    bundle = _bundle()
    index = [s.scenario for s in bundle.scenarios].index(FAILING_SCENARIO)
    trial = bundle.scenarios[index].trials[0]
    (rejected,) = [d for d in trial.divergences if d.kind == "called_then_rejected"]
    page = tmp_path / "report.html"
    page.write_text(render_html(bundle), encoding="utf-8")

    loaded = _open(page, tmp_path / "profile", "--dump-dom")
    assert loaded.returncode == 0, loaded.stderr
    assert _console_faults(loaded.stderr) == []
    elements = _elements(loaded.stdout)
    row_id = f"s{index}-c{rejected.candidate}"
    assert row_id in elements.attrs, f"no row {row_id!r} in the rendered page"
    assert "divergent" in elements.attrs[row_id]["class"].split()
    assert "issue_refund" in elements.text[row_id]
    assert "called_then_rejected" in elements.text[row_id]
    assert "open" in elements.attrs[f"s{index}"], "a failing scenario starts expanded"
    assert "refuse_before_call" in elements.text[f"s{index}"], "the failed verdict is shown"
    # The inline script ran (the page's Content-Security-Policy allowed it by its hash).
    assert "hidden" not in elements.attrs["toolbar"]

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "html-report-release-2.png"
    shot.unlink(missing_ok=True)
    taken = _open(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert taken.returncode == 0, taken.stderr
    assert _console_faults(taken.stderr) == []
    assert shot.is_file(), f"chromium wrote no screenshot at {shot}"
    png = shot.read_bytes()
    assert _png_size(png) == (1280, 2000)
    # A blank 1280x2000 page compresses to a few kilobytes; the report is far busier.
    assert len(png) > 50_000, f"the screenshot looks empty ({len(png)} bytes)"


def test_recorded_data_is_shown_as_text_never_run(tmp_path: Path) -> None:
    bundle = _bundle()
    hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    scenario = bundle.scenarios[0]
    trial = scenario.trials[0]
    step = Step(seq=99, kind="tool_result", tool="lookup_order", detail=hostile, status="ok")
    trial = trial.model_copy(update={"candidate": (*trial.candidate, step), "answer": hostile})
    scenario = scenario.model_copy(update={"trials": (trial,), "description": hostile})
    orphan = ControlEvidence(id="data-retention", status="without evidence", statement=hostile)
    bundle = bundle.model_copy(
        update={"scenarios": (scenario,), "controls": (*bundle.controls, orphan)}
    )
    page = tmp_path / "hostile.html"
    page.write_text(render_html(bundle), encoding="utf-8")

    loaded = _open(page, tmp_path / "profile", "--dump-dom")
    assert _console_faults(loaded.stderr) == []
    elements = _elements(loaded.stdout)
    assert hostile in elements.text["s0-c99"]
    assert "<img src=x" not in loaded.stdout
    # A control no scenario names is shown, with its status.
    assert "data-retention" in loaded.stdout
    assert "without evidence" in loaded.stdout
