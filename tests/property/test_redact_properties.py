"""Redaction properties: idempotence, equal in equal out, tokens keep their format."""

from __future__ import annotations

import gzip
import ipaddress
import json
import re
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from retake.redact import (
    BUILTIN_DETECTORS,
    RedactionKey,
    RedactionPolicy,
    Redactor,
    UserPattern,
    scan,
)
from retake.redact._matching import BUILTIN_SET, DetectorSet
from retake.redact._validators import luhn_ok

KEY = RedactionKey(b"property-test-key-0123456789abcd", "given")
REDACTOR = Redactor(key=KEY)


def _luhn(body: str) -> str:
    for d in string.digits:
        if luhn_ok(body + d):
            return body + d
    raise AssertionError("unreachable")


cards = st.builds(
    lambda prefix, body, sep: sep.join(
        (lambda n: [n[i : i + 4] for i in range(0, 16, 4)])(_luhn((prefix + body)[:15]))
    ),
    st.sampled_from(["4", "51", "55"]),  # 16 digits: Visa and Mastercard issue that length
    st.text(string.digits, min_size=14, max_size=14),
    st.sampled_from(["", " ", "-"]),
)
emails = st.builds(
    lambda user, host, tld: f"{user}@{host}.{tld}",
    st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "org", "io", "co.uk", "example"]),
)
phones = st.one_of(
    st.from_regex(r"\+(1|44|49|33) [1-9][0-9]{2} [0-9]{3} [0-9]{4}", fullmatch=True),
    st.from_regex(r"\([2-9][0-9]{2}\) [2-9][0-9]{2}-[0-9]{4}", fullmatch=True),
    st.from_regex(r"[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}", fullmatch=True),
    st.from_regex(r"0[1-9][0-9]{2} [0-9]{3} [0-9]{4}", fullmatch=True),
    st.from_regex(r"\(0[1-9][0-9]\) ?[0-9]{7}", fullmatch=True),
    st.from_regex(r"0[1-9][0-9][ /][0-9]{7}", fullmatch=True),
)
ipv4s = st.ip_addresses(v=4).filter(lambda a: a.is_global).map(str)
uuids = st.uuids().map(str)
sensitive = st.one_of(cards, emails, phones, ipv4s)

words = st.sampled_from(
    [
        "the",
        "order",
        "A-1042",
        "HAT136",
        "2024-05-20",
        "mia_li_3668",
        "refund",
        "$240",
        "Basic",
        "economy",
        "call",
        ":",
        "key",
        "token",
        "sk-",
        "@",
        "+1",
        "0",
        "(",
        ")",
        "\n",
    ]
)
texts = st.lists(st.one_of(words, sensitive, st.text(max_size=6)), max_size=12).map(" ".join)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), texts, sensitive),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["text", "body", "password", "headers", "args", "n"]),
            children,
            max_size=4,
        ),
        children.map(lambda v: json.dumps(v)),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_redacting_twice_changes_nothing(value: Any) -> None:
    once = REDACTOR.redact(value)
    assert REDACTOR.redact(once) == once


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_redacted_values_scan_clean(value: Any) -> None:
    assert scan(REDACTOR.redact(value)) == []


@settings(max_examples=200, deadline=None)
@given(
    sensitive,
    st.lists(st.sampled_from(["the", "order", "refund", "is", "HAT-X"]), max_size=3).map(" ".join),
)
def test_equal_inputs_give_equal_tokens_in_any_context(value: str, context: str) -> None:
    alone = REDACTOR.redact(value)
    assert alone != value
    embedded = Redactor(key=KEY).redact({"a": f"{context} {value} end", "b": [value]})
    assert embedded["b"] == [alone]
    assert f" {alone} end" in embedded["a"]


def is_valid_email(value: str) -> bool:
    return re.fullmatch(r"[a-z0-9._+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}", value) is not None


def is_valid_card(value: str, like: str) -> bool:
    d = re.sub(r"\D", "", value)
    return (
        len(value) == len(like)
        and luhn_ok(d)
        and re.sub(r"\d", "9", value) == re.sub(r"\d", "9", like)
    )


def is_valid_phone(value: str, like: str) -> bool:
    return re.sub(r"\d", "9", value) == re.sub(r"\d", "9", like)


def is_valid_uuid(value: str) -> bool:
    shape = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    return re.fullmatch(shape, value) is not None


@settings(max_examples=200, deadline=None)
@given(emails)
def test_email_tokens_are_emails(value: str) -> None:
    token = REDACTOR.redact(value)
    assert token != value and is_valid_email(token)


@settings(max_examples=200, deadline=None)
@given(cards)
def test_card_tokens_are_cards(value: str) -> None:
    token = REDACTOR.redact(value)
    assert token != value and is_valid_card(token, value)


@settings(max_examples=200, deadline=None)
@given(phones)
def test_phone_tokens_are_phones(value: str) -> None:
    token = REDACTOR.redact(value)
    assert token != value and is_valid_phone(token, value)


@settings(max_examples=200, deadline=None)
@given(ipv4s)
def test_ipv4_tokens_are_documentation_addresses(value: str) -> None:
    token = REDACTOR.redact(value)
    assert token != value and not ipaddress.IPv4Address(token).is_global


@settings(max_examples=100, deadline=None)
@given(uuids)
def test_uuid_tokens_are_uuids(value: str) -> None:
    policy = RedactionPolicy(
        user_patterns=(
            UserPattern(
                name="id", pattern=r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", format="uuid"
            ),
        )
    )
    r = Redactor(policy, key=KEY)
    token = r.redact(value)
    assert is_valid_uuid(token) and token != value
    assert r.redact(token) == token


# A user pattern turns off the one-pass screen of all strings; the result must not change.
UNSCREENED = Redactor(
    RedactionPolicy(user_patterns=(UserPattern(name="never", pattern="\x01never\x01"),)),
    key=KEY,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_screening_all_strings_at_once_changes_nothing(value: Any) -> None:
    assert Redactor(key=KEY).redact(value) == UNSCREENED.redact(value)


# The Hyperscan prefilter only skips detectors that cannot match; what is found is the same.
EVERY_DETECTOR = DetectorSet(BUILTIN_DETECTORS)


@settings(max_examples=500, deadline=None)
@given(st.one_of(texts, st.text(max_size=40), sensitive))
def test_the_prefilter_finds_what_every_detector_finds(text: str) -> None:
    assert BUILTIN_SET.find(text) == EVERY_DETECTOR.find(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(texts, st.text(max_size=20), sensitive), min_size=1, max_size=8))
def test_the_screen_flags_every_string_a_detector_matches(strings: list[str]) -> None:
    _, flagged = BUILTIN_SET.screen(strings)
    assert {i for i, s in enumerate(strings) if EVERY_DETECTOR.find(s)} <= flagged


bodies = texts.map(str.encode) | texts.map(lambda t: gzip.compress(t.encode(), mtime=0))
values_with_bytes: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.integers(), texts, sensitive, bodies),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["body", "api_key", "headers", "n"]), children, max_size=3),
        children.map(lambda v: json.dumps(v, default=lambda b: b.decode("latin-1"))),
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(values_with_bytes)
def test_screening_bytes_with_the_strings_changes_nothing(value: Any) -> None:
    assert Redactor(key=KEY).redact(value) == UNSCREENED.redact(value)
