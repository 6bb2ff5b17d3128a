"""Before the walk: every string of a value screened at once, and where the walk need not go.

Calling the detectors once per string costs more in overhead than in matching, and most
strings of tool-calling JSON hold nothing sensitive. So :func:`screen` first gathers every
string the walk would read as text (values, keys, and the strings inside JSON text), in one
tight pass that also notes, for each container, the span of its strings in that list. The
distinct strings are screened together (``DetectorSet.screen``); those nothing fires on are
marked clean in the text cache. What remains "dirty": strings something fired on (now or
earlier in the session), keys that name headers or secrets, bytes, URLs with a query string,
JSON text that does not parse, and JSON text holding anything dirty. The walk then skips every
container whose span holds nothing dirty, returning it as it is.

JSON text (a tool's arguments or result) must be parsed, since text that looks like JSON but
does not parse is masked whole; but its strings are gathered only when the text, screened as
it is, may hold something (a detector may match, or ``JsonHints`` sees a secret-looking key,
a header map, a query URL or JSON text inside). JSON text with a backslash is always read
value by value: its escapes make its strings differ from the text.
"""

from __future__ import annotations

import json
import re
import zlib
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ._matching import DetectorSet
from ._prefilter import JsonHints

__all__ = [
    "CLEAN",
    "FORM_BODY",
    "HEADER_KEYS",
    "PERCENT_ESCAPE",
    "Screened",
    "parse_json_text",
    "screen",
]

HEADER_KEYS = frozenset(
    {"headers", "Headers", "HEADERS", "header_map", "request_headers", "response_headers"}
)
"""Keys whose value is an HTTP header map: vcrpy's, and a model event's ``http`` exchange."""
URL_WITH_QUERY = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.-]*://|/)[^\s?#]*\?[^\s#]*=[^\s]*\Z")
FORM_BODY = re.compile(r"[\w.~%+*\[\]-]+=[^&\s]*(?:&[\w.~%+*\[\]-]+=[^&\s]*)+\Z")
"""A form-encoded body (``a=1&b=2``): its values are decoded and read like a query's."""
PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
"""Text with a percent-escape is also read decoded (an email in a URL path, a redirect)."""
NOT_JSON = object()
BROKEN = object()
JSON_START = frozenset("{[ \t\r\n")
_JSON_AFTER_BRACKET = frozenset('{["-0123456789tfn]')
_SPACES = re.compile(r"\s*")  # what str.lstrip() removes
CLEAN: tuple[str, tuple[tuple[str, str], ...]] = ("", ())
"""The text cache's entry for a string nothing fires on."""
_BYTES = object()
"""Stands in the gathered strings for a bytearray, which the walk must always decode."""
MAX_GUNZIP = 64 * 1024 * 1024


def parse_json_text(s: str) -> Any:
    """The value of JSON text in ``s``; ``NOT_JSON`` when it does not look like JSON, and
    ``BROKEN`` when it looks like JSON but does not parse (the caller fails closed)."""
    body = s.strip()
    if len(body) < 2:
        return NOT_JSON
    # The first character after the bracket, found without copying the text.
    m = _SPACES.match(body, 1)
    i = m.end() if m else 1
    after = body[i : i + 1]
    if body[0] == "{":
        if after not in ('"', "}"):
            return NOT_JSON
    elif body[0] == "[":
        if body[-1] != "]" or not after or after not in _JSON_AFTER_BRACKET:
            return NOT_JSON
    else:
        return NOT_JSON
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # orjson is stricter (NaN, huge integers, lone surrogates): ask json
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return BROKEN


def decode_bytes(b: bytes | bytearray) -> tuple[str, bool] | None:
    """The text of bytes (gunzipped when gzip) and whether they were gzip; ``None`` when they
    are not UTF-8 or too large to inspect (the walk masks them whole)."""
    raw = bytes(b)
    gz = raw[:2] == b"\x1f\x8b"
    try:
        if gz:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = d.decompress(raw, MAX_GUNZIP)
            if d.unconsumed_tail:
                return None
        return raw.decode("utf-8"), gz
    except (ValueError, zlib.error, EOFError):
        return None


def _gather(v: Any, out: list[Any], spans: dict[int, tuple[int, int]], keys: set[Any]) -> None:
    """Append every key, string and bytes under ``v`` to ``out``; note each container's span."""
    start = len(out)
    if type(v) is dict:
        out.extend(v)
        keys.update(v)
        items: Any = v.values()
    else:
        items = v
    for x in items:
        t = type(x)
        if t is str:
            out.append(x)
        elif t is dict or t is list or t is tuple:
            _gather(x, out, spans, keys)
        elif t is bytes:
            out.append(x)  # decoded and screened with the strings
        elif t is bytearray:
            out.append(_BYTES)
    spans[id(v)] = (start, len(out))


def _where(gathered: list[Any], watch: set[Any]) -> dict[Any, list[int]]:
    """Every place of each of ``watch`` in ``gathered``, in one pass (or a few C scans)."""
    found: dict[Any, list[int]] = {u: [] for u in watch}
    if len(watch) <= 2:  # list.index compares in C; past two, one pass of set lookups wins
        for u, places in found.items():
            i = -1
            while True:
                try:
                    i = gathered.index(u, i + 1)
                except ValueError:
                    break
                places.append(i)
    else:
        for i, u in [(i, u) for i, u in enumerate(gathered) if u in watch]:
            found[u].append(i)
    return found


@dataclass
class Screened:
    """What the screen found: the detectors to use on flagged strings, and where to walk."""

    dset: DetectorSet
    flagged: set[str] = field(default_factory=set)
    """Strings a detector fired on in the screen (``dset`` may be narrowed to their needs)."""
    parsed: dict[str, Any] = field(default_factory=dict)
    """JSON text seen, and its value (the walk reuses it, so spans stay valid)."""
    decoded: dict[bytes, tuple[str, bool]] = field(default_factory=dict)
    """Bytes seen, as ``decode_bytes`` read them (the walk need not decode them again)."""
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)
    marks: list[int] = field(default_factory=list)
    """Sorted positions, in the gathered strings, of everything the walk must visit."""

    def clean(self, container: Any) -> bool:
        """Whether nothing under ``container`` needs the walk (it was gathered, holds no mark)."""
        span = self.spans.get(id(container))
        if span is None:
            return False
        marks = self.marks
        i = bisect_left(marks, span[0])
        return i == len(marks) or marks[i] >= span[1]


def screen(
    value: Any,
    detectors: DetectorSet,
    cache: dict[str, tuple[str, tuple[tuple[str, str], ...]]],
    special_keys: Callable[[set[Any]], Iterable[str]],
    *,
    cache_json: bool,
    json_hints: JsonHints | None = None,
) -> Screened:
    """Gather and screen ``value``; see the module docstring. ``special_keys`` picks the keys
    that make the walk look at their dict (header maps, secret fields); ``cache_json``: JSON
    text with nothing inside may be marked clean everywhere (no field rule reaches into it)."""
    gathered: list[Any] = []
    spans: dict[int, tuple[int, int]] = {}
    keys: set[Any] = set()
    root = [value]  # so that a scalar or bytes at the root is handled like any item
    _gather(root, gathered, spans, keys)
    del spans[id(root)]
    result = Screened(dset=detectors, spans=spans)
    parsed = result.parsed
    decoded = result.decoded
    dirty: set[Any] = set()
    nested: list[tuple[str, Any]] = []
    seen: dict[Any, None] = {}
    pos = 0
    hints = json_hints if detectors.prefilter() is not None else None
    while pos < len(gathered):
        todo: list[str] = []
        whole: list[str] = []  # JSON text screened as it is; looked inside only if need be
        while pos < len(gathered):
            # Distinct strings, a list comprehension per check: this runs once per string of
            # every value recorded, so it is written for speed.
            if pos:
                fresh = dict.fromkeys(u for u in gathered[pos:] if u not in seen)
                seen.update(fresh)
            else:
                fresh = seen = dict.fromkeys(gathered)
            pos = len(gathered)
            if _BYTES in fresh:
                dirty.add(_BYTES)
            for b in [u for u in fresh if type(u) is bytes]:
                body = decode_bytes(b)
                if body is None:
                    dirty.add(b)  # masked whole
                else:
                    decoded[b] = body
                    gathered.append(body[0])  # screened next time round, like any string
            strings = [u for u in fresh if type(u) is str and u]
            if cache:
                known = [u for u in strings if u in cache]
                if known:
                    dirty.update(u for u in known if cache[u][1])  # something fired before
                    strings = [u for u in strings if u not in cache]
            odd: set[str] = set()
            for u in [u for u in strings if u[0] in JSON_START]:
                inner = parse_json_text(u)
                if inner is NOT_JSON:
                    continue
                odd.add(u)
                if inner is BROKEN:
                    dirty.add(u)  # masked whole (or, scanning, read as text)
                    continue
                parsed[u] = inner
                if hints is not None and "\\" not in u:
                    whole.append(u)
                else:
                    _gather(inner, gathered, spans, keys)
                    nested.append((u, inner))
            for u in [u for u in strings if "?" in u and "=" in u]:
                if URL_WITH_QUERY.match(u):
                    odd.add(u)
                    dirty.add(u)  # each query value is decoded and read
            for u in [u for u in strings if "%" in u or "&" in u]:
                if u not in odd and (PERCENT_ESCAPE.search(u) or FORM_BODY.match(u)):
                    odd.add(u)
                    dirty.add(u)  # read decoded too: a value may hide behind its escapes
            todo.extend([u for u in strings if u not in odd] if odd else strings)
        if not todo and not whole:
            break
        result.dset, flagged = detectors.screen(todo + whole, unchecked_from=len(todo))
        fired = {todo[i] for i in flagged if i < len(todo)}
        result.flagged |= fired
        dirty.update(fired)
        # Clean: nothing fired. (The walk reads only the "fired" half of a clean entry.)
        cache.update(dict.fromkeys(todo, CLEAN))
        for text in fired:
            del cache[text]
        if whole:
            hinted = hints.which(whole) if hints is not None else None
            for j, text in enumerate(whole):
                if hinted is None or j in hinted or len(todo) + j in flagged:
                    inner = parsed[text]
                    _gather(inner, gathered, spans, keys)  # read next time round
                    nested.append((text, inner))
                elif cache_json:
                    cache[text] = CLEAN
    dirty.update(special_keys(keys))
    watch = dirty | {text for text, _ in nested} | set(decoded)
    where = _where(gathered, watch) if watch else {}
    marks = sorted(i for u in dirty for i in where[u])
    # JSON text is dirty when something inside it is: look inside out (inner text was
    # gathered later), and mark clean JSON text as such so the walk does not parse it again.
    for text, inner in reversed(nested):
        start, end = spans[id(inner)]
        i = bisect_left(marks, start)
        if i < len(marks) and marks[i] < end:
            for j in where[text]:
                insort(marks, j)
        elif cache_json:
            cache[text] = CLEAN
    # Bytes need the walk unless their text was found clean.
    for b, (text, _gz) in decoded.items():
        hit = cache.get(text)
        if text and (hit is None or hit[1]):
            for j in where[b]:
                insort(marks, j)
    result.marks = marks
    return result
