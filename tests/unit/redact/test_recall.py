"""Recall on a generated corpus: every secret, and at least 99% of personal data, is gone."""

from __future__ import annotations

from collections import Counter

import pytest
from redact_corpus import GENERATORS, LOCATIONS, corpus, flatten

from retake.redact import RedactionKey, Redactor, detector_names, scan

KEY = RedactionKey(b"recall-test-key-0123456789abcdef", "given")


@pytest.fixture(scope="module")
def results() -> list[tuple[str, str, str, bool, bool]]:
    """``(location, detector, category, removed, rescan_clean)`` per plant."""
    out = []
    for loc, plant, value in corpus():
        redactor = Redactor(key=KEY)
        redacted = redactor.redact(value)
        text = flatten(redacted)
        removed = plant.secret not in text
        out.append((loc, plant.detector, plant.category, removed, not scan(redacted)))
    return out


def test_corpus_is_large_and_covers_every_detector_and_location(
    results: list[tuple[str, str, str, bool, bool]],
) -> None:
    assert len(results) >= 1000
    assert {d for _, d, *_ in results} == set(GENERATORS) == set(detector_names())
    assert {loc for loc, *_ in results} == set(LOCATIONS)


def test_every_secret_is_removed(results: list[tuple[str, str, str, bool, bool]]) -> None:
    secrets = [r for r in results if r[2] == "secret"]
    missed = Counter((loc, det) for loc, det, _, removed, _ in secrets if not removed)
    assert not missed, f"secrets left in place: {dict(missed)}"
    assert len(secrets) >= 500


def test_personal_data_recall_at_least_99_percent(
    results: list[tuple[str, str, str, bool, bool]],
) -> None:
    pii = [r for r in results if r[2] == "pii"]
    caught = sum(1 for r in pii if r[3])
    missed = Counter((loc, det) for loc, det, _, removed, _ in pii if not removed)
    assert caught / len(pii) >= 0.99, f"recall {caught}/{len(pii)}; missed {dict(missed)}"


def test_redacted_corpus_scans_clean(results: list[tuple[str, str, str, bool, bool]]) -> None:
    dirty = Counter((loc, det) for loc, det, _, _, clean in results if not clean)
    assert not dirty, f"the scan still fires after redaction: {dict(dirty)}"
