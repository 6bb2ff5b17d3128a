"""Detectors: what a secret or a piece of personal data looks like inside a string.

Each detector is one regular expression behind a cheap gate: a few literal substrings (or the
digits it cannot do without) that must occur in the text before the expression runs at all.
One big alternation of every pattern in Python's ``re`` was measured slower than this (see
BASELINES.md), and it would lose the per-detector validators (Luhn, mod-97, octet ranges).
Instead, Hyperscan runs a loosened copy of every gate and expression in one pass and says
which detectors may match where (``_prefilter``); only those run, here, as they are.

Expressions start with a literal or a character class, never with a look-behind, so that the
regex engine can skip ahead to candidate positions; boundaries are checked in Python instead
(``_validators``). How the gates are applied is in ``_matching``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from . import _validators as v
from ._names import ALWAYS_SECRET, ALWAYS_SECRET_NAMES, DEFAULT_SECRET_FIELDS
from ._validators import Validator

__all__ = ["BUILTIN_DETECTORS", "Category", "Detector", "Match", "detector_names"]


class Category(StrEnum):
    """Whether a detector finds credentials or personal data."""

    SECRET = "secret"
    PII = "pii"


@dataclass(frozen=True, slots=True, eq=False)
class Detector:
    """One kind of sensitive value and how to find it in a string."""

    name: str
    category: Category
    pattern: re.Pattern[str]
    literals: tuple[str, ...] = ()
    """The gate: at least one must occur in the text. Empty means always run."""
    fold_case: bool = False
    """Test the literals against the lower-cased text."""
    group: int = 0
    """The regex group holding the sensitive part (0: the whole match)."""
    validate: Validator | None = None
    token: str = "secret"
    """How the pseudonymiser replaces a match: ``secret`` or a format name."""
    numeric: int = 0
    """1: runs only inside runs of digits and separators; 2: runs near them (up to an IBAN's
    length away). 0: gated by ``literals``."""
    anchored: bool = False
    """The pattern starts with one of ``literals``: try it only where a literal occurs."""
    hint: re.Pattern[str] | None = None
    """Instead of literals: run only near matches of this cheap pattern (within ``margin``
    characters before and after), for a shape no literal captures or a pattern that does
    not start with its literal."""
    margin: tuple[int, int] = (40, 40)
    """How far before and after a hint a match may start and end."""
    user: bool = False
    """From configuration: skip matches that are already tokens of its format."""
    resume: Callable[[re.Match[str]], int] | None = None
    """Where to search again after ``validate`` rejected a match (default: one character on,
    since a shorter valid match may start inside it). Set it only when every match that
    starts before the returned position would be rejected too."""
    shrink: str = ""
    """Separators at which a rejected match is cut and tried again, longest first, from the
    same start: a phone number followed by another number is too long as one match, and
    valid without the tail."""


@dataclass(frozen=True, slots=True)
class Match:
    """A sensitive span found in a string."""

    start: int
    end: int
    detector: Detector


# --- the built-in detectors ------------------------------------------------------------------

_NOT_KEYCHAR = v.NOT_KEYCHAR
_B64ISH = v.B64ISH
_ALNUM = v.ALNUM
_NUMERIC_EDGE = v.NUMERIC_EDGE
_PHONE_EDGE = v.PHONE_EDGE


def _d(
    name: str,
    category: Category,
    pattern: str,
    literals: Iterable[str] = (),
    *,
    flags: int = 0,
    fold_case: bool = False,
    group: int = 0,
    validate: Validator | None = None,
    token: str = "secret",
    numeric: int = 0,
    anchored: bool = False,
    hint: str | None = None,
    margin: tuple[int, int] = (40, 40),
    resume: Callable[[re.Match[str]], int] | None = None,
    shrink: str = "",
) -> Detector:
    return Detector(
        name=name,
        category=category,
        pattern=re.compile(pattern, flags),
        literals=tuple(literals),
        fold_case=fold_case,
        group=group,
        validate=validate,
        token=token,
        numeric=numeric,
        anchored=anchored,
        hint=re.compile(hint) if hint is not None else None,
        margin=margin,
        resume=resume,
        shrink=shrink,
    )


def _spelled(name: str) -> str:
    """A normalised field name (``_names``) as it may be written: ``-``, ``_`` or spaces
    between its letters (``api_key``, ``Api-Key``)."""
    return "[-_ ]*".join(re.escape(c) for c in name)


def _ends_with(names: Iterable[str]) -> str:
    return "(?:" + "|".join(_spelled(n) for n in sorted(names, key=len, reverse=True)) + ")"


_EOL = r"(?:\r?\n|(?:\\r)?\\n)"
"""A line break, or one escaped as ``repr()`` writes it in a log line (``\\r\\n``)."""
_LINE_CHAR = r"(?:[^\r\n\\]|\\(?![rn]))"
"""A character of a line, in either spelling."""
_PARAM = r'[\w*-]{1,40}[ \t]*=[ \t]*\\?"[^"\r\n]{0,200}"'
"""A Content-Disposition parameter (``filename="a.txt"``), quotes escaped or not."""


def _multipart(ends: str, whole: Iterable[str]) -> str:
    """A multipart/form-data part whose name ends in one of ``ends`` (a regex) or is one of
    ``whole`` (after a ``.`` or ``[``, as in ``user[password]``); group 1 is its value, the
    line after its headers.

    Read structurally, so that the time it takes is linear in the text: the parameters
    before the name one by one, at most four more header lines of at most 200 characters.
    """
    names = ends
    if whole:
        names = f'(?:{ends}|(?<![^"\\[.]){_ends_with(whole)})'
    return (
        rf"form-data;[ \t]*(?:{_PARAM}[ \t]*;[ \t]*){{0,8}}?"
        rf'name=\\?"(?:[^"\r\n]{{0,100}}?){names}\]?\\?"'
        rf"{_LINE_CHAR}{{0,300}}{_EOL}(?:{_LINE_CHAR}{{1,200}}{_EOL}){{0,4}}?{_EOL}"
        rf"({_LINE_CHAR}+)"
    )


S, P = Category.SECRET, Category.PII
_LOCAL = r"A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"
"""What an email's local part is spelled with besides punctuation: ASCII letters and digits,
and the letters of accented Latin, Greek and Cyrillic (not of scripts written without
spaces, where the words before an address would be read as part of it)."""
_keyish = v.bounded(_NOT_KEYCHAR, _NOT_KEYCHAR)
_XML_SECRET = (
    r"(?:pass(?:word|wd|phrase|code)|pwd|secret|api[_-]?key|private[_-]?key)"
    r"(?:[_-]?key|[_-]v?[0-9]+)*"
)
_XML_TOKEN = r"token(?:[_-]?key|[_-]v?[0-9]+)*"
"""The names of XML elements that hold a secret (the end of the element's name)."""
_XML_VALUE = r"(?:\s[^<>\n]*)?>\s*(?:<!\[CDATA\[)?([^<>\s]{{{},}}?)(?:\]\]>)?\s*</"
"""After an element's name: its attributes (to the line's end, not a count, which Hyperscan
takes seconds to compile), then its value (group 1), padded with white space or in CDATA."""

BUILTIN_DETECTORS: tuple[Detector, ...] = (
    # Credentials with a recognisable prefix: the gate is the prefix itself.
    _d(
        "private_key",
        S,
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r".*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ["-----BEGIN"],
        flags=re.DOTALL,
        anchored=True,
    ),
    _d(
        "anthropic_key",
        S,
        r"sk-ant-[A-Za-z0-9_-]{20,}",
        ["sk-ant-"],
        validate=_keyish,
        anchored=True,
    ),
    _d(
        "openai_key",
        S,
        r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
        ["sk-"],
        validate=v.all_of(_keyish, v.has_digit_or_long(40)),
        anchored=True,
    ),
    _d(
        "aws_access_key",
        S,
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}",
        ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        validate=v.bounded(_ALNUM, _ALNUM),
        anchored=True,
    ),
    _d(
        "aws_secret_key",
        S,
        r"[A-Za-z0-9/+]{40}",
        ["aws", "akia", "asia", "secret_access"],
        fold_case=True,
        validate=v.all_of(v.bounded(_ALNUM | {"/", "+"}, _B64ISH), v.aws_secret),
    ),
    _d(
        "github_token",
        S,
        r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        validate=_keyish,
        anchored=True,
    ),
    _d(
        "slack_token",
        S,
        # Bot, user and app-level tokens, and incoming-webhook URLs.
        r"(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,}"
        r"|hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,})",
        ["xox", "xapp-", "hooks.slack.com"],
        anchored=True,
    ),
    _d("google_api_key", S, r"AIza[0-9A-Za-z_-]{35}", ["AIza"], anchored=True),
    _d(
        "stripe_key",
        S,
        r"(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}",
        ["sk_live_", "rk_live_", "sk_test_", "rk_test_", "pk_live_"],
        anchored=True,
    ),
    _d(
        "webhook_secret",
        S,
        # Stripe's and Svix's webhook signing secrets (Svix's are base64).
        r"whsec_[A-Za-z0-9+/]{24,}={0,2}",
        ["whsec_"],
        validate=v.bounded(_NOT_KEYCHAR, _B64ISH),
        anchored=True,
    ),
    _d(
        "jwt",
        S,
        # A signed token (header.payload.signature), or an encrypted one in five parts
        # (header.key.iv.ciphertext.tag; the key is empty under direct encryption).
        r"eyJ[A-Za-z0-9_-]{5,}\.(?:eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
        r"|[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})",
        ["eyJ"],
        anchored=True,
    ),
    # Credentials named by what stands before them.
    _d(
        "authorization",
        S,
        r"authorization[\"']?\s*[:=]\s*[\"']?((?:bearer|basic|token|digest|apikey|aws4-hmac-sha256)"
        r"\s+[^\s\"',]+|[A-Za-z0-9._~+/=-]{20,})",
        ["authorization"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        anchored=True,
    ),
    _d(
        "bearer",
        S,
        r"(?:bearer|token)\s+([A-Za-z0-9._~+/=-]{16,})",
        ["bearer", "token "],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.has_digit_or_long(10_000),
        anchored=True,
    ),
    _d(
        "aws_signature",
        S,
        # An AWS Signature Version 4 (64 hex digits) after its name, in an Authorization
        # header's "Signature=" or a presigned URL's "X-Amz-Signature=".
        r"signature=([0-9a-f]{64})",
        ["signature="],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.bounded(_ALNUM, _ALNUM),
        anchored=True,
    ),
    _d(
        "basic_auth",
        S,
        r"basic\s+([A-Za-z0-9+/]{8,}={0,2})",
        ["basic"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.basic,
        anchored=True,
    ),
    _d(
        "secret_assignment",
        S,
        # A password's or secret's name, alone or ending a longer one (DJANGO_SECRET_KEY,
        # db_password_v2, x-api-key), then = or :, then the value. Tried where the name
        # starts, the literal (what comes before it in a longer name does not matter); a
        # name that goes on (password_expires_at, secret_name) is about the secret, not it.
        r"(?:pass(?:word|wd|phrase|code)|pwd|secret|api[_-]?key)(?:[_-](?:key|v?[0-9]+))*"
        r"[\"']?\s*[:=]\s*[\"']?([^\s\"',;&<>]{6,})",
        ["pass", "pwd", "secret", "api"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        anchored=True,
    ),
    _d(
        "secret_assignment",
        S,
        # Any token (access_token, TWILIO_AUTH_TOKEN, HF_TOKEN) and the keys that are
        # credentials (ENCRYPTION_KEY, AccountKey=, ?subscription-key=), when the value looks
        # random: token_count: 1234567 is not one, nor is an idempotency or sort key.
        r"(?:token|(?:encryption|signing|master|private|access|account|subscription|license"
        r"|consumer|client|hmac|session)[_-]?key)(?:[_-](?:key|v?[0-9]+))*[\"']?\s*[:=]\s*[\"']?"
        r"([^\s\"',;&<>]{16,})",
        [
            "token",
            "encryption",
            "signing",
            "master",
            "private",
            "access",
            "account",
            "subscription",
            "license",
            "consumer",
            "client",
            "hmac",
            "session",
        ],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.looks_random,
        anchored=True,
    ),
    _d(
        "secret_assignment",
        S,
        # The same names as an XML element holding the value alone: <Password>...</Password>,
        # <ns:client_secret>...</ns:client_secret>, <ApiKey>...</ApiKey>. (Attributes end at
        # a line's end, so that a name in prose does not scan on to the next ">" each time;
        # they are not bounded by a count, which Hyperscan takes seconds to compile.)
        _XML_SECRET + _XML_VALUE.format(6),
        ["pass", "pwd", "secret", "api", "private"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.xml_element(_XML_SECRET),
        anchored=True,
    ),
    _d(
        "secret_assignment",
        S,
        # A token's element, when its value looks random (<AccessToken>, <SessionToken>).
        _XML_TOKEN + _XML_VALUE.format(16),
        ["token"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.all_of(v.looks_random, v.xml_element(_XML_TOKEN)),
        anchored=True,
    ),
    _d(
        "secret_assignment",
        S,
        # A password told in prose, right after its name: "my password is Xyz123!",
        # "password: Tr0ub4dor&3", "password - Xyz123!", "the password for the admin account
        # is Xyz123!". Only a value that reads like one (a letter and a digit, or
        # both cases and a symbol), not "the password is incorrect."; a closing full stop or
        # comma is the sentence's.
        r"pass(?:word|wd|phrase|code)(?:\s+for\s+(?:the\s+|my\s+|your\s+|this\s+)?[A-Za-z0-9_.@-]+"
        r"(?:\s+(?:account|user|login|server|database|site))?)?"
        r"(?:\s+(?:is|was)(?:\s*:)?|\s*:|\s+-)\s+[\"'`]?"
        r"([^\s\"'`<>]{5,}[^\s\"'`<>.,;:])",
        ["pass"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.password_like,
        anchored=True,
    ),
    _d(
        "secret_assignment",
        S,
        # A multipart/form-data part whose name holds a secret whatever it looks like, as a
        # JSON field of that name does (newPassword, client_secret, user[password]).
        _multipart(_ends_with(ALWAYS_SECRET), ALWAYS_SECRET_NAMES),
        # Gated, not anchored: the literal is rare, and cheaper for the prefilter to look
        # for than the expression.
        ["form-data;"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
    ),
    _d(
        "secret_assignment",
        S,
        # One whose name holds a credential (accessToken, private_key, api-key), when its
        # value is eight characters or more, as in a form-encoded body (a multipart body is
        # the other way to post a form).
        _multipart(_ends_with(f for f in DEFAULT_SECRET_FIELDS if f not in ALWAYS_SECRET), ()),
        ["form-data;"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.at_least(8),
    ),
    _d(
        "secret_assignment",
        S,
        # A setting named as a secret in a .NET config file: <add key="DbPassword" value="..."/>.
        r'key="[^"<>\n]*?' + _XML_SECRET + r'"\s+value="([^"<>\n]{6,})"',
        ['key="'],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        validate=v.not_a_setting,
    ),
    _d(
        "cookie",
        S,
        # A Cookie header line, or a cookie set in code (document.cookie = "sid=...").
        r"cookie[ \t]*[:=][ \t]*[\"']?([^\s\"'<>][^\r\n\"'<>]*)",
        ["cookie"],
        flags=re.IGNORECASE,
        fold_case=True,
        group=1,
        anchored=True,
    ),
    _d(
        "url_password",
        S,
        # redis://:pw@ has no user; a password may hold an "@" of its own (my@pw1@host: the
        # host is after the last one).
        r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@?#]*:([^\s/@?#]+(?:@[^\s/@?#\"'<>,]+)*)@",
        (),
        group=1,
        hint="://",
        margin=(32, 512),
    ),
    # Personal data.
    _d(
        "email",
        P,
        # The local part may hold accented Latin, Greek and Cyrillic letters (josé.garcía@).
        f"[{_LOCAL}][{_LOCAL}._%+'-]{{0,63}}@"
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}",
        (),
        validate=v.all_of(v.bounded(frozenset("._%+-"), _NOT_KEYCHAR), v.email),
        token="email",
        # The pattern starts before its "@": look only around each "@" (a local part is at
        # most 64 characters, a domain at most 253).
        hint="@",
        margin=(66, 256),
        resume=v.email_resume,
    ),
    _d(
        "card",
        P,
        # Digits alone or grouped with spaces or dashes; with dots only in groups of four
        # (4.4.4.4, Amex's 4.6.5, 4.4.4.4.3), which numbers with decimals or thousands are not.
        r"[0-9](?:[ -]?[0-9]){12,18}|[0-9]{4}\.[0-9]{4,6}\.[0-9]{4,5}(?:\.[0-9]{1,4}){0,2}",
        (),
        validate=v.all_of(v.bounded(_NUMERIC_EDGE, _NUMERIC_EDGE), v.card),
        token="card",
        numeric=1,
    ),
    _d(
        "iban",
        P,
        r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?",
        (),
        validate=v.all_of(v.bounded(_ALNUM, _ALNUM), v.iban),
        token="iban",
        numeric=2,
    ),
    _d(
        "iban",
        P,
        # Written in lower case in groups, or grouped with dashes: only at its country's
        # length. (Not in lower case without spaces: hex digests have that shape.)
        r"[a-z]{2}[0-9]{2}(?:[ -][a-z0-9]{4}){2,7}(?:[ -][a-z0-9]{1,3})?"
        r"|[A-Z]{2}[0-9]{2}(?:-[A-Z0-9]{4}){2,7}(?:-[A-Z0-9]{1,3})?",
        (),
        validate=v.all_of(v.bounded(_ALNUM, _ALNUM), v.iban_national),
        token="iban",
        numeric=2,
    ),
    _d(
        "ssn",
        P,
        r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}",
        (),
        validate=v.all_of(v.bounded(_NUMERIC_EDGE, _NUMERIC_EDGE), v.ssn),
        token="ssn",
        numeric=1,
    ),
    _d(
        "phone",
        P,
        r"\+[0-9]{1,3}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6}",
        (),
        validate=v.all_of(v.bounded(_PHONE_EDGE, _PHONE_EDGE), v.intl_phone),
        token="phone",
        numeric=1,
    ),
    _d(
        "phone",
        P,
        # The international prefix 00 instead of "+", then an assigned country code and a
        # separator: 0049 30 1234567, 0033 1 23 45 67 89.
        r"00[1-9][0-9]{0,2}[ .-](?:[ .-]?\(?[0-9]{1,4}\)?){2,6}",
        (),
        validate=v.all_of(v.bounded(_PHONE_EDGE, _PHONE_EDGE), v.intl_phone_00),
        token="phone",
        numeric=1,
    ),
    _d(
        "phone",
        P,
        # North American: (415) 555-2671, 415-555-2671, 415.555.2671, and with the trunk
        # prefix, 1-800-555-0199 or 1 (415) 555-2671.
        r"(?:1[-. ])?(?:\([2-9][0-9]{2}\)[ ]?|[2-9][0-9]{2}[-. ])[2-9][0-9]{2}[-. ][0-9]{4}",
        (),
        validate=v.all_of(v.bounded(_PHONE_EDGE, _PHONE_EDGE), v.national_phone),
        token="phone",
        numeric=1,
    ),
    _d(
        "phone",
        P,
        # A trunk prefix (0...), bare or in brackets, then groups of digits: 020 7946 0958,
        # (020)7946 0958, 030/1234567, 06 12 34 56 78.
        r"(?:0[1-9][0-9]{0,3}[ /-]|\(0[1-9][0-9]{0,3}\)[ ]?)[0-9]{2,8}(?:[ -][0-9]{2,8}){0,3}",
        (),
        validate=v.all_of(v.bounded(_PHONE_EDGE, _PHONE_EDGE), v.trunk_phone),
        token="phone",
        numeric=1,
        shrink=" ",
    ),
    _d(
        "phone",
        P,
        # French, in pairs with dots: 01.23.45.67.89.
        r"0[1-9](?:\.[0-9]{2}){4}",
        (),
        validate=v.all_of(v.bounded(_PHONE_EDGE, _PHONE_EDGE), v.trunk_phone),
        token="phone",
        numeric=1,
    ),
    _d(
        "ipv4",
        P,
        r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}",
        (),
        validate=v.all_of(v.bounded(_NUMERIC_EDGE, frozenset("0123456789")), v.ipv4),
        token="ipv4",
        numeric=1,
    ),
    _d(
        "ipv6",
        P,
        r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
        (),
        validate=v.all_of(v.bounded(_ALNUM | {":"}, _ALNUM | {":"}), v.ipv6),
        token="ipv6",
        # Three colons close together: every address the validator accepts (3+ groups) has
        # them, and a pattern that starts with a literal ":" is scanned for quickly.
        hint=r":[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
    ),
)
"""Every built-in detector, most specific first (ties in position go to the earlier one)."""


def detector_names() -> tuple[str, ...]:
    """The names of the built-in detectors, without duplicates, in priority order."""
    return tuple(dict.fromkeys(d.name for d in BUILTIN_DETECTORS))
