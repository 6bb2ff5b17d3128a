"""Second opinions on regex matches: checksums, octet ranges, and the characters around a match.

A validator is ``validate(matched, text, start, end)``; it sees the whole text so that it can
tell a phone number from the tail of a longer run of digits.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable

__all__ = [
    "ALNUM",
    "B64ISH",
    "NOT_KEYCHAR",
    "NUMERIC_EDGE",
    "PHONE_EDGE",
    "WORD",
    "AllOf",
    "Bounded",
    "Validator",
    "all_of",
    "at_least",
    "aws_secret",
    "basic",
    "bounded",
    "card",
    "email",
    "email_resume",
    "has_digit_or_long",
    "iban",
    "iban_national",
    "iban_ok",
    "intl_phone",
    "intl_phone_00",
    "ipv4",
    "ipv6",
    "is_high_entropy",
    "left_bound",
    "luhn_ok",
    "national_phone",
    "not_a_setting",
    "password_like",
    "ssn",
    "trunk_phone",
    "xml_element",
]

Validator = Callable[[str, str, int, int], bool]
"""``validate(matched, text, start, end)``: a second opinion on a regex match."""

_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_DIGITS = frozenset("0123456789")


class Bounded:
    """Reject a match glued to a character of ``before`` on its left or ``after`` on its right.

    Punctuation (``.-/+``) only glues when a letter or digit stands beyond it, so a phone
    number or a card at the end of a sentence still counts. (A class, not a closure, so that
    the prefilter can read ``before``: a match must start where this allows.)
    """

    __slots__ = ("after", "before")

    def __init__(self, before: frozenset[str], after: frozenset[str]) -> None:
        self.before = before
        self.after = after

    def __call__(self, _m: str, text: str, start: int, end: int) -> bool:
        if start > 0:
            c = text[start - 1]
            if c in self.before and (c in _WORD or (start > 1 and text[start - 2] in _WORD)):
                return False
        if end < len(text):
            c = text[end]
            if c in self.after and (c in _WORD or (end + 1 < len(text) and text[end + 1] in _WORD)):
                return False
        return True


def bounded(before: frozenset[str], after: frozenset[str]) -> Validator:
    """See :class:`Bounded`."""
    return Bounded(before, after)


class AllOf:
    """Every one of ``checks`` accepts the match."""

    __slots__ = ("checks",)

    def __init__(self, *checks: Validator) -> None:
        self.checks = checks

    def __call__(self, m: str, text: str, start: int, end: int) -> bool:
        return all(c(m, text, start, end) for c in self.checks)


def all_of(*checks: Validator) -> Validator:
    return AllOf(*checks)


def left_bound(validate: Validator | None) -> frozenset[str] | None:
    """The ``before`` set of the :class:`Bounded` check in ``validate``, if it has one."""
    if isinstance(validate, Bounded):
        return validate.before
    if isinstance(validate, AllOf):
        for c in validate.checks:
            found = left_bound(c)
            if found is not None:
                return found
    return None


WORD = _WORD


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """True when the IBAN (spaces allowed) passes the ISO 13616 mod-97 check."""
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def is_high_entropy(value: str, *, min_length: int = 16, min_bits: float = 3.0) -> bool:
    """Whether ``value`` looks like a random credential rather than a word or an id."""
    if len(value) < min_length or any(c.isspace() for c in value):
        return False
    has_alpha = any(c.isalpha() for c in value)
    has_digit = any(c.isdigit() for c in value)
    if not (has_alpha and has_digit):
        return False
    counts: dict[str, int] = {}
    for c in value:
        counts[c] = counts.get(c, 0) + 1
    n = len(value)
    bits = -sum(k / n * math.log2(k / n) for k in counts.values())
    return bits >= min_bits


def looks_random(m: str, _t: str, _s: int, _e: int) -> bool:
    """A credential rather than a word or a name: see ``is_high_entropy``."""
    return is_high_entropy(m)


def password_like(m: str, _t: str, _s: int, _e: int) -> bool:
    """A password rather than a word: a letter and a digit, or both cases and a symbol."""
    letters = [c for c in m if c.isalpha()]
    if not letters:
        return False
    if any(c in _DIGITS for c in m):
        return True
    return (
        any(c.isupper() for c in letters)
        and any(c.islower() for c in letters)
        and any(not c.isalnum() for c in m)
    )


def at_least(length: int) -> Validator:
    def check(m: str, _t: str, _s: int, _e: int) -> bool:
        return len(m) >= length

    return check


_SETTING_WORDS = frozenset(
    {"enabled", "disabled", "true", "false", "none", "null", "required", "optional"}
    | {"hidden", "masked", "redacted", "visible", "default", "unset", "empty", "string"}
)
"""What an element named as a secret holds when it is a setting about one, not one."""


def not_a_setting(m: str, _t: str, _s: int, _e: int) -> bool:
    """A value, not a setting's word (``true``, ``Enabled``)."""
    return m.lower() not in _SETTING_WORDS


def xml_element(name: str) -> Validator:
    """The value of an XML element whose own name ends in ``name`` (a regex): not one of
    its attributes (``<label for=password>Password</label>``), nor a setting's word or the
    element's name again (``<Secret>Enabled</Secret>``)."""
    ends = re.compile(f"(?:{name})\\Z", re.IGNORECASE)

    def check(m: str, text: str, start: int, _e: int) -> bool:
        i = start  # back over white space and a CDATA section's start to the ">"
        while i > 0 and text[i - 1].isspace():
            i -= 1
        if text.endswith("<![CDATA[", 0, i):
            i -= 9
            while i > 0 and text[i - 1].isspace():
                i -= 1
        if i == 0 or text[i - 1] != ">":
            return False
        lt = text.rfind("<", max(i - 1000, 0), i - 1)
        if lt < 0:
            return False
        parts = text[lt + 1 : i - 1].split(maxsplit=1)
        local = parts[0].rpartition(":")[2] if parts else ""
        word = m.lower()
        return (
            ends.search(local) is not None and word != local.lower() and word not in _SETTING_WORDS
        )

    return check


def has_digit_or_long(length: int) -> Validator:
    def check(m: str, _t: str, _s: int, _e: int) -> bool:
        return len(m) >= length or any(c in _DIGITS for c in m)

    return check


def card(m: str, text: str, start: int, _e: int) -> bool:
    if _after_plus(text, start):
        return False  # the digits of an international phone number
    digits = "".join(c for c in m if c in _DIGITS)
    if not 13 <= len(digits) <= 19 or digits[0] == "0":
        return False  # no issued payment card starts with 0; retake's tokens do
    seps = {c for c in m if c not in _DIGITS}
    return len(seps) <= 1 and _issued(digits) and luhn_ok(digits)


def _issued(digits: str) -> bool:
    """Whether a number starts as the cards of a payment network do, at a length that network
    issues: one in ten long ids and timestamps passes Luhn by chance, and most of them start
    with a 1 or a 9, or have a length no network starting so uses."""
    n, first = len(digits), digits[0]
    if first == "4":  # Visa
        return n in (13, 16, 19)
    if first == "2":  # Mastercard's 2-series
        return n == 16 and 2221 <= int(digits[:4]) <= 2720
    if first == "3":  # American Express; Diners Club; JCB
        two = digits[:2]
        return (
            (two in ("34", "37") and n == 15)
            or (two in ("30", "36", "38", "39") and n >= 14)
            or (two == "35" and n >= 16)
        )
    return first in "56"  # Mastercard and Maestro; Discover, UnionPay and Maestro


def _phone_digits(m: str) -> str:
    return "".join(c for c in m if c in _DIGITS)


def intl_phone(m: str, _t: str, _s: int, _e: int) -> bool:
    digits = _phone_digits(m)
    # "+999" is an unassigned country code: retake's phone tokens use it.
    return 8 <= len(digits) <= 15 and not digits.startswith("999")


_PHONE_RUN = frozenset("0123456789 ().-")


_LONGEST_PHONE = 32
"""Characters an international number spans at most, separators included."""


def _after_plus(text: str, start: int) -> bool:
    """Whether the digits at ``start`` continue an international ``+...`` number (looking
    back no further than one could reach, so a long run of digits stays linear)."""
    i, stop = start - 1, max(start - _LONGEST_PHONE, 0) - 1
    while i > stop and text[i] in _PHONE_RUN:
        i -= 1
    return i > stop and text[i] == "+"


_CALLING_CODES = (
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 "
    "62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 "
    "225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 "
    "248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 "
    "291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 "
    "378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 "
    "590 591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 "
    "683 685 686 687 688 689 690 691 692 850 852 853 855 856 880 886 960 961 962 963 964 965 "
    "966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998"
)
_COUNTRY_CODES = frozenset(_CALLING_CODES.split())
"""The country calling codes in use (ITU-T E.164)."""


def intl_phone_00(m: str, text: str, start: int, _e: int) -> bool:
    """An international number dialled with ``00``: an assigned country code written apart
    (``0049 30 ...``), then as many digits as with a ``+``."""
    code = m[2 : next(i for i, c in enumerate(m) if c in " .-")]
    # Ten digits or more after the 00: a national number has at most eleven in all, so
    # retake's national tokens (which start 00) are never read as one of these.
    return (
        code in _COUNTRY_CODES
        and 10 <= len(_phone_digits(m)) - 2 <= 15
        and not _after_id_label(m, text, start)
    )


_ID_LABELS = frozenset(
    {"sku", "part", "item", "article", "invoice", "reference", "model", "serial"}
    | {"lot", "batch", "ticket"}
)
"""Words after which two groups of digits joined by a dash are an identifier (SKU 0401-234567).
Not "id", "ref", "case" or "art": they stand before phone numbers in prose as often ("Caller
ID: 020 7946 0958", "in case 020 ... is busy")."""


def _id_shaped(m: str) -> bool:
    """Two groups of digits joined by one dash, the shape of a part or invoice number; a
    number grouped by spaces is written as a phone number is, whatever the word before it."""
    head, dash, tail = m.partition("-")
    return bool(dash) and head.isdigit() and tail.isdigit()


def _after_id_label(m: str, text: str, start: int) -> bool:
    """Whether ``m`` has an identifier's shape (``_id_shaped``) and the word just before
    ``start`` (over spaces and ``:#.``) labels one."""
    if not _id_shaped(m):
        return False
    j, i = _word_before(text, start, " :#.\t", 4, 12)
    return i > j and text[j:i].lower() in _ID_LABELS


def _word_before(text: str, start: int, gap: str, most_gap: int, longest: int) -> tuple[int, int]:
    """Where the word of letters just before ``start`` begins and ends, over at most
    ``most_gap`` characters of ``gap`` (empty when there is none)."""
    i = start
    while i > 0 and start - i < most_gap and text[i - 1] in gap:
        i -= 1
    j = i
    while j > 0 and i - j < longest and text[j - 1].isalpha():
        j -= 1
    return j, i


def national_phone(m: str, text: str, start: int, _e: int) -> bool:
    return 9 <= len(_phone_digits(m)) <= 11 and not _after_plus(text, start)


def trunk_phone(m: str, text: str, start: int, end: int) -> bool:
    """A national number after its trunk prefix (020 7946 0958), unless it is two groups
    joined by a dash after a word that labels an identifier: ``SKU 0401-234567``."""
    return national_phone(m, text, start, end) and not _after_id_label(m, text, start)


def ssn(m: str, text: str, start: int, _e: int) -> bool:
    if _after_plus(text, start):
        return False
    area, group, serial = m[:3], m[4:6], m[7:]
    # Area 000, 666 and 900-999 are never issued (retake's tokens use 666).
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_PRODUCT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _after_product(text: str, start: int) -> bool:
    """Whether ``start`` follows a product token and its slash, as a User-Agent's versions do
    (``Chrome/``), rather than a URL's path (``/hosts/``, ``http://gw/``)."""
    if start < 2 or text[start - 1] != "/":
        return False
    i = start - 2
    while i >= 0 and text[i] in _PRODUCT_CHARS:
        i -= 1
    token = text[i + 1 : start - 1]
    return bool(token) and token[0].isalpha() and (i < 0 or text[i] not in "/:")


_VERSION_WORDS = frozenset({"v", "version", "ver", "build"})
"""Words after which four dotted numbers are a version. Not "release", "rev", "fw" or
"firmware": an address follows them as often ("dhcp release 81.2.69.160", "FW 81.2.69.160
blocked")."""


def _after_version_word(text: str, start: int) -> bool:
    """Whether ``start`` follows ``v`` or a word such as ``version`` (over ``: ``)."""
    j, i = _word_before(text, start, " :", 3, 9)
    if i == j or (j > 0 and text[j - 1].isalnum()):
        return False
    return text[j:i].lower() in _VERSION_WORDS


def ipv4(m: str, text: str, start: int, end: int) -> bool:
    if end + 1 < len(text) and text[end] == "." and text[end + 1] in _DIGITS:
        return False  # a version string such as 1.2.3.4.5
    if start and _after_version_word(text, start):
        return False  # version 1.2.3.4, v2.4.10.3
    parts = m.split(".")
    if any(len(p) > 1 and p[0] == "0" for p in parts):
        return False
    if _after_product(text, start):
        return False  # a product's version (Chrome/124.0.0.0), not a host (http://10.2.3.4)
    if any(int(p) > 255 for p in parts):
        return False
    address = ipaddress.IPv4Address(m)
    return not (address.is_loopback or address.is_unspecified or _is_doc_v4(address))


_DOC_V4 = tuple(
    ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
_DOC_V6 = ipaddress.IPv6Network("2001:db8::/32")


def _is_doc_v4(address: ipaddress.IPv4Address) -> bool:
    return any(address in net for net in _DOC_V4)


def ipv6(m: str, _t: str, _s: int, _e: int) -> bool:
    if m.count(":") < 2 or sum(1 for g in m.split(":") if g) < 3:
        return False
    try:
        address = ipaddress.IPv6Address(m)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified or address in _DOC_V6)


def basic(m: str, _t: str, _s: int, _e: int) -> bool:
    try:
        raw = base64.b64decode(m + "=" * (-len(m) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in raw and any(c.isupper() or c.isdigit() or c in "+/=" for c in m)


def aws_secret(m: str, _t: str, _s: int, _e: int) -> bool:
    return (
        any(c.isupper() for c in m) and any(c.islower() for c in m) and any(c.isdigit() for c in m)
    )


def iban(m: str, _t: str, _s: int, _e: int) -> bool:
    return iban_ok(m)


_IBAN_LENGTHS = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK"], 20),
    **dict.fromkeys(["CH", "CR", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "DE", "GB", "GE", "IE", "ME", "RS"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "TL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["PT", "ST"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU"], 30),
    **dict.fromkeys(["MT"], 31),
}
"""IBAN lengths by country (ISO 13616 registry)."""


def iban_national(m: str, _t: str, _s: int, _e: int) -> bool:
    """An IBAN in lower case or grouped with dashes: one separator, and its country's length
    besides the checksum (such a shape is commoner by chance than an upper-case one)."""
    if " " in m and "-" in m:
        return False
    compact = m.replace(" ", "").replace("-", "").upper()
    return _IBAN_LENGTHS.get(compact[:2]) == len(compact) and iban_ok(compact)


def email(m: str, _t: str, _s: int, _e: int) -> bool:
    return not m.lower().endswith("@redacted.example")


def email_resume(m: re.Match[str]) -> int:
    """After a rejected email match: past its ``@`` when :func:`email` rejected the domain.

    The domain an email match takes after a given ``@`` does not depend on where the match
    starts, so every later start before that ``@`` is rejected the same way (retake's own
    tokens would otherwise be re-matched once per character of their local part)."""
    found = m.group()
    if found.lower().endswith("@redacted.example"):
        return m.start() + found.rindex("@") + 1
    return m.start() + 1


NOT_KEYCHAR = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
B64ISH = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=")
ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
NUMERIC_EDGE = frozenset("0123456789-.")
PHONE_EDGE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-./")
