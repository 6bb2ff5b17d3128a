"""Real recorded data: few false positives on tau-bench, and the scan on real vcrpy cassettes."""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from retake.redact import RedactionKey, Redactor, scan

REALDATA = Path(__file__).resolve().parents[2] / "fixtures" / "redact" / "realdata"
TAU = sorted((REALDATA / "tau-bench").rglob("*.json"))
CASSETTES = sorted((REALDATA / "cassettes").rglob("*.yaml"))
KEY = RedactionKey(b"realdata-test-key-0123456789abcd", "given")

WORD = re.compile(r"[A-Za-z0-9_@.+$:/-]*[A-Za-z0-9]")
PERSONAL = re.compile(r"@")  # the only personal data the detectors know that tau-bench holds
KEEP = (
    "user_id",
    "reservation_id",
    "flight_number",
    "date",
    "origin",
    "destination",
    "payment_id",
    "cabin",
    "price",
    "amount",
    "dob",
    "zip",
)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        if value[:1] in "{[":
            try:
                yield from strings(json.loads(value))
                return
            except ValueError:
                pass
        yield value


def kept_values(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in KEEP and isinstance(v, str | int | float):
                yield k, v
            yield from kept_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from kept_values(v)
    elif isinstance(value, str) and value[:1] == "{":
        with contextlib.suppress(ValueError):
            yield from kept_values(json.loads(value))


def test_fixtures_are_present() -> None:
    assert len(TAU) >= 40
    assert len(CASSETTES) >= 10


def test_tau_bench_false_positives_at_most_one_percent() -> None:
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for path in TAU:
        doc = json.loads(path.read_text())
        out = Redactor(key=KEY).redact(doc)
        before.update(w for s in strings(doc) for w in WORD.findall(s))
        after.update(w for s in strings(out) for w in WORD.findall(s))
    lost = before - after
    non_personal = sum(n for w, n in before.items() if not PERSONAL.search(w))
    changed = {w: n for w, n in lost.items() if not PERSONAL.search(w)}
    assert non_personal > 50_000
    assert sum(changed.values()) / non_personal <= 0.01, sorted(changed.items())[:20]
    # Emails are personal data and must all have gone.
    assert not [w for w in after if PERSONAL.search(w) and not w.endswith("@redacted.example")]


@pytest.mark.parametrize("path", TAU[:12], ids=lambda p: p.name[:40])
def test_ids_codes_prices_dates_survive(path: Path) -> None:
    doc = json.loads(path.read_text())
    out = Redactor(key=KEY).redact(doc)
    assert list(kept_values(out)) == list(kept_values(doc))
    text = json.dumps(out)
    assert doc["info"]["task"]["user_id"] in text


def test_scan_reports_cookies_and_organisation_headers_of_vcrpy_cassettes() -> None:
    detectors: Counter[str] = Counter()
    for path in CASSETTES:
        for finding in scan(yaml.safe_load(path.read_text())):
            detectors[finding.detector] += 1
            assert len(finding.preview) <= 4
    assert detectors["header:openai-organization"] >= 1
    assert detectors["header:cookie"] >= 1
    assert detectors["header:set-cookie"] >= 1
    assert detectors["header:openai-project"] >= 1


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name[:40])
def test_redacted_vcrpy_cassettes_scan_clean_and_stay_loadable(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    r = Redactor(key=KEY)
    out = r.redact(data)
    assert scan(out) == []
    assert r.redact(out) == out
    yaml.safe_load(yaml.safe_dump(out))
