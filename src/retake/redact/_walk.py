"""The walk over JSON-like values: every string, wherever it is, with its path.

One walker serves both jobs. Redacting, it returns a new value with tokens in place of
sensitive spans (the very same object where nothing changed, so callers can tell cheaply).
Scanning, it returns nothing new and records a finding for everything it would have replaced.

Values it cannot process are masked whole when redacting (fail closed): bytes that are not
UTF-8, text that starts like JSON but does not parse, a value under a field rule.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_plus

from ._detectors import BUILTIN_DETECTORS, Category, Detector, Match
from ._findings import Finding, preview
from ._matching import DetectorSet
from ._names import ALWAYS_SECRET_NAMES
from ._paths import CompiledRules, State, format_path
from ._policy import PII_FIELDS, RedactionPolicy
from ._prefilter import JsonHints, json_hints
from ._pseudo import Pseudonymiser
from ._screen import (
    BROKEN,
    FORM_BODY,
    HEADER_KEYS,
    NOT_JSON,
    PERCENT_ESCAPE,
    URL_WITH_QUERY,
    Screened,
    decode_bytes,
    parse_json_text,
    screen,
)
from ._tokens import is_format_token, is_shaped_token, is_token
from ._validators import is_high_entropy

__all__ = ["Engine", "Tally", "Walker"]

EVENT_HEADS = (
    "user",
    "model",
    "tool_call",
    "permission",
    "tool_result",
    "output",
    "error",
    "note",
    "header",
)
_CACHE_LIMIT = 200_000
_MAX_ROUNDS = 4


@dataclass(frozen=True)
class Engine:
    """A policy compiled for walking: detector list, header set, field names, path rules."""

    policy: RedactionPolicy
    detectors: DetectorSet
    headers: frozenset[str]
    rules: CompiledRules
    secret_fields: tuple[str, ...]
    always_secret: tuple[str, ...]
    has_user_patterns: bool = False
    """User regexes may read the NUL that joins strings for the screen: walk one by one."""
    json_hints: JsonHints | None = None
    """Lets the screen read JSON text as it is (see ``_prefilter.JsonHints``)."""

    @classmethod
    def compile(cls, policy: RedactionPolicy) -> Engine:
        detectors = [d for d in BUILTIN_DETECTORS if d.name not in policy.disabled_detectors]
        for up in policy.user_patterns:
            flags = re.IGNORECASE if up.ignore_case else 0
            pattern = re.compile(up.pattern, flags)
            detectors.append(
                Detector(
                    name=f"user:{up.name}",
                    category=Category(up.category),
                    pattern=pattern,
                    literals=tuple(lit.lower() for lit in up.literals)
                    if up.ignore_case
                    else up.literals,
                    fold_case=up.ignore_case,
                    group=1 if pattern.groups >= 1 else 0,
                    token=up.format,
                    user=True,
                )
            )
        return cls(
            policy=policy,
            detectors=DetectorSet(detectors, prefilter=True),
            headers=policy.headers,
            rules=CompiledRules([r.path for r in policy.field_rules], EVENT_HEADS),
            secret_fields=policy.fields,
            always_secret=policy.always_secret_fields,
            has_user_patterns=bool(policy.user_patterns),
            # "domain", "cookies": JSON text that may list browser cookies (Walker._cookie).
            json_hints=json_hints(
                policy.fields
                + tuple(sorted(ALWAYS_SECRET_NAMES))
                + _PII_NAMES
                + ("domain", "cookies"),
                HEADER_KEYS,
            ),
        )


@dataclass
class Tally:
    """What one redaction run replaced: counts per detector and the values masked whole."""

    counts: Counter[str] = field(default_factory=Counter)
    masked_whole: list[str] = field(default_factory=list)


_PII_NAMES = tuple(PII_FIELDS)
_COOKIE_LISTS = frozenset({"cookies", "Cookies", "cookie", "Cookie"})
"""Keys under which each ``{name, value}`` map is a cookie (a HAR request's ``cookies``)."""
_COOKIE_ATTRIBUTES = frozenset(
    {"path", "httponly", "secure", "samesite", "expires", "expirationdate", "expiry"}
    | {"hostonly", "session"}
)
"""Besides a domain, what makes a ``{name, value}`` map a browser cookie (lower case)."""
_PII_FIELD = 3
"""``Walker._field_kind`` of a field ``PII_FIELDS`` names."""
_PHONE_CHARS = frozenset("0123456789 +-.()/")
_DATE = re.compile(
    r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}\Z|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}\Z"
)
_SSN_CHARS = frozenset("0123456789 -")


@functools.cache
def _pii_format(key: str) -> str:
    """The token format of a field ``PII_FIELDS`` names (found once per field name)."""
    norm = _norm_key(key)
    return PII_FIELDS[next(n for n in _PII_NAMES if norm.endswith(n))]


def _pii_shaped(fmt: str, s: str) -> bool:
    """Whether ``s`` has the shape of a ``fmt`` value (``PII_FIELDS``), separators or none."""
    digits = sum(1 for c in s if c in string.digits)
    if fmt == "phone":
        return 7 <= digits <= 15 and set(s) <= _PHONE_CHARS and not _DATE.match(s)
    return digits == 9 and len(s) in (9, 11) and set(s) <= _SSN_CHARS


def _norm_key(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "").replace(" ", "")


_RUN = re.compile(r"[^\s\"'<>]+")
"""A run of text without spaces, quotes or angle brackets: a URL, a form value."""
_ASCII_ESCAPE = re.compile(r"%[0-7][0-9A-Fa-f]")


def _decode_ascii_escapes(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with its ASCII percent-escapes decoded, and for each character of the result
    where it stands in ``text``. Other escapes (UTF-8 bytes) stay as they are."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        code = text[i + 1 : i + 3] if text[i] == "%" else ""
        if len(code) == 2 and code[0] in "01234567" and code[1] in string.hexdigits:
            out.append(chr(int(code, 16)))
            spans.append((i, i + 3))
            i += 3
        else:
            out.append(text[i])
            spans.append((i, i + 1))
            i += 1
    return "".join(out), spans


class Walker:
    """One walk over one value; see the module docstring. ``pseudo is None`` means scanning."""

    def __init__(
        self,
        engine: Engine,
        pseudo: Pseudonymiser | None,
        tally: Tally,
        *,
        text_cache: dict[str, tuple[str, tuple[tuple[str, str], ...]]] | None = None,
        field_cache: dict[str, int] | None = None,
    ) -> None:
        self.e = engine
        self.pseudo = pseudo
        self.tally = tally
        self.findings: list[Finding] = []
        self.prefix = ""
        self.path: list[str | int] = []
        self._text_cache = text_cache if text_cache is not None else {}
        self._field_cache = field_cache if field_cache is not None else {}
        self.dset = engine.detectors
        self._parsed: dict[str, Any] = {}
        self._decoded: dict[bytes, tuple[str, bool]] = {}
        self._flagged: set[str] = set()
        """Screened strings something fired on: only these may use the narrowed ``dset``."""
        self._skip: Screened | None = None
        """Where the walk need not go (only without field rules, which reach anywhere)."""

    # --- entry ---------------------------------------------------------------------------

    def run(self, value: Any, prefix: str, labels: tuple[str, ...] = ()) -> Any:
        self.prefix = prefix
        self.path = []
        states = self.e.rules.root
        if labels and self.e.rules:
            states = states + self.e.rules.for_labels(labels)
        self.dset = self.e.detectors
        if type(value) is not str and not self.e.has_user_patterns:
            found = screen(
                value,
                self.e.detectors,
                self._text_cache,
                self._special_keys,
                cache_json=not self.e.rules and self.pseudo is not None,
                json_hints=self.e.json_hints,
            )
            self.dset, self._flagged, self._parsed = found.dset, found.flagged, found.parsed
            self._decoded = found.decoded
            if not states and not self.e.rules.has_heads:
                if not found.marks:
                    return value  # no string fires, and nothing else (headers, keys) applies
                self._skip = found
        return self.value(value, states, None)

    def where(self) -> str:
        return format_path(self.prefix, self.path)

    # --- recording -----------------------------------------------------------------------

    def _whole(self, value: Any, detector: str, kind: str, *, fail_closed: bool = False) -> Any:
        """Mask ``value`` entirely (or, scanning, report it)."""
        if isinstance(value, str) and (is_token(value) or is_format_token(value)):
            return value
        if isinstance(value, (bytes, bytearray)):
            text = value.hex()
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, sort_keys=True, default=repr)
        if self.pseudo is None:
            self.findings.append(
                Finding(path=self.where(), detector=detector, preview=preview(text))
            )
            return value
        self.tally.counts[detector] += 1
        if fail_closed:
            self.tally.masked_whole.append(f"{self.where()} ({detector})")
        token = self.pseudo.token("secret", kind, text)
        return token.encode() if isinstance(value, (bytes, bytearray)) else token

    # --- structure -----------------------------------------------------------------------

    def value(self, v: Any, states: tuple[State, ...], key: str | None) -> Any:
        if states:
            done = self.e.rules.complete(states)
            if done is not None:
                return self._whole(v, f"field:{self.e.rules.text(done)}", "field")
        t = type(v)
        if t is str:
            return self.string(v, states, key) if v else v
        if t is dict:
            return self.mapping(v, states, key)
        if t is list or t is tuple:
            return self.sequence(v, states, key)
        if t is bytes or t is bytearray:
            return self.blob(v, states, key)
        return v

    def _cookie(self, d: dict[Any, Any], states: tuple[State, ...], key: str | None) -> Any:
        """A browser cookie as Playwright, Puppeteer, Selenium and HAR files list them
        (``name``, ``value``, ...): its value is masked whole, as a Cookie header is. ``d``
        itself when it is no cookie."""
        names = {k.lower(): k for k in d if type(k) is str}
        name_key, value_key = names.get("name"), names.get("value")
        if name_key is None or value_key is None:
            return d
        value = d[value_key]
        if type(value) is not str or not value:
            return d
        if key not in _COOKIE_LISTS and not (
            "domain" in names and not _COOKIE_ATTRIBUTES.isdisjoint(names)
        ):
            return d  # a DNS record, a form field: a name, a value and a domain are not enough
        rest = self.mapping({k: v for k, v in d.items() if k != value_key}, states)
        self.path.append(value_key)
        new = self._whole(value, "cookie", "cookie")
        self.path.pop()
        if new is value and all(rest[k] is v for k, v in d.items() if k != value_key):
            return d
        return {k: new if k == value_key else rest[k] for k in d}

    # The two loops below are the hot path of every redaction: they avoid attribute lookups
    # and calls for the common cases (plain numbers, strings already seen, no field rules).

    def mapping(self, d: dict[Any, Any], states: tuple[State, ...], key: str | None = None) -> Any:
        if "domain" in d or "Domain" in d or key in _COOKIE_LISTS:
            cookie = self._cookie(d, states, key)
            if cookie is not d:
                return cookie
        rules = self.e.rules
        if rules.has_heads:
            extra = rules.activate(d)
            if extra:
                states = states + extra
                done = rules.complete(states)
                if done is not None:
                    return self._whole(d, f"field:{rules.text(done)}", "field")
        out: dict[Any, Any] | None = None
        path = self.path
        cache = self._text_cache
        fields = self._field_cache
        skip = self._skip
        for i, (k, v) in enumerate(d.items()):
            tk = type(k)
            tv = type(v)
            if tk is str and not states:
                hit = cache.get(k)
                nk = k if (hit is not None and not hit[1]) or not k else self._key_text(k)
                if tv is str:
                    hit = cache.get(v)
                    if not v or (hit is not None and not hit[1] and fields.get(k) == 0):
                        nv = v
                    else:
                        path.append(k)
                        nv = self.string(v, states, k)
                        path.pop()
                elif tv is int or tv is float or tv is bool or v is None:
                    nv = v
                elif (
                    skip is not None
                    and fields.get(k) == 0
                    and k not in HEADER_KEYS
                    and k not in _COOKIE_LISTS
                    and skip.clean(v)
                ):
                    nv = v  # nothing under it needs redacting
                else:
                    path.append(k)
                    if k in HEADER_KEYS and (tv is dict or tv is list):
                        nv = self.headers(v, states)
                    else:
                        nv = self.value(v, states, k)
                    path.pop()
            else:
                path.append(k if tk is str or tk is int else repr(k))
                child = rules.step(states, k) if states else states
                nk = self._key_text(k) if tk is str and k else k
                if tk is str and k in HEADER_KEYS and (tv is dict or tv is list):
                    nv = self.headers(v, child)
                else:
                    nv = self.value(v, child, k if tk is str else None)
                path.pop()
            if out is None and (nk is not k or nv is not v):
                out = dict(list(d.items())[:i])
            if out is not None:
                out[nk] = nv
        return d if out is None else out

    def _key_text(self, k: str) -> str:
        self.path.append(k)
        try:
            return self.text(k)
        finally:
            self.path.pop()

    def sequence(
        self, seq: list[Any] | tuple[Any, ...], states: tuple[State, ...], key: str | None
    ) -> Any:
        out: list[Any] | None = None
        path = self.path
        cache = self._text_cache
        skip = self._skip
        if (
            skip is not None
            and key is not None
            and (self._field_cache.get(key) != 0 or key in _COOKIE_LISTS)
        ):
            skip = None  # a secret field's value is masked by its key: look at every item
        clean = skip.clean if skip is not None else None
        for i, v in enumerate(seq):
            tv = type(v)
            if states:
                path.append(i)
                nv = self.value(v, self.e.rules.step(states, i), key)
                path.pop()
            elif (
                tv is int
                or tv is float
                or tv is bool
                or v is None
                or (clean is not None and tv is not str and clean(v))
            ):
                nv = v
            elif tv is str and key is None:
                hit = cache.get(v)
                if hit is not None and not hit[1]:
                    nv = v
                else:
                    path.append(i)
                    nv = self.string(v, states, key) if v else v
                    path.pop()
            else:
                path.append(i)
                nv = self.value(v, states, key)
                path.pop()
            if out is None and nv is not v:
                out = list(seq[:i])
            if out is not None:
                out.append(nv)
        if out is None:
            return seq
        return tuple(out) if isinstance(seq, tuple) else out

    def headers(self, h: dict[Any, Any] | list[Any], states: tuple[State, ...]) -> Any:
        """An HTTP header map (``{name: value or [values]}`` or ``[[name, value], ...]``)."""
        denied = self.e.headers
        if isinstance(h, list):
            pairs_ok = all(
                isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], str) for p in h
            )
            if not pairs_ok:
                return self.sequence(h, states, "headers")
            out: list[Any] = []
            changed = False
            for i, (name, val) in enumerate(h):
                self.path.append(i)
                self.path.append(1)
                nv = (
                    self._header(name, val) if name.lower() in denied else self.value(val, (), name)
                )
                self.path.pop()
                self.path.pop()
                changed = changed or nv is not val
                out.append(type(h[i])((name, nv)))
            return out if changed else h
        result: dict[Any, Any] = {}
        changed = False
        for name, val in h.items():
            if isinstance(name, str) and name.lower() in denied:
                self.path.append(name)
                nv = self._header(name, val)
                self.path.pop()
            elif not states and self._clean_field(name, val):
                nv = val
            else:
                self.path.append(name)
                child = self.e.rules.step(states, name) if states else states
                nv = self.value(val, child, name if isinstance(name, str) else None)
                self.path.pop()
            changed = changed or nv is not val
            result[name] = nv
        return result if changed else h

    def _clean_field(self, name: Any, val: Any) -> bool:
        """Whether the screen found nothing in ``val`` that an ordinary ``name`` lets stand."""
        skip = self._skip
        if skip is None or type(name) is not str or self._field_cache.get(name) != 0:
            return False
        t = type(val)
        if t is str:
            hit = self._text_cache.get(val)
            return hit is not None and not hit[1]
        return (t is list or t is dict or t is tuple) and skip.clean(val)

    def _header(self, name: str, val: Any) -> Any:
        detector = f"header:{name.lower()}"
        if isinstance(val, list):
            out = []
            for i, item in enumerate(val):
                self.path.append(i)
                out.append(self._whole(item, detector, name))
                self.path.pop()
            return val if all(a is b for a, b in zip(out, val, strict=True)) else out
        return self._whole(val, detector, name)

    # --- strings -------------------------------------------------------------------------

    def _field_kind(self, key: str) -> int:
        """0: an ordinary field; 1: holds random-looking credentials; 2: always a secret;
        3 (``_PII_FIELD``): a phone number or SSN, by its shape."""
        hit = self._field_cache.get(key)
        if hit is None:
            norm = _norm_key(key)
            if norm.endswith(_PII_NAMES):
                hit = _PII_FIELD
            elif norm in ALWAYS_SECRET_NAMES or norm.endswith(self.e.always_secret):
                hit = 2
            elif norm.endswith(self.e.secret_fields):
                hit = 1
            else:
                hit = 0
            self._field_cache[key] = hit
        return hit

    def _special_keys(self, keys: set[Any]) -> list[str]:
        """The keys that make the walk look at their dict: header maps and secret fields."""
        fields = self._field_cache
        new = [k for k in keys if type(k) is str and k not in fields]
        if new:
            hints = self.e.json_hints
            maybe = hints.keys(new) if hints is not None else None
            if maybe is None:
                for k in new:
                    self._field_kind(k)
            else:
                fields.update(dict.fromkeys(new, 0))
                for i in maybe:
                    del fields[new[i]]
                    self._field_kind(new[i])
        special = [k for k in keys if k in HEADER_KEYS or fields.get(k)]
        if (
            ("domain" in keys or "Domain" in keys)
            and ("value" in keys or "Value" in keys)
            and ("name" in keys or "Name" in keys)
        ):
            special.extend(k for k in ("domain", "Domain") if k in keys)  # maybe a cookie
        special.extend(k for k in _COOKIE_LISTS if k in keys)  # a list of cookies, maybe
        return special

    def string(self, s: str, states: tuple[State, ...], key: str | None) -> Any:
        if not s:
            return s
        if not states:
            hit = self._text_cache.get(s)
            if hit is not None and not hit[1] and (key is None or self._field_cache.get(key) == 0):
                return s  # screened clean (JSON text too: then there is nothing inside)
        if key is not None:
            fk = self._field_cache.get(key)
            if fk is None:
                fk = self._field_kind(key)
            if fk == _PII_FIELD:
                fmt = _pii_format(key)
                if _pii_shaped(fmt, s.strip()):
                    return self._pii_field(s, fmt)
            elif fk and not is_token(s) and (fk == 2 or is_high_entropy(s)):
                return self._whole(s, "secret_field", "secret")
        first = s[0]
        if first in "{[ \t\r\n":
            parsed = self._json_in_string(s, states, key)
            if parsed is not None:
                return parsed
        return self.text(s)

    def _pii_field(self, s: str, fmt: str) -> str:
        """A phone number or SSN told by its field's name: its format's token (the same one
        the text detectors give it), or, scanning, a finding."""
        if is_shaped_token(fmt, s.strip()):
            return s
        if self.pseudo is None:
            self.findings.append(Finding(path=self.where(), detector=fmt, preview=preview(s)))
            return s
        self.tally.counts[fmt] += 1
        return self.pseudo.token(fmt, fmt, s)

    def _json_in_string(self, s: str, states: tuple[State, ...], key: str | None) -> Any:
        """Walk JSON text inside a string; ``None`` when ``s`` does not look like JSON."""
        parsed = self._parsed.get(s, NOT_JSON)
        if parsed is NOT_JSON:
            parsed = parse_json_text(s)
        if parsed is NOT_JSON:
            return None
        body = s
        if parsed is BROKEN:
            if self.pseudo is None:
                return self.text(s)  # scanning: read it as text, it is all we can do
            return self._whole(s, "unparseable_json", "unparseable", fail_closed=True)
        new = self.value(parsed, states, key)
        if new is parsed:
            if not states and self.pseudo is not None:
                self._text_cache[s] = (s, ())  # clean wherever it appears: skip it next time
            return s
        compact = ", " not in body and ": " not in body
        return json.dumps(
            new,
            ensure_ascii=s.isascii(),
            separators=(",", ":") if compact else None,
        )

    def text(self, s: str) -> str:
        """Detectors over free text (and URL query values); cached per distinct string."""
        cache = self._text_cache
        hit = cache.get(s)
        if hit is None:
            hit = self._text_uncached(s)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[s] = hit
        result, fired = hit
        if not fired:
            return s
        if fired:
            if self.pseudo is None:
                where = self.where()
                self.findings.extend(Finding(path=where, detector=d, preview=p) for d, p in fired)
            else:
                self.tally.counts.update(d for d, _ in fired)
        return result

    def _text_uncached(self, s: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        fired: list[tuple[str, str]] = []
        s2 = s
        if "=" in s:
            if "?" in s and URL_WITH_QUERY.match(s):
                s2 = self._query(s, fired)
            elif "&" in s and FORM_BODY.match(s):
                s2 = self._pairs(s, fired)
        if "%" in s2 and PERCENT_ESCAPE.search(s2):
            s2 = self._percent(s2, fired)
        # Narrowed detectors only for text that was screened; anything else meets them all.
        dset = self.dset if s2 in self._flagged else self.e.detectors
        matches = dset.find(s2)
        if not matches:
            return (s if s2 == s else s2), tuple(fired)
        out = self._replace(s2, matches, fired)
        if self.pseudo is None:
            return s, tuple(fired)
        # A format-preserving token can, by chance, join the digits around it into something
        # a detector reads as new (a card number across the boundary). Redact until nothing
        # fires, so the output scans clean and redacting it again changes nothing.
        for _ in range(_MAX_ROUNDS):
            # A token can also complete a percent-escape with the character before it.
            settled = self._percent(out, fired) if "%" in out else out
            again = self.e.detectors.find(settled)
            if not again and settled == out:
                return out, tuple(fired)
            out = self._replace(settled, again, fired) if again else settled
        fired.append(("unsettled_text", preview(s)))
        self.tally.masked_whole.append(f"{self.where()} (unsettled_text)")
        return self.pseudo.token("secret", "text", s), tuple(fired)

    def _replace(self, s: str, matches: list[Match], fired: list[tuple[str, str]]) -> str:
        pseudo = self.pseudo
        parts: list[str] = []
        pos = 0
        for m in matches:
            found = s[m.start : m.end]
            fired.append((m.detector.name, preview(found)))
            if pseudo is not None:
                parts.append(s[pos : m.start])
                parts.append(pseudo.token(m.detector.token, m.detector.name, found))
                pos = m.end
        if pseudo is None:
            return s
        parts.append(s[pos:])
        return "".join(parts)

    def _percent(self, s: str, fired: list[tuple[str, str]]) -> str:
        """Each run of ``s`` with ASCII percent-escapes (a URL, an encoded redirect) read
        decoded: what a detector finds there, spelled with an escape, is replaced where it
        stands in the encoded text, and every other character stays as it was. (What the
        detectors find in the encoded text, in the same place or around it, is left to
        them.)"""
        if not _ASCII_ESCAPE.search(s):
            return s
        pieces: list[str] = []
        pos = 0
        for run in _RUN.finditer(s):
            text = run.group()
            if "%" not in text or not _ASCII_ESCAPE.search(text):
                continue
            decoded, spans = _decode_ascii_escapes(text)
            matches = self.e.detectors.find(decoded)
            plain = [(m.start, m.end) for m in self.e.detectors.find(text)] if matches else []
            for m in matches:
                start, end = spans[m.start][0], spans[m.end - 1][1]
                if any(a < end and start < b for a, b in plain):
                    # The detectors on the text itself find it, or more around it, where it
                    # stands (a URL's password with an escaped "#" is cut short decoded).
                    continue
                found = decoded[m.start : m.end]
                fired.append((m.detector.name, preview(found)))
                if self.pseudo is not None:
                    pieces.append(s[pos : run.start() + start])
                    pieces.append(self.pseudo.token(m.detector.token, m.detector.name, found))
                    pos = run.start() + end
        if not pieces:
            return s
        pieces.append(s[pos:])
        return "".join(pieces)

    def _query(self, url: str, fired: list[tuple[str, str]]) -> str:
        """Redact each query parameter's decoded value; leave the others byte for byte."""
        base, _, query = url.partition("?")
        pairs = self._pairs(query, fired)
        return url if pairs is query else f"{base}?{pairs}"

    def _pairs(self, query: str, fired: list[tuple[str, str]]) -> str:
        """``name=value&...`` with each value redacted decoded (``query`` itself if none is)."""
        out: list[str] = []
        changed = False
        for piece in query.split("&"):
            name, eq, raw = piece.partition("=")
            if not eq or not raw:
                out.append(piece)
                continue
            value = unquote_plus(raw)
            if (
                self._field_kind(unquote_plus(name))
                and not is_token(value)
                and (self._field_kind(unquote_plus(name)) == 2 or len(value) >= 8)
            ):
                fired.append(("secret_query", preview(value)))
                new = (
                    self.pseudo.token("secret", "secret", value)
                    if self.pseudo is not None
                    else value
                )
            else:
                matches = self.e.detectors.find(value)
                if not matches:
                    out.append(piece)
                    continue
                new_parts: list[str] = []
                pos = 0
                for m in matches:
                    found = value[m.start : m.end]
                    fired.append((m.detector.name, preview(found)))
                    new_parts.append(value[pos : m.start])
                    new_parts.append(
                        self.pseudo.token(m.detector.token, m.detector.name, found)
                        if self.pseudo is not None
                        else found
                    )
                    pos = m.end
                new_parts.append(value[pos:])
                new = "".join(new_parts)
            if new != value:
                changed = True
                out.append(f"{name}={quote(new, safe='@:<>/')}")
            else:
                out.append(piece)
        return "&".join(out) if changed else query

    def blob(self, b: bytes | bytearray, states: tuple[State, ...], key: str | None) -> Any:
        """Bytes: gunzip when gzip, decode as UTF-8, walk as a string, encode back."""
        body = self._decoded.get(b) if type(b) is bytes else None
        if body is None:
            body = decode_bytes(b)
            if body is None:
                return self._whole(b, "undecodable", "undecodable", fail_closed=True)
        text, gz = body
        new = self.string(text, states, key)
        if new is text or new == text:
            return b
        data = new.encode("utf-8")
        return gzip.compress(data, mtime=0) if gz else data
