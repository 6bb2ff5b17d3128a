"""The redaction policy: which detectors run, which headers and fields are masked whole, the key.

A policy is data (a frozen pydantic model), so it can live in a config file and be hashed into
the rule set version recorded in each cassette's manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

# The regex parser of Python 3.11+ (private, as in _loosen).
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._detectors import detector_names
from ._names import ALWAYS_SECRET, DEFAULT_SECRET_FIELDS

__all__ = [
    "DEFAULT_HEADER_DENYLIST",
    "DEFAULT_SECRET_FIELDS",
    "RULE_SET_VERSION",
    "FieldRule",
    "KeySource",
    "RedactionPolicy",
    "UserPattern",
]

RULE_SET_VERSION = "7"
"""Bumped whenever a built-in detector, token format or default list changes."""

DEFAULT_HEADER_DENYLIST: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "x-functions-key",
        "x-auth-token",
        "x-amz-security-token",
        "x-csrf-token",
        "x-xsrf-token",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
        "anthropic-organization",
        "x-organization-id",
        "x-forwarded-for",
        "x-real-ip",
        "cf-connecting-ip",
    }
)
"""Headers whose values are masked whole, compared without regard to case."""

PII_FIELDS: dict[str, str] = {
    "phone": "phone",
    "phonenumber": "phone",
    "mobile": "phone",
    "mobilenumber": "phone",
    "msisdn": "phone",
    "fax": "phone",
    "faxnumber": "phone",
    "whatsapp": "phone",
    "ssn": "ssn",
    "socialsecuritynumber": "ssn",
}
"""Field names (normalised as ``DEFAULT_SECRET_FIELDS``) whose value, when it has the shape of
a phone number or a US SSN, is one even without the separators the text detectors need to
tell it from an id (``{"phone": "4155552671"}``); the value maps to the token format."""

_RULE_PATH = re.compile(
    r"""^(?:[A-Za-z_*][\w*-]*(?:\[[^\]]*\])?|\*\*)(?:\.(?:[^.\[\]]+|\*\*)(?:\[[^\]]*\])?|\[[^\]]*\])*$"""
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class KeySource(_Frozen):
    """Where the pseudonymisation key comes from."""

    file: Path | None = None
    """A key file (hex text or raw bytes); takes precedence over the environment variable."""
    env: str | None = "RETAKE_REDACTION_KEY"
    """The environment variable holding the key (hex, or any text of 16+ bytes)."""
    allow_random: bool = True
    """Without a key, use a random per-session key (with a warning) instead of failing."""


class FieldRule(_Frozen):
    """Mask a field whole, wherever its JSON path matches.

    ``path`` is dotted keys from the root of a value, with ``*`` for any one key or index,
    ``**`` for any depth and ``[n]``/``[*]`` for list items. It may start with an event kind,
    optionally naming the tool: ``tool_call[send_email].arguments.body`` matches the
    ``arguments.body`` of every call of ``send_email`` (in tool-call events and in the model's
    own tool calls alike); ``header.tags.customer`` matches in a cassette's header.
    """

    path: str
    """The JSON path pattern."""
    reason: str = ""
    """Why the field is masked; shown nowhere but in the policy file."""

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        if not value or not _RULE_PATH.match(value):
            raise ValueError(
                f"path={value!r} is not a field path; write dotted keys such as "
                "'tool_call[send_email].arguments.body', 'note.data.*.email' or '**.ssn'"
            )
        return value


class UserPattern(_Frozen):
    """A detector from configuration: a regular expression and a name for what it finds."""

    name: str
    """The detector's name in findings and counts (``user:<name>``)."""
    pattern: str
    """A Python regular expression; group 1, when present, is the part that is replaced."""
    literals: tuple[str, ...] = ()
    """Substrings of which one must occur before the regex runs (a speed gate); optional."""
    ignore_case: bool = False
    """Match without regard to case."""
    category: Literal["secret", "pii"] = "secret"
    """Credentials or personal data (recall is counted separately)."""
    format: Literal["secret", "email", "phone", "card", "uuid", "ipv4"] = "secret"
    """The token shape that replaces a match."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern={value!r} does not compile: {exc}") from exc
        if compiled.match(""):
            raise ValueError(
                f"pattern={value!r} matches the empty string; it would match everywhere"
            )
        slow = _nested_repeat(sre_parse.parse(value).data)
        if slow is not None:
            where = _offending_group(value, slow) or value
            how = (
                "time exponential in the length of the text"
                if slow == "exponential"
                else "time that grows as a power of the length of the text"
            )
            raise ValueError(
                f"pattern={value!r} repeats a group that holds a repeat, in {where!r}: it can "
                f"match the same text in many ways, and that takes {how} (Python's re has no "
                "time limit, so recording would hang); write the inner one possessive (a++, "
                "\\w*+) or its group atomic ((?>...)), end it at a character it cannot match "
                "([a-z]+\\.), or repeat something of fixed length"
            )
        return value


_BACKTRACKING = (sre.MAX_REPEAT, sre.MIN_REPEAT)
_CHAR_OPS = (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY, sre.CATEGORY)
_PROBE = [chr(c) for c in range(0x3000)]
"""Characters tried when asking whether two character classes share one."""
Slowness = Literal["exponential", "polynomial"]


def _nested_repeat(items: Any, outer: int = 0) -> Slowness | None:
    """Whether a repeat that can backtrack (``+``, ``*``, ``{m,n}``; not a possessive one)
    holds another that varies in length, outside an atomic group, such that the two can
    share out the same text in many ways: ``(a+)+``, ``(\\w+\\s?)*``. ``outer`` is the
    largest maximum of the enclosing repeats (0: none).

    Not refused: an inner repeat followed in its group by a character it cannot match
    (``([a-z0-9-]+\\.)+``: each round ends at the dot), and an inner repeat of bounded length
    in an outer one of bounded count (``(\\d{1,3}\\.){3}``), whose tries are bounded too.
    ``"exponential"`` when the outer repeat is unbounded; ``"polynomial"`` when it has a
    count (``(\\w+\\s?){0,3}``: the tries grow as the text's length to that power). Only the
    obvious cases: ``(a|a)*`` backtracks as badly and passes."""
    for i, (op, av) in enumerate(items):
        if op in _BACKTRACKING:
            lo, hi, sub = av
            if outer > 1 and hi != lo and not _ends_at(items, i, sub):
                if outer == sre.MAXREPEAT:
                    return "exponential"
                if hi == sre.MAXREPEAT:
                    return "polynomial"
            found = _nested_repeat(sub, max(outer, hi) if hi > 1 else outer)
        elif op is sre.POSSESSIVE_REPEAT:
            found = _nested_repeat(av[2], outer)
        elif op is sre.SUBPATTERN:
            found = _nested_repeat(av[3], outer)
        elif op is sre.BRANCH:
            found = next((f for b in av[1] if (f := _nested_repeat(b, outer)) is not None), None)
        elif op is sre.ATOMIC_GROUP:
            found = _nested_repeat(av)  # what it matched is never tried again another way
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _nested_repeat(av[1], outer)
        elif op is sre.GROUPREF_EXISTS:
            found = _nested_repeat(av[1], outer) or (
                _nested_repeat(av[2], outer) if av[2] is not None else None
            )
        else:
            found = None
        if found is not None:
            return found
    return None


def _ends_at(items: Any, i: int, sub: Any) -> bool:
    """Whether the repeat ``items[i]`` (of ``sub``) is followed in ``items`` by a single
    character that no character of ``sub`` can be: where it stops is then forced."""
    if i + 1 >= len(items) or len(sub) != 1 or sub[0][0] not in _CHAR_OPS:
        return False
    follower = items[i + 1]
    if follower[0] not in _CHAR_OPS:
        return False
    try:
        mine = re._compiler.compile(sre_parse.SubPattern(sub.state, [sub[0]]), 0)  # type: ignore[attr-defined]
        next_ = re._compiler.compile(sre_parse.SubPattern(sub.state, [follower]), 0)  # type: ignore[attr-defined]
    except Exception:  # an unusual shape: treat it as unguarded
        return False
    return not any(mine.match(c) and next_.match(c) for c in _PROBE)


def _offending_group(pattern: str, slow: Slowness) -> str | None:
    """The smallest repeated group of ``pattern`` that is refused on its own as ``slow``, as
    written."""
    found: list[str] = []
    stack: list[int] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]" or pattern[i + 1 : i + 3] == "^]":
                i += 2 if pattern[i + 1] == "]" else 3
                continue
        elif c == "(":
            stack.append(i)
        elif c == ")" and stack:
            start = stack.pop()
            q = _QUANTIFIER.match(pattern, i + 1)
            if q is not None:
                found.append(pattern[start : q.end()])
        i += 1
    for text in sorted(found, key=len):
        try:
            if _nested_repeat(sre_parse.parse(text).data) == slow:
                return text
        except Exception:  # a back-reference or a flag that needs the rest: skip it
            continue
    return None


_QUANTIFIER = re.compile(r"(?:[*+?]|\{\d*,?\d*\})[?+]?")


class RedactionPolicy(_Frozen):
    """Everything that decides what redaction replaces, and with which key."""

    key: KeySource = Field(default_factory=KeySource)
    """Where the pseudonymisation key comes from."""
    disabled_detectors: frozenset[str] = frozenset()
    """Built-in detectors to switch off, by name (``ipv4``, ``phone``, ...)."""
    header_denylist: frozenset[str] = DEFAULT_HEADER_DENYLIST
    """HTTP headers whose values are masked whole (any case)."""
    extra_headers: frozenset[str] = frozenset()
    """Headers masked in addition to ``header_denylist``."""
    secret_fields: tuple[str, ...] = DEFAULT_SECRET_FIELDS
    """Key-like field names whose random-looking string values are credentials (compared in
    lower case without ``-``, ``_`` or spaces; a name ending in one counts)."""
    extra_secret_fields: tuple[str, ...] = ()
    """Field names treated as ``secret_fields`` in addition to them."""
    field_rules: tuple[FieldRule, ...] = ()
    """Fields masked whole by JSON path."""
    user_patterns: tuple[UserPattern, ...] = ()
    """Extra detectors from configuration."""

    @field_validator("disabled_detectors")
    @classmethod
    def _known_detectors(cls, value: frozenset[str]) -> frozenset[str]:
        known = set(detector_names())
        unknown = sorted(value - known)
        if unknown:
            raise ValueError(
                f"unknown detector(s) {unknown!r}; the built-in detectors are {sorted(known)!r}"
            )
        return value

    @property
    def headers(self) -> frozenset[str]:
        """Every denied header name, lower case."""
        return frozenset(h.lower() for h in self.header_denylist | self.extra_headers)

    @field_validator("secret_fields", "extra_secret_fields")
    @classmethod
    def _normalised(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = (v.lower().replace("-", "").replace("_", "").replace(" ", "") for v in value)
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def fields(self) -> tuple[str, ...]:
        """Every secret field name: ``secret_fields`` and ``extra_secret_fields``."""
        extra = tuple(f for f in self.extra_secret_fields if f not in self.secret_fields)
        return self.secret_fields + extra

    @property
    def always_secret_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f in ALWAYS_SECRET)

    def rule_set_version(self) -> str:
        """The built-in rule set version plus a digest of this policy (the key excluded)."""
        data = self.model_dump(mode="json", exclude={"key"})
        for name, value in data.items():
            if isinstance(value, list) and name in (
                "disabled_detectors",
                "header_denylist",
                "extra_headers",
            ):
                data[name] = sorted(value)  # frozensets: their order varies between processes
        body = json.dumps(data, sort_keys=True).encode()
        return f"{RULE_SET_VERSION}+{hashlib.sha256(body).hexdigest()[:12]}"
