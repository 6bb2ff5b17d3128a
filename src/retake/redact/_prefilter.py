"""Which detectors may match which strings, for every detector in one pass (Hyperscan).

Running two dozen detectors one after the other costs a scan of the text per literal gate and
per pattern. Hyperscan runs many expressions over a text in a single pass, so each detector
gets requirements that any match of it needs, spelled as Hyperscan expressions (``_loosen``):

- a detector gated by literals or run near a hint needs one of its literals, or its hint;
- any other needs its expression, loosened; a short one also needs what may stand before it
  under its ``Bounded`` validator (dates and times then stop waking the phone numbers);
- one for which nothing can be spelled (a configured expression) runs on every text.

One scan of the strings, joined by NUL behind a leading NUL, says which requirements each
string meets; a detector runs on a string only when all of its are met there, exactly as it
would have run (``_matching``), so what is found does not change, only what is skipped. Text
with a NUL of its own, or that is not UTF-8, is not prefiltered: every detector runs on it.

:class:`JsonHints` is a second, smaller database: what besides detector matches makes JSON
text (or a dict key) need the walk.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._loosen import (
    Untranslatable,
    after_bound,
    loosen,
    min_width,
    space_class,
    spell_literal,
)
from ._validators import left_bound

if TYPE_CHECKING:
    from ._detectors import Detector

try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan ships wheels for the usual platforms
    HAVE_HYPERSCAN = False
else:
    HAVE_HYPERSCAN = True

__all__ = ["JsonHints", "Prefilter", "build", "json_hints"]

_SHORT = 7
"""Expressions no longer than this get the left-boundary requirement (see _pattern_req)."""


def _pattern_req(d: Detector) -> list[str]:
    if d.user:
        raise Untranslatable("configured expressions are not prefiltered")
    core = loosen(d.pattern)
    before = left_bound(d.validate) if d.group == 0 else None
    if before and min_width(d.pattern) <= _SHORT:
        # A validated match starts where its Bounded check allows, so require that before it
        # (what comes before a match does not move where it ends). Worth it for short
        # expressions, which fire on every date and time; a long one is selective already,
        # and Hyperscan runs a long class repeat after a negated class slowly.
        return [way + core for way in after_bound(before)]
    return [core]


def _gated_or_hinted(d: Detector) -> bool:
    return bool(d.literals and not d.anchored and not d.numeric) or d.hint is not None


def _gate_req(d: Detector) -> list[str]:
    if d.literals and not d.anchored and not d.numeric:
        return [spell_literal(lit, d.fold_case) for lit in d.literals]
    return []


def _hint_req(d: Detector) -> list[str]:
    return [loosen(d.hint)] if d.hint is not None else []


def _on_match(id_: int, _start: int, end: int, _flags: int, events: Any) -> None:
    events.append(id_)
    events.append(end)


class Prefilter:
    """A compiled Hyperscan database for one list of detectors; see the module docstring.

    Each detector needs every one of its requirements (its loosened pattern; one of its gate
    literals when it is gated; its hint when it has one) to be met in a string before it is a
    candidate there.
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        exprs: list[bytes] = []
        ids: list[int] = []
        self.needs: list[tuple[int, ...]] = []
        self.owner: list[int] = []
        """The detector each requirement belongs to."""

        def add(det_index: int, exprs_for_id: list[str]) -> int:
            rid = len(self.owner)
            self.owner.append(det_index)
            for e in exprs_for_id:
                exprs.append(e.encode())
                ids.append(rid)
            return rid

        always = []
        for i, d in enumerate(detectors):
            reqs: list[list[str]] = []
            # A gate or a hint alone is cheaper to scan for than the expression, and rarer.
            makers = (_gate_req, _hint_req) if _gated_or_hinted(d) else (_pattern_req,)
            for make in makers:
                try:
                    req = make(d)
                except Untranslatable:
                    continue  # one requirement fewer: the detector is a candidate more often
                if req:
                    reqs.append(req)
            if reqs:
                self.needs.append(tuple(add(i, r) for r in reqs))
            else:
                self.needs.append(())
                always.append(i)
        self.always = frozenset(always)
        """Detectors that run on every text (nothing could be translated for them)."""
        if not exprs:
            raise Untranslatable("no expression to compile")
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.db.compile(
            expressions=exprs, ids=ids, elements=len(exprs), flags=hyperscan.HS_FLAG_UTF8
        )
        self._local = threading.local()

    def _scan(self, data: bytes) -> list[int]:
        return _scan(self.db, self._local, data)

    def _which(self, met: set[int]) -> frozenset[int]:
        owner = self.owner
        needs = self.needs
        out = set()
        for rid in met:
            d = owner[rid]
            if d not in out and all(r in met for r in needs[d]):
                out.add(d)
        return frozenset(out)

    def candidates(self, text: str) -> frozenset[int] | None:
        """Indexes of the detectors that may match ``text``; ``None`` when it cannot tell."""
        if "\x00" in text:
            return None
        try:
            data = b"\x00" + text.encode()
        except UnicodeEncodeError:
            return None  # lone surrogates: not UTF-8
        events = self._scan(data)
        return self._which(set(events[0::2])) | self.always if events else self.always

    def screen(self, strings: Sequence[str]) -> dict[int, frozenset[int]] | None:
        """For each of ``strings`` that some detector may match, which ones; ``None`` when it
        cannot tell (a string holds a NUL or is not UTF-8, or a detector must see them all)."""
        if self.always:
            return None
        data = _nul_joined(strings)
        if data is None:
            return None
        events = self._scan(data)
        if not events:
            return {}
        # Only the requirements of detectors met somewhere in the text need placing.
        rids = set(events[0::2])
        possible = self._which(rids)
        if not possible:
            return {}
        owner = self.owner
        wanted = {r for r in rids if owner[r] in possible}
        placed = [
            (events[j], events[j + 1]) for j in range(0, len(events), 2) if events[j] in wanted
        ]
        met: dict[int, set[int]] = {}
        if len(placed) > 64:
            starts = _starts(strings, len(data) == sum(map(len, strings)) + len(strings))
            where = [bisect_right(starts, end - 1) - 1 for _rid, end in placed]
        else:  # a few: count the NULs (only separators) before each
            where = [data.count(b"\x00", 0, end - 1) - 1 for _rid, end in placed]
        for (rid, _end), k in zip(placed, where, strict=True):
            hit = met.get(k)
            if hit is None:
                met[k] = {rid}
            else:
                hit.add(rid)
        out = {}
        for k, here in met.items():
            which = self._which(here)
            if which:
                out[k] = which
        return out


def _nul_joined(strings: Sequence[str]) -> bytes | None:
    """The UTF-8 of ``"\\x00" + "\\x00".join(strings)``, which Hyperscan scans at once;
    ``None`` when a string holds a NUL (the joins could not be told apart) or is not UTF-8."""
    text = "\x00".join(strings)
    if text.count("\x00") != len(strings) - 1:
        return None
    try:
        return b"\x00" + text.encode()
    except UnicodeEncodeError:
        return None


def _scan(db: Any, local: threading.local, data: bytes) -> list[int]:
    """Hyperscan matches in ``data`` as ``[id, end, id, end, ...]``, with this thread's
    scratch space (made on first use)."""
    scratch = getattr(local, "scratch", None)
    if scratch is None:
        scratch = local.scratch = hyperscan.Scratch(db)
    events: list[int] = []
    db.scan(data, match_event_handler=_on_match, context=events, scratch=scratch)
    return events


def _starts(strings: Sequence[str], ascii_only: bool) -> list[int]:
    """Where each string starts in the UTF-8 of ``"\\x00" + "\\x00".join(strings)``."""
    starts: list[int] = []
    pos = 1
    for s in strings:
        starts.append(pos)
        pos += (len(s) if ascii_only or s.isascii() else len(s.encode())) + 1
    return starts


_BUILT: dict[tuple[Detector, ...], Prefilter | None] = {}
_LOCK = threading.Lock()


def build(detectors: tuple[Detector, ...]) -> Prefilter | None:
    """The prefilter for ``detectors`` (compiled once per process), or ``None`` when Hyperscan
    is missing or an expression cannot be loosened safely."""
    if not HAVE_HYPERSCAN or not detectors:
        return None
    pf = _BUILT.get(detectors, False)
    if pf is not False:
        return pf  # type: ignore[return-value]
    with _LOCK:
        if detectors not in _BUILT:
            try:
                _BUILT[detectors] = Prefilter(detectors)
            except Exception:  # without it every detector runs: slower, and as right
                _BUILT[detectors] = None
        return _BUILT[detectors]


class JsonHints:
    """Whether JSON text, read as it is, may hold something besides detector matches that the
    walk must act on: a key naming a header map or a secret field, a URL with a query string,
    a percent-escape or a form-encoded body (both read decoded), or a string that is JSON text
    itself. Text with none of these, in which no detector may match either, is clean without
    looking at its values one by one (valid only for JSON text without a backslash, whose
    strings stand in it character for character)."""

    def __init__(self, secret_fields: tuple[str, ...], header_keys: frozenset[str]) -> None:
        space = space_class()
        exprs = [
            # A key whose normalised form (lower case, no "-", "_" or " ") ends with the field.
            "[-_ ]*".join(spell_literal(ch, True) for ch in field) + '[-_ ]*"'
            for field in secret_fields
        ]
        exprs.append('"(?:' + "|".join(spell_literal(h, False) for h in sorted(header_keys)) + ')"')
        exprs.append('\\x{3f}[^"]*\\x{3d}')  # "?" then "=" in one string
        exprs.append(f'"{space}*[\\x{{5b}}\\x{{7b}}]')  # a string that starts like JSON
        exprs.append("\\x{25}[0-9A-Fa-f]{2}")  # a percent-escape: the value is read decoded
        # a string that starts like a form-encoded body, "name=value&..."
        exprs.append('"[^"&\\x{3d}\\s\\\\]+\\x{3d}[^"&\\s]*&')
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.db.compile(
            expressions=[e.encode() for e in exprs],
            ids=[0] * len(exprs),
            elements=len(exprs),
            flags=hyperscan.HS_FLAG_UTF8,
        )
        self._local = threading.local()

    def which(self, texts: Sequence[str]) -> set[int] | None:
        """Indexes of ``texts`` that hold a hint; ``None`` when it cannot tell."""
        data = _nul_joined(texts)
        if data is None:
            return None
        ends = _scan(self.db, self._local, data)[1::2]
        if len(ends) > 64:
            starts = _starts(texts, len(data) == sum(map(len, texts)) + len(texts))
            return {bisect_right(starts, end - 1) - 1 for end in ends}
        return {data.count(b"\x00", 0, end - 1) - 1 for end in ends}

    def keys(self, keys: Sequence[str]) -> set[int] | None:
        """Indexes of ``keys`` that may name a secret field or a header map (each key read as
        it stands in JSON text); ``None`` when it cannot tell (a key holds a quote)."""
        joined = '"'.join(keys)
        if joined.count('"') != len(keys) - 1:
            return None
        try:
            data = ('"' + joined + '"').encode()
        except UnicodeEncodeError:
            return None
        events = _scan(self.db, self._local, data)
        if len(events) > 128:
            return None  # many: the caller checks them one by one
        # A hint ends at the quote after its key, or inside a key (JSON-looking, "?...=").
        return {data.count(b'"', 0, end - 1) - 1 for end in events[1::2]}


_HINTS: dict[tuple[tuple[str, ...], frozenset[str]], JsonHints | None] = {}


def json_hints(secret_fields: tuple[str, ...], header_keys: frozenset[str]) -> JsonHints | None:
    """The :class:`JsonHints` for these fields (compiled once), or ``None`` without Hyperscan
    or when a field cannot be spelled for it."""
    if not HAVE_HYPERSCAN:
        return None
    key = (secret_fields, header_keys)
    if key not in _HINTS:
        with _LOCK:
            if key not in _HINTS:
                try:
                    _HINTS[key] = JsonHints(secret_fields, header_keys)
                except Exception:  # without it JSON text is read value by value
                    _HINTS[key] = None
    return _HINTS[key]
