"""Which detectors may match which strings, for every detector in one pass (Hyperscan).

Running two dozen detectors one after the other costs a scan of the text per literal gate and
per pattern. Hyperscan runs many expressions over a text in a single pass, so each detector's
expression is translated into a *looser* one (:func:`loosen`) and all of them, with the
literal gates and hints, are compiled into one database. A scan says, for each string, which
detectors could match there; only those run, exactly as before (``_matching``), so what is
found does not change, only what is skipped.

The translation keeps one promise, on which everything rests: wherever a detector's own
expression matches inside a string, the loose expression matches too and ends inside that
same string (when the strings are joined by NUL). So it drops assertions and lookarounds,
replaces a back-reference with what its group may match, spells out Python's case folding
and ``\\s``, keeps only the part of the expression a match cannot do without, and stops
``.`` and negated classes at NUL (a text that holds a NUL of its own is not prefiltered).
An expression it cannot translate that way makes the whole prefilter unavailable, and the
detectors run as they did without it.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Sequence
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

from ._validators import WORD, left_bound

if TYPE_CHECKING:
    from ._detectors import Detector

try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan ships wheels for the usual platforms
    HAVE_HYPERSCAN = False
else:
    HAVE_HYPERSCAN = True

__all__ = ["Prefilter", "Untranslatable", "build", "loosen"]


class Untranslatable(ValueError):
    """A construct :func:`loosen` cannot widen safely."""


# Python's ``\s`` on str: what ``str.isspace`` accepts (including \x1c-\x1f, which
# Unicode does not call white space).
_SPACE = (
    (0x09, 0x0D),
    (0x1C, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
# Characters beyond ASCII that Python's IGNORECASE matches to an ASCII letter, and those whose
# str.lower() yields one (the literal gates of case-folding detectors test the lowered text).
IGNORECASE_EXTRA: dict[str, tuple[int, ...]] = {"i": (0x130, 0x131), "s": (0x17F,), "k": (0x212A,)}
LOWER_EXTRA: dict[str, tuple[int, ...]] = {"i": (0x130,), "k": (0x212A,)}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_SHORT = 7


def _cp(c: int) -> str:
    return f"\\x{{{c:x}}}"


def _fold(c: int, extra: dict[str, tuple[int, ...]]) -> set[int]:
    if c >= 128:
        raise Untranslatable(f"case folding of {chr(c)!r}")
    ch = chr(c)
    low = ch.lower()
    return {c, ord(low), ord(ch.upper()), *extra.get(low, ())}


def _members(items: list[tuple[Any, Any]], ic: bool, negated: bool) -> list[tuple[int, int]]:
    """A class's members as ranges: at least Python's (plain), at most Python's (negated)."""
    out: list[tuple[int, int]] = []
    widen = ic and not negated
    for op, av in items:
        if op is sre.LITERAL:
            out.extend((c, c) for c in (_fold(av, IGNORECASE_EXTRA) if widen else {av}))
        elif op is sre.RANGE:
            lo, hi = av
            out.append((lo, hi))
            if widen:
                if hi >= 128:
                    raise Untranslatable("case folding of a range beyond ASCII")
                for c in range(lo, hi + 1):
                    out.extend((f, f) for f in _fold(c, IGNORECASE_EXTRA))
        elif op is sre.CATEGORY and av is sre.CATEGORY_SPACE:
            out.extend(_SPACE)
        else:
            raise Untranslatable(f"class item {op}")
    return out


def _class(ranges: list[tuple[int, int]], negated: bool) -> str:
    body = "".join(_cp(lo) if lo == hi else f"{_cp(lo)}-{_cp(hi)}" for lo, hi in ranges)
    return f"[^{body}\\x{{0}}]" if negated else f"[{body}]"


def _groups(data: Any, ic: bool, out: dict[int, tuple[Any, bool]]) -> None:
    for op, av in data:
        if op is sre.SUBPATTERN:
            group, add, remove, sub = av
            inner = (ic or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
            if group is not None:
                out[group] = (sub, inner)
            _groups(sub, inner, out)
        elif op is sre.BRANCH:
            for b in av[1]:
                _groups(b, ic, out)
        elif op in _REPEATS:
            _groups(av[2], ic, out)
        elif op is sre.ATOMIC_GROUP:
            _groups(av, ic, out)
        elif op is sre.GROUPREF_EXISTS:
            _groups(av[1], ic, out)
            if av[2] is not None:
                _groups(av[2], ic, out)


def _emit(data: Any, ic: bool, groups: dict[int, tuple[Any, bool]]) -> str:
    parts: list[str] = []
    for op, av in data:
        if op is sre.LITERAL:
            folded = _fold(av, IGNORECASE_EXTRA) if ic and chr(av).isalpha() else None
            parts.append(_class([(c, c) for c in sorted(folded)], False) if folded else _cp(av))
        elif op is sre.NOT_LITERAL:
            parts.append(_class([(av, av)], True))
        elif op is sre.ANY:
            parts.append("[^\\x{0}]")
        elif op is sre.IN:
            negated = bool(av) and av[0][0] is sre.NEGATE
            items = av[1:] if negated else av
            parts.append(_class(_members(items, ic, negated), negated))
        elif op is sre.BRANCH:
            parts.append("(?:" + "|".join(_emit(b, ic, groups) for b in av[1]) + ")")
        elif op is sre.SUBPATTERN:
            _group, add, remove, sub = av
            inner = (ic or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
            parts.append(f"(?:{_emit(sub, inner, groups)})")
        elif op in _REPEATS:
            lo, hi, sub = av
            times = f"{{{lo},}}" if hi == sre.MAXREPEAT else f"{{{lo},{hi}}}"
            parts.append(f"(?:{_emit(sub, ic, groups)}){times}")
        elif op is sre.ATOMIC_GROUP:
            parts.append(f"(?:{_emit(av, ic, groups)})")
        elif op is sre.GROUPREF:
            sub, inner = groups[av]
            parts.append(f"(?:{_emit(sub, inner, groups)})")
        elif op is sre.GROUPREF_EXISTS:
            _group, yes, no = av
            other = _emit(no, ic, groups) if no is not None else ""
            parts.append(f"(?:{_emit(yes, ic, groups)}|{other})")
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # dropping an assertion only lets more text match
        else:
            raise Untranslatable(f"operator {op}")
    return "".join(parts)


def _min_width(state: Any, items: list[tuple[Any, Any]]) -> int:
    width: int = sre_parse.SubPattern(state, items).getwidth()[0]
    return width


def loosen(pattern: re.Pattern[str]) -> str:
    """A Hyperscan expression (UTF-8 mode) that matches, inside any NUL-free text, wherever
    ``pattern`` does, ending no later than it; raises :class:`Untranslatable` when unsure.

    Only the head of the expression is kept: what comes after the last part that every match
    must consume (a trailing ``\\Z``, an optional tail) and the extra repeats of a final
    ``{n,}`` are left out, so a long run reports once, not at each of its characters.
    """
    parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    ic = bool(parsed.state.flags & re.IGNORECASE)
    items = list(parsed.data)
    while items and _min_width(parsed.state, items[-1:]) == 0:
        items.pop()
    if items and items[-1][0] in _REPEATS:
        lo, _hi, sub = items[-1][1]
        items[-1] = (sre.MAX_REPEAT, (lo, lo, sub))
    if not items or _min_width(parsed.state, items) == 0:
        raise Untranslatable("the expression can match nothing at all")
    groups: dict[int, tuple[Any, bool]] = {}
    _groups(parsed.data, ic, groups)
    return _emit(items, ic, groups)


def _min_width_of(pattern: re.Pattern[str]) -> int:
    width: int = sre_parse.parse(pattern.pattern, pattern.flags).getwidth()[0]
    return width


def _gate(literal: str, fold: bool) -> str:
    """A literal gate: ``literal`` in the text (in the lowered text when ``fold``)."""
    out = []
    for ch in literal:
        c = ord(ch)
        if fold and ch.isalpha():
            out.append(_class([(f, f) for f in sorted(_fold(c, LOWER_EXTRA))], False))
        else:
            out.append(_cp(c))
    return "".join(out)


def _chars(chars: frozenset[str], negated: bool) -> str:
    body = "".join(_cp(ord(c)) for c in sorted(chars))
    return f"[^{body}]" if negated else f"[{body}]"


def _after(before: frozenset[str]) -> list[str]:
    """What may stand just before a match under ``Bounded(before, ...)``: a character not in
    ``before``, or punctuation of ``before`` not itself glued to a letter or digit. (Texts are
    scanned with a NUL in front, so the start of a text is "after a NUL".)"""
    punct = before - WORD
    ways = [_chars(before, True)]
    if punct:
        ways.append(_chars(WORD, True) + _chars(punct, False))
    return ways


def _pattern_req(d: Detector) -> list[str]:
    if d.user:
        raise Untranslatable("configured expressions are not prefiltered")
    core = loosen(d.pattern)
    before = left_bound(d.validate) if d.group == 0 else None
    if before and _min_width_of(d.pattern) <= _SHORT:
        # A validated match starts where its Bounded check allows, so require that before it
        # (what comes before a match does not move where it ends). Worth it for short
        # expressions, which fire on every date and time; a long one is selective already,
        # and Hyperscan runs a long class repeat after a negated class slowly.
        return [way + core for way in _after(before)]
    return [core]


def _gated_or_hinted(d: Detector) -> bool:
    return bool(d.literals and not d.anchored and not d.numeric) or d.hint is not None


def _gate_req(d: Detector) -> list[str]:
    if d.literals and not d.anchored and not d.numeric:
        return [_gate(lit, d.fold_case) for lit in d.literals]
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
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self.db)
        events: list[int] = []
        self.db.scan(data, match_event_handler=_on_match, context=events, scratch=scratch)
        return events

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
        text = "\x00".join(strings)
        if text.count("\x00") != len(strings) - 1:
            return None
        try:
            data = b"\x00" + text.encode()
        except UnicodeEncodeError:
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
            starts = _starts(strings, len(data) == len(text) + 1)
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
            except (Untranslatable, hyperscan.error):
                _BUILT[detectors] = None
        return _BUILT[detectors]


class JsonHints:
    """Whether JSON text, read as it is, may hold something besides detector matches that the
    walk must act on: a key naming a header map or a secret field, a URL with a query string,
    or a string that is JSON text itself. Text with none of these, in which no detector may
    match either, is clean without looking at its values one by one (valid only for JSON text
    without a backslash, whose strings stand in it character for character)."""

    def __init__(self, secret_fields: tuple[str, ...], header_keys: frozenset[str]) -> None:
        space = _class(list(_SPACE), False)
        exprs = [
            # A key whose normalised form (lower case, no "-", "_" or " ") ends with the field.
            "[-_ ]*".join(_gate(ch, True) for ch in field) + '[-_ ]*"'
            for field in secret_fields
        ]
        exprs.append('"(?:' + "|".join(_gate(h, False) for h in sorted(header_keys)) + ')"')
        exprs.append('\\x{3f}[^"]*\\x{3d}')  # "?" then "=" in one string
        exprs.append(f'"{space}*[\\x{{5b}}\\x{{7b}}]')  # a string that starts like JSON
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
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:
            return None
        try:
            data = b"\x00" + joined.encode()
        except UnicodeEncodeError:
            return None
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self.db)
        events: list[int] = []
        self.db.scan(data, match_event_handler=_on_match, context=events, scratch=scratch)
        ends = events[1::2]
        if len(ends) > 64:
            starts = _starts(texts, len(data) == len(joined) + 1)
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
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self.db)
        events: list[int] = []
        self.db.scan(data, match_event_handler=_on_match, context=events, scratch=scratch)
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
                except (Untranslatable, hyperscan.error):
                    _HINTS[key] = None
    return _HINTS[key]
