"""Loosening Python regular expressions into Hyperscan expressions that match at least as much.

The promise, on which the prefilter rests: wherever a detector's own expression matches
inside a string, the loose one matches too and ends inside that same string (when strings are
joined by NUL). So :func:`loosen` drops assertions and lookarounds, replaces a back-reference
with what its group may match, spells out Python's case folding and ``\\s`` (which Hyperscan
reads otherwise), keeps only the head of the expression that every match must consume, and
stops ``.`` and negated classes at NUL. What it cannot widen safely raises
:class:`Untranslatable`.
"""

from __future__ import annotations

import re

# The regex parser of Python 3.11+ (private; if a later Python reshapes what it returns,
# loosening fails, building the prefilter fails, and the detectors run without it).
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from ._validators import WORD

__all__ = [
    "IGNORECASE_EXTRA",
    "LOWER_EXTRA",
    "Untranslatable",
    "after_bound",
    "loosen",
    "min_width",
    "space_class",
    "spell_chars",
    "spell_literal",
]


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


def min_width(pattern: re.Pattern[str]) -> int:
    """The length of the shortest text ``pattern`` matches."""
    width: int = sre_parse.parse(pattern.pattern, pattern.flags).getwidth()[0]
    return width


def spell_literal(literal: str, fold: bool) -> str:
    """``literal`` as it may stand in the text (in ``text.lower()`` when ``fold``)."""
    out = []
    for ch in literal:
        c = ord(ch)
        if fold and ch.isalpha():
            out.append(_class([(f, f) for f in sorted(_fold(c, LOWER_EXTRA))], False))
        else:
            out.append(_cp(c))
    return "".join(out)


def spell_chars(chars: frozenset[str], negated: bool) -> str:
    """A class of exactly ``chars`` (or of every other character)."""
    body = "".join(_cp(ord(c)) for c in sorted(chars))
    return f"[^{body}]" if negated else f"[{body}]"


def after_bound(before: frozenset[str]) -> list[str]:
    """What may stand just before a match under ``Bounded(before, ...)``: a character not in
    ``before``, or punctuation of ``before`` not itself glued to a letter or digit. (Texts are
    scanned with a NUL in front, so the start of a text is "after a NUL".)"""
    punct = before - WORD
    ways = [spell_chars(before, True)]
    if punct:
        ways.append(spell_chars(WORD, True) + spell_chars(punct, False))
    return ways


def space_class() -> str:
    """Python's ``\\s``, spelled out."""
    return _class(list(_SPACE), False)
