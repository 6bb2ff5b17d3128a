"""Keyed pseudonymisation: stable, format-preserving tokens, and careful key handling."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from retake.errors import RedactionError
from retake.redact import (
    EphemeralKeyWarning,
    KeySource,
    RedactionKey,
    RedactionPolicy,
    Redactor,
    scan,
)
from retake.redact._validators import luhn_ok

KEY = RedactionKey(b"pseudonymise-test-key-0123456789", "given")
SRC = str(Path(__file__).resolve().parents[3] / "src")


def test_same_value_same_token_different_values_differ() -> None:
    r = Redactor(key=KEY)
    a = r.redact("mail mia@example.com and mia@example.com, not omar@example.com")
    tokens = re.findall(r"user-[0-9a-f]+@redacted\.example", a)
    assert len(tokens) == 3
    assert tokens[0] == tokens[1] != tokens[2]


def test_email_case_does_not_matter() -> None:
    r = Redactor(key=KEY)
    assert r.redact("Mia@Example.com") == r.redact("mia@example.com")


def test_other_key_other_tokens() -> None:
    other = RedactionKey(b"another-key-abcdefghijklmnopqrstu", "given")
    text = "key sk-abcdefghijklmnopqrstuvwx1234567890"
    assert Redactor(key=KEY).redact(text) != Redactor(key=other).redact(text)


def test_tokens_are_stable_across_processes() -> None:
    code = (
        "from retake.redact import Redactor, RedactionKey;"
        "print(Redactor(key=RedactionKey(b'pseudonymise-test-key-0123456789', 'given'))"
        ".redact('sk-abcdefghijklmnopqrstuvwx1234567890 +44 20 7946 0958 4111 1111 1111 1111'))"
    )
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    here = Redactor(key=KEY).redact(
        "sk-abcdefghijklmnopqrstuvwx1234567890 +44 20 7946 0958 4111 1111 1111 1111"
    )
    assert out == here


@pytest.mark.parametrize(
    "card", ["4111 1111 1111 1111", "4012-8888-8888-1881", "378282246310005", "5555555555554444"]
)
def test_card_token_keeps_length_separators_and_luhn(card: str) -> None:
    token = Redactor(key=KEY).redact(card)
    assert token != card
    assert len(token) == len(card)
    assert [c for c in token if not c.isdigit()] == [c for c in card if not c.isdigit()]
    assert luhn_ok("".join(c for c in token if c.isdigit()))


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "(415) 555-2671",
        "415.555.2671",
        "+14155552671",
        "020 7946 0958",
        "(020) 7946 0958",
        "030 1234567",
        "1-800-555-0199",
        "1 (415) 555-2671",
    ],
)
def test_phone_token_keeps_shape(phone: str) -> None:
    token = Redactor(key=KEY).redact(phone)
    assert token != phone
    assert re.sub(r"\d", "9", token) == re.sub(r"\d", "9", phone)


def test_ip_and_ssn_tokens() -> None:
    r = Redactor(key=KEY)
    v4 = r.redact("81.2.69.160")
    assert ipaddress.ip_address(v4) in ipaddress.ip_network("192.0.0.0/3")  # doc ranges
    assert v4.startswith(("192.0.2.", "198.51.100.", "203.0.113."))
    v6 = r.redact("2a00:1450:4001:82a::200e")
    assert ipaddress.ip_address(v6) in ipaddress.ip_network("2001:db8::/32")
    assert re.fullmatch(r"666-\d\d-\d{4}", r.redact("123-45-6789"))


def test_secret_token_shape() -> None:
    out = Redactor(key=KEY).redact("AKIAIOSFODNN7EXAMPLE")
    assert re.fullmatch(r"<REDACTED:aws_access_key:[0-9a-f]{8}>", out)


def test_uuid_format_from_a_user_pattern() -> None:
    policy = RedactionPolicy(
        user_patterns=({"name": "customer", "pattern": r"cust-([0-9a-f-]{36})", "format": "uuid"},)
    )
    r = Redactor(policy, key=KEY)
    value = "cust-123e4567-e89b-12d3-a456-426614174000"
    out = r.redact(value)
    uuid = out.removeprefix("cust-")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid
    )
    assert r.redact(out) == out


def test_fingerprint_is_not_the_key_and_repr_hides_it() -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", KEY.fingerprint)
    assert KEY.secret.hex() not in repr(KEY)
    assert b"pseudonymise" not in repr(KEY).encode()
    manifest = Redactor(key=KEY).manifest()
    assert manifest.key_fingerprint == KEY.fingerprint
    assert KEY.secret.hex() not in manifest.model_dump_json()


def test_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAKE_REDACTION_KEY", "00" * 32)
    r = Redactor()
    assert r.key.source == "env:RETAKE_REDACTION_KEY"
    assert r.key.secret == bytes(32)


def test_key_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETAKE_REDACTION_KEY", raising=False)
    path = tmp_path / "redaction.key"
    path.write_text("ab" * 32 + "\n")
    r = Redactor(RedactionPolicy(key=KeySource(file=path)))
    assert r.key.secret == bytes.fromhex("ab" * 32)


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RedactionError, match="cannot read the redaction key file"):
        Redactor(RedactionPolicy(key=KeySource(file=tmp_path / "absent.key")))


def test_short_key_is_refused() -> None:
    with pytest.raises(RedactionError, match="at least 16"):
        RedactionKey.from_text("short")


def test_random_key_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETAKE_REDACTION_KEY", raising=False)
    with pytest.warns(EphemeralKeyWarning, match="different tokens in different cassettes"):
        r = Redactor()
    assert r.key.source == "random"


def test_no_random_key_when_not_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETAKE_REDACTION_KEY", raising=False)
    with pytest.raises(RedactionError, match="no redaction key"):
        Redactor(RedactionPolicy(key=KeySource(allow_random=False)))


def test_tokens_never_trigger_the_scan() -> None:
    r = Redactor(key=KEY)
    text = (
        "sk-abcdefghijklmnopqrstuvwx1234567890 mia@example.com +44 20 7946 0958 "
        "4111 1111 1111 1111 123-45-6789 81.2.69.160 2a00:1450:4001:82a::200e "
        "GB82 WEST 1234 5698 7654 32 (415) 555-2671"
    )
    out = r.redact(text)
    assert scan(out) == []
    assert r.redact(out) == out
