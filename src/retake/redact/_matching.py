"""Finding matches fast: a one-pass prefilter, literal gates, digit-run windows, hints, then
overlap resolution."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from . import _prefilter
from ._detectors import BUILTIN_DETECTORS, Category, Detector, Match
from ._tokens import is_shaped_token, is_token_span, token_spans

__all__ = ["BUILTIN_SET", "SEPARATOR", "DetectorSet", "find_matches"]

SEPARATOR = "\x00"


_CANDIDATE = re.compile(r"[0-9][0-9 ().\-/]{5,}[0-9]")
"""A run of digits and separators at least 7 long: where numeric detectors may match.
(Numeric detectors read ASCII digits only; that is also what makes this scan fast.)"""
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2})?\Z")


def _windows(text: str) -> list[tuple[int, int]]:
    """Candidate runs, without the two shapes no numeric detector can match: bare digit runs
    shorter than a card number (not after a ``+``) and ISO dates."""
    out = []
    for m in _CANDIDATE.finditer(text):
        c = m.group()
        cs = m.start()
        if c.isdigit():
            before = text[cs - 1] if cs else ""
            if len(c) < 13 and before != "+" and not ("A" <= before <= "Z"):
                continue  # too short for a card; not a phone's "+..."; not inside an IBAN
        elif c[4:5] == "-" and _ISO_DATE.match(c):
            continue
        out.append((cs, m.end()))
    return out


_BORING = re.compile(r"[a-z ]*\Z")
"""Lower-case words only: no built-in detector can match (all need a digit, a capital or
punctuation)."""


_UNBUILT = object()


class DetectorSet:
    """Detectors prepared for speed: literal gates grouped, numeric ones run in windows.

    With ``prefilter``, one Hyperscan pass first tells which detectors may match a text (see
    ``_prefilter``) and only those run; without Hyperscan, or for a text it cannot read, every
    detector runs. The matches found are the same either way.
    """

    def __init__(self, detectors: Iterable[Detector], *, prefilter: bool = False) -> None:
        self.detectors = tuple(detectors)
        self._pf: Any = _UNBUILT if prefilter else None
        self._subsets: dict[frozenset[int], DetectorSet] = {}
        self.priority = {d: i for i, d in enumerate(self.detectors)}
        self.numeric = tuple(d for d in self.detectors if d.numeric == 1)
        self.numeric_text = tuple(d for d in self.detectors if d.numeric == 2)
        self.always = tuple(
            d for d in self.detectors if not d.literals and not d.numeric and d.hint is None
        )
        plain: dict[str, list[Detector]] = {}
        fold: dict[str, list[Detector]] = {}
        for d in self.detectors:
            if d.numeric:
                continue
            for lit in d.literals:
                (fold if d.fold_case else plain).setdefault(lit, []).append(d)
        self.plain = tuple((k, tuple(v)) for k, v in plain.items())
        self.fold = tuple((k, tuple(v)) for k, v in fold.items())
        self.hinted = tuple(d for d in self.detectors if d.hint is not None)
        # Anchored detectors look for their literals themselves (one scan, not two).
        self.anchored = tuple(d for d in self.detectors if d.anchored and not d.numeric)
        self.gated = tuple(
            d for d in self.detectors if d.literals and not d.anchored and not d.numeric
        )
        gate_plain = {d for d in self.gated if not d.fold_case}
        gate_fold = {d for d in self.gated if d.fold_case}
        self.gate_plain = tuple(
            (k, tuple(x for x in v if x in gate_plain))
            for k, v in self.plain
            if any(x in gate_plain for x in v)
        )
        self.gate_fold = tuple(
            (k, tuple(x for x in v if x in gate_fold))
            for k, v in self.fold
            if any(x in gate_fold for x in v)
        )
        self._lower = bool(self.fold)
        self._only_builtin = not any(d.user for d in self.detectors)

    def prefilter(self) -> _prefilter.Prefilter | None:
        """The compiled prefilter (built on first use), or ``None`` when there is none."""
        pf = self._pf
        if pf is _UNBUILT:
            pf = self._pf = _prefilter.build(self.detectors)
        return pf  # type: ignore[no-any-return]

    def subset(self, indexes: frozenset[int]) -> DetectorSet:
        """The detectors at ``indexes``, in this set's order (cached)."""
        sub = self._subsets.get(indexes)
        if sub is None:
            sub = DetectorSet(d for i, d in enumerate(self.detectors) if i in indexes)
            self._subsets[indexes] = sub
        return sub

    def narrowed(self, text: str) -> DetectorSet:
        """The detectors that could fire anywhere in ``text`` (say, all of a document's
        strings), each keeping only the literals that occur in it."""
        lowered = text.lower() if any(d.fold_case and not d.anchored for d in self.gated) else text
        keep: list[Detector] = []
        changed = False
        for d in self.detectors:
            if d.numeric or d.anchored or (not d.literals and d.hint is None):
                # Anchored detectors look for their literals anyway: checking here first
                # would only scan the text twice.
                keep.append(d)
            elif d.hint is not None:
                if d.hint.search(text) is not None:
                    keep.append(d)
                else:
                    changed = True
            else:
                hay = lowered if d.fold_case else text
                present = tuple(lit for lit in d.literals if lit in hay)
                if present == d.literals:
                    keep.append(d)
                elif present:
                    keep.append(replace(d, literals=present))
                    changed = True
                else:
                    changed = True
        return DetectorSet(keep) if changed else self

    def find(self, text: str) -> list[Match]:
        """Every non-overlapping sensitive span in ``text``, left to right.

        Spans inside an existing ``<REDACTED:...>`` token are ignored, so redacted text stays
        as it is. Where two detectors overlap, the earlier start wins, then a secret over
        personal data, then the longer match, then the detector listed first.
        """
        if self._only_builtin and (len(text) < 6 or _BORING.match(text)):
            return []
        pf = self.prefilter()
        which = pf.candidates(text) if pf is not None else None
        if which is None:
            found = self.raw(text)
        elif which:
            found = self.subset(which).raw(text)
        else:
            return []
        if not found:
            return found
        if "<REDACTED:" in text:
            existing = token_spans(text)
            found = [m for m in found if not is_token_span(existing, m.start, m.end)]
        if len(found) > 1:
            prio = self.priority
            found.sort(
                key=lambda m: (
                    m.start,
                    m.detector.category is not Category.SECRET,
                    -(m.end - m.start),
                    prio.get(m.detector, 999),
                )
            )
            kept: list[Match] = []
            last_end = -1
            for m in found:
                if m.start >= last_end:
                    kept.append(m)
                    last_end = m.end
            found = kept
        return found

    def raw(self, text: str) -> list[Match]:
        """Every validated match, overlapping ones included, in no particular order."""
        found: list[Match] = []
        lowered = text.lower() if self._lower else text
        same_length = len(lowered) == len(text)
        for det in self.anchored:
            if det.fold_case and not same_length:
                if any(lit in lowered for lit in det.literals):
                    _run(det, text, 0, len(text), found)  # lower() moved the offsets
            else:
                _run_anchored(det, text, lowered if det.fold_case else text, found)
        if self.gated:
            ran: set[Detector] = set()
            for lit, dets in self.gate_plain:
                if lit in text:
                    ran.update(dets)
            for lit, dets in self.gate_fold:
                if lit in lowered:
                    ran.update(dets)
            for det in self.gated:
                if det in ran:
                    _run(det, text, 0, len(text), found)
        for det in self.always:
            _run(det, text, 0, len(text), found)
        for det in self.hinted:
            _run_near(det, text, found)
        if self.numeric or self.numeric_text:
            windows = _windows(text)
            if windows:
                n = len(text)
                for det in self.numeric:
                    for cs, ce in windows:
                        _run(det, text, max(cs - 1, 0), ce, found)
                for det in self.numeric_text:
                    for cs, ce in windows:
                        _run(det, text, max(cs - 42, 0), min(ce + 42, n), found)
        return found

    def screen(
        self, strings: Sequence[str], *, unchecked_from: int | None = None
    ) -> tuple[DetectorSet, set[int]]:
        """Which of ``strings`` may hold a match, found in one pass over all of them.

        The strings are joined with NUL, which no detector treats as part of a value or as a
        glueing neighbour, so every match a string holds on its own is also found here (a
        match that runs across a NUL only flags more strings). Returns the detectors narrowed
        to the literals present, and the indexes of the strings to look at one by one.

        With the prefilter, each string that Hyperscan says some detector may match is run
        through those detectors alone, and the set itself is returned. The strings from
        ``unchecked_from`` on are flagged as soon as some detector may match them (JSON text
        read as it is: the caller looks inside it then); without the prefilter they are
        flagged all.
        """
        pf = self.prefilter()
        per = pf.screen(strings) if pf is not None else None
        n = len(strings) if unchecked_from is None else unchecked_from
        if per is not None:
            return self, {
                k for k, which in per.items() if k >= n or self.subset(which).raw(strings[k])
            }
        if n < len(strings):
            dset, checked = self.screen(strings[:n])
            return dset, checked | set(range(n, len(strings)))
        text = SEPARATOR.join(strings)
        dset = self.narrowed(text)
        hits = dset.raw(text)
        if not hits:
            return dset, set()
        starts: list[int] = []
        pos = 0
        for item in strings:
            starts.append(pos)
            pos += len(item) + 1
        flagged: set[int] = set()
        for m in hits:
            first = bisect_right(starts, m.start) - 1
            last = bisect_right(starts, m.end - 1) - 1
            flagged.update(range(first, last + 1))
        return dset, flagged


def _run(det: Detector, text: str, pos: int, endpos: int, found: list[Match]) -> None:
    # A rejected match is retried one character further on, not after its end: a shorter
    # valid match may start inside it (a phone number after a longer run of digits).
    group = det.group
    validate = det.validate
    resume = det.resume
    search = det.pattern.search
    m = search(text, pos, endpos)
    while m is not None:
        start, end = m.span(group)
        if start < 0 or start == end:
            m = search(text, m.start() + 1, endpos)
        elif (validate is None or validate(m.group(group), text, start, end)) and not (
            det.user and is_shaped_token(det.token, text[start:end])
        ):
            found.append(Match(start, end, det))
            m = search(text, max(m.end(), m.start() + 1), endpos)
        elif det.shrink and (cut := _shrunk(det, text, m)) is not None:
            found.append(Match(*cut.span(group), det))
            m = search(text, cut.end(), endpos)
        else:
            m = search(text, m.start() + 1 if resume is None else resume(m), endpos)


def _shrunk(det: Detector, text: str, m: re.Match[str]) -> re.Match[str] | None:
    """The longest valid match from ``m``'s start that ends at one of ``det.shrink``'s
    separators inside ``m``, and that no valid match starting inside it reaches past (then
    the number is that later one: a postcode before a phone number is not its area code)."""
    start = m.start()
    for cut in range(m.end() - 1, start, -1):
        if text[cut] not in det.shrink:
            continue
        shorter = det.pattern.match(text, start, cut)
        if shorter is None or not _valid(det, text, shorter):
            continue
        if not any(
            _reaches_past(det, text, inner, cut, m.end())
            for inner in range(start + 1, cut)
            if text[inner - 1] in det.shrink
        ):
            return shorter
    return None


def _reaches_past(det: Detector, text: str, inner: int, cut: int, end: int) -> bool:
    """Whether a valid match starting at ``inner`` ends past ``cut``: the longest one up to
    ``end``, or one cut back at a separator (a number with another number after it)."""
    for stop in range(end, cut, -1):
        if stop != end and text[stop] not in det.shrink:
            continue
        later = det.pattern.match(text, inner, stop)
        if later is not None and later.end() > cut and _valid(det, text, later):
            return True
    return False


def _valid(det: Detector, text: str, m: re.Match[str]) -> bool:
    a, b = m.span(det.group)
    return (
        a >= 0 and a != b and (det.validate is None or det.validate(m.group(det.group), text, a, b))
    )


def _run_near(det: Detector, text: str, found: list[Match]) -> None:
    """Run ``det`` near each match of its hint (``det.margin``; windows merged)."""
    if det.hint is None:
        return
    n = len(text)
    before, after = det.margin
    windows: list[tuple[int, int]] = []
    for h in det.hint.finditer(text):
        start, end = max(h.start() - before, 0), min(h.end() + after, n)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    for start, end in windows:
        _run(det, text, start, end, found)


def _run_anchored(det: Detector, text: str, hay: str, found: list[Match]) -> None:
    """Try the pattern only where one of its literals occurs (literal-first), left to right,
    and not again inside a match it accepted: such a match would overlap that one, and
    trying each occurrence of the literal inside a long match ("xapp-1-xapp-1-...") costs
    time quadratic in the text."""
    group = det.group
    validate = det.validate
    literals = det.literals
    if len(literals) == 1:
        lit = literals[0]
        where: Iterable[int] = _occurrences(hay, lit)
    else:
        where = sorted({i for lit in literals for i in _occurrences(hay, lit)})
    match = det.pattern.match
    seen_end = 0
    for i in where:
        if i < seen_end:
            continue
        m = match(text, i)
        if m is not None:
            start, end = m.span(group)
            if (
                start >= 0
                and start != end
                and (validate is None or validate(m.group(group), text, start, end))
            ):
                found.append(Match(start, end, det))
                seen_end = m.end()


def _occurrences(hay: str, lit: str) -> Iterator[int]:
    i = hay.find(lit)
    while i >= 0:
        yield i
        i = hay.find(lit, i + 1)


BUILTIN_SET = DetectorSet(BUILTIN_DETECTORS, prefilter=True)
"""Every built-in detector, prepared."""


def find_matches(
    text: str, detectors: Sequence[Detector] | DetectorSet = BUILTIN_SET
) -> list[Match]:
    """Every non-overlapping sensitive span in ``text`` (see :meth:`DetectorSet.find`)."""
    dset = detectors if isinstance(detectors, DetectorSet) else DetectorSet(detectors)
    return dset.find(text)
