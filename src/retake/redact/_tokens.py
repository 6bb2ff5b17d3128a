"""The shapes of retake's replacement tokens, made from a keyed digest and recognised without it.

Every token is built so that no detector fires on it again, which makes redaction idempotent
and lets ``retake scan`` pass a redacted cassette without knowing the key:

- secrets and values masked whole: ``<REDACTED:kind:hash8>``;
- emails: ``user-<hash10>@redacted.example`` (``.example`` is reserved, RFC 2606);
- card numbers: same length and separators, passes Luhn, starts with ``0`` (no issued card
  does);
- phone numbers: same length and separators; international ones use the unassigned country
  code ``+999``, national ones start with ``00`` (an international prefix, and too short for
  a number dialled with it), or ``000`` after a North American trunk ``1``, and ``00999``
  when dialled with ``00`` (``0049 30 ...``: the country codes 9, 99 and 999 are unassigned);
- US SSNs: area ``666``, which is never issued;
- IPv4 in the documentation ranges (RFC 5737), IPv6 in ``2001:db8::/32`` (RFC 3849);
- UUIDs: version 8 (RFC 9562, vendor-specific) with the node field starting ``0000``.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = [
    "TOKEN_RE",
    "digits_from",
    "format_token",
    "is_format_token",
    "is_shaped_token",
    "is_token",
    "is_token_span",
    "luhn_digit",
    "secret_token",
    "token_kind",
    "token_spans",
]

TOKEN_RE = re.compile(r"<REDACTED:[a-z0-9_.-]{1,64}:[0-9a-f]{8}>")
"""A secret token inside text."""
_WHOLE_TOKEN = re.compile(r"<REDACTED:[a-z0-9_.-]{1,64}:[0-9a-f]{8}>\Z")
_KIND_SAFE = re.compile(r"[^a-z0-9_.-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_DIGITS = frozenset("0123456789")


def token_kind(kind: str) -> str:
    """``kind`` made safe to stand inside a token (lower case, no spaces or colons)."""
    return _KIND_SAFE.sub("_", kind.lower()).strip("_")[:64] or "value"


def secret_token(kind: str, digest: bytes) -> str:
    """``<REDACTED:kind:hash8>``."""
    return f"<REDACTED:{token_kind(kind)}:{digest[:4].hex()}>"


def token_spans(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of every secret token in ``text``, in order."""
    return [m.span() for m in TOKEN_RE.finditer(text)]


def is_token_span(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of ``spans`` (sorted, disjoint)."""
    i = bisect_right(spans, (start, 1 << 62)) - 1
    if i >= 0 and spans[i][1] > start:
        return True
    return i + 1 < len(spans) and spans[i + 1][0] < end


def is_token(value: str) -> bool:
    """Whether the whole of ``value`` is a secret token."""
    return value.startswith("<REDACTED:") and _WHOLE_TOKEN.match(value) is not None


def digits_from(digest: bytes, count: int, *, alphabet: str = "0123456789") -> str:
    """``count`` characters of ``alphabet`` drawn from ``digest`` (wide enough for 19)."""
    number = int.from_bytes(digest, "big")
    base = len(alphabet)
    out = []
    for _ in range(count):
        number, r = divmod(number, base)
        out.append(alphabet[r])
    return "".join(out)


def luhn_digit(payload: str) -> str:
    """The check digit that makes ``payload + digit`` pass Luhn."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


_DIALLED_00 = re.compile(r"\s*00[1-9][0-9]{0,2}[ .-]")


def _dialled_00(value: str) -> bool:
    """Whether ``value`` is an international number dialled with ``00`` (``0049 30 ...``, ten
    digits or more after the 00), not a national one (at most eleven digits in all)."""
    return _DIALLED_00.match(value) is not None and sum(c in _DIGITS for c in value) >= 12


def _fill_digits(template: str, digits: str) -> str:
    """``template`` with its digits replaced, in order, by ``digits``; the rest kept."""
    it = iter(digits)
    return "".join(next(it) if c in _DIGITS else c for c in template)


def format_token(fmt: str, value: str, digest: bytes, kind: str) -> str:
    """The format-preserving token for ``value`` (or a secret token when no format fits)."""
    if fmt == "email":
        return f"user-{digest[:5].hex()}@redacted.example"
    if fmt == "card":
        n = sum(1 for c in value if c in _DIGITS)
        payload = "0" + digits_from(digest, n - 2)
        return _fill_digits(value, payload + luhn_digit(payload))
    if fmt == "phone":
        n = sum(1 for c in value if c in _DIGITS)
        # "+999" is an unassigned country code; "00" is an international prefix, never the
        # start of a national number. After a North American trunk "1", two more zeros, so the
        # area code is not taken for a national one: 1 (415) ... becomes 0 (00.) ...
        if value.lstrip().startswith("+"):
            marker = "999"
        elif _dialled_00(value):
            marker = "00999"  # 0099 9..., 009 99...: the country code 9, 99 or 999 is unassigned
        elif value[:1] == "1":
            marker = "000"
        else:
            marker = "00"
        rest = digits_from(digest, max(n - len(marker), 0), alphabet="123456789")
        return _fill_digits(value, marker + rest)
    if fmt == "ssn":
        d = digits_from(digest, 6, alphabet="123456789")
        sep = value[3] if len(value) == 11 else ""  # 123-45-6789, or 123456789
        return f"666{sep}{d[:2]}{sep}{d[2:]}"
    if fmt == "ipv4":
        net = ("192.0.2", "198.51.100", "203.0.113")[digest[0] % 3]
        return f"{net}.{1 + digest[1] % 254}"
    if fmt == "ipv6":
        groups = [digest[i : i + 2].hex() for i in range(2, 14, 2)]
        return "2001:db8:" + ":".join(groups)
    if fmt == "uuid" and _UUID.match(value):
        h = digest[:16].hex()
        return f"{h[:8]}-{h[8:12]}-8{h[13:16]}-{'89ab'[digest[7] % 4]}{h[17:20]}-0000{h[24:32]}"
    return secret_token(kind, digest)


def is_shaped_token(fmt: str, value: str) -> bool:
    """Whether ``value`` is already a token of format ``fmt`` (so re-redacting keeps it)."""
    if fmt == "uuid":
        return is_format_token(value)
    if fmt == "email":
        return value.lower().endswith("@redacted.example")
    if fmt == "card":
        return value[:1] == "0"
    if fmt == "phone":
        digits = "".join(c for c in value if c in _DIGITS)
        if _dialled_00(value):
            return digits.startswith("00999")
        return digits.startswith("999" if value.lstrip().startswith("+") else "00")
    if fmt == "ipv4":
        return value.startswith(("192.0.2.", "198.51.100.", "203.0.113."))
    if fmt == "ssn":
        return value[:3] == "666"
    return is_token(value)


def is_format_token(value: str) -> bool:
    """Whether ``value`` is a UUID token (the one format detectors never look for)."""
    return _UUID.match(value) is not None and value[14] == "8" and value[24:28] == "0000"
