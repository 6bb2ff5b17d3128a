"""The one-pass prefilter changes what is skipped, never what is found."""

from __future__ import annotations

import random
import re
import string

import pytest
from redact_corpus import GENERATORS

from retake.redact import BUILTIN_DETECTORS
from retake.redact._loosen import IGNORECASE_EXTRA, LOWER_EXTRA, loosen
from retake.redact._matching import BUILTIN_SET, DetectorSet
from retake.redact._prefilter import build

PLAIN = DetectorSet(BUILTIN_DETECTORS)  # no prefilter: every detector runs

PIECES = [
    "order",
    "2024-05-20",
    "15:00:00",
    "token",
    "to\u212aen",  # KELVIN SIGN: a "k" to IGNORECASE and to str.lower()
    "pa\u017f\u017fword",  # LONG S
    "api_key",
    "Api-Key=",
    ":",
    "=",
    '"',
    " ",
    "\n",
    "\t",
    "\x1c",  # a space to Python's \s, not to Unicode's
    "\xa0",
    "@",
    "+1",
    "-",
    "(",
    "07",
    "555",
    "4111",
    "DE89",
    "sk-",
    "AKIA",
    "eyJ",
    "Bearer",
    "basic",
    "authorization",
    "Cookie:",
    "http://u:p@h",
    "aws",
    "\u0130",
    "\u0131",
    "日本",
    "::",
    "fe80",
    "192.168.1.1",
    "123-45-6789",
    "(212) 555-0147",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "GB82WEST12345698765432",
    "bob@example.com",
    "-----BEGIN RSA PRIVATE KEY-----",
    "ghp_",
    "xoxb-",
]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 10)):
            r = rng.random()
            if r < 0.6:
                parts.append(rng.choice(PIECES))
            elif r < 0.8:
                parts.append("".join(rng.choices(alnum + "/+_-", k=rng.randint(1, 50))))
            else:
                parts.append("".join(rng.choices("0123456789 -.()", k=rng.randint(1, 20))))
        out.append(rng.choice(["", " ", "\n", ":", "="]).join(parts))
    return out


def test_every_builtin_detector_is_prefiltered() -> None:
    pytest.importorskip("hyperscan")  # a dependency wherever PyPI has wheels for it
    pf = build(BUILTIN_DETECTORS)
    assert pf is not None, "the built-in detectors must compile for Hyperscan"
    assert not pf.always


@pytest.mark.parametrize("seed", range(3))
def test_the_prefilter_finds_exactly_what_every_detector_finds(seed: int) -> None:
    texts = _texts(3000, seed)
    assert sum(1 for t in texts if PLAIN.find(t)) > 500  # the texts do hold things to find
    for text in texts:
        assert BUILTIN_SET.find(text) == PLAIN.find(text), text


def test_the_screen_flags_every_string_that_holds_a_match() -> None:
    rng = random.Random(11)
    planted = [gen(rng).snippet for gen in GENERATORS.values() for _ in range(20)]
    texts = _texts(3000, 7) + planted
    for i in range(0, len(texts), 40):
        chunk = texts[i : i + 40]
        _, flagged = BUILTIN_SET.screen(chunk)
        missed = [t for k, t in enumerate(chunk) if PLAIN.find(t) and k not in flagged]
        assert not missed


@pytest.mark.parametrize(
    "text",
    [
        "ssn 123-45-6789 \x00 and more",  # a NUL of its own
        "bob@example.com \ud800",  # not UTF-8
    ],
)
def test_text_the_prefilter_cannot_read_still_meets_every_detector(text: str) -> None:
    assert BUILTIN_SET.find(text) == PLAIN.find(text) != []
    _, flagged = BUILTIN_SET.screen(["nothing here", text])
    assert flagged == {1}


def test_case_folding_tables_match_python() -> None:
    ignorecase = re.compile("[a-z]", re.IGNORECASE)
    folded: dict[str, set[int]] = {}
    lowered: dict[str, set[int]] = {}
    for c in range(128, 0x110000):
        ch = chr(c)
        if ignorecase.fullmatch(ch):
            letter = next(a for a in string.ascii_lowercase if re.fullmatch(a, ch, re.I))
            folded.setdefault(letter, set()).add(c)
        for low in ch.lower():
            if low.isascii():
                lowered.setdefault(low, set()).add(c)
    assert folded == {k: set(v) for k, v in IGNORECASE_EXTRA.items()}
    assert lowered == {k: set(v) for k, v in LOWER_EXTRA.items()}


def test_whitespace_is_spelled_as_python_reads_it() -> None:
    loose = loosen(re.compile(r"a\sb"))
    members = {c for c in range(0x110000) if re.fullmatch(r"\s", chr(c))}
    spelled = set()
    for lo, hi in re.findall(r"\\x\{([0-9a-f]+)\}(?:-\\x\{([0-9a-f]+)\})?", loose):
        start = int(lo, 16)
        spelled.update(range(start, int(hi, 16) + 1) if hi else [start])
    assert spelled - {ord("a"), ord("b")} == members


def test_threads_each_scan_with_their_own_scratch() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = _texts(400, 3)
    expected = [PLAIN.find(t) for t in texts]
    chunks = [texts[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda chunk: [BUILTIN_SET.find(t) for t in chunk], chunks))
    assert [m for i in range(4) for m in found[i]] == [e for i in range(4) for e in expected[i::4]]
