"""Each detector finds what it should, and leaves alone what looks close but is not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from retake.redact import BUILTIN_DETECTORS, RedactionKey, Redactor, detector_names, scan
from retake.redact._matching import BUILTIN_SET, DetectorSet
from retake.redact._validators import iban_ok, is_high_entropy, luhn_ok


def fired(text: str) -> list[tuple[str, str]]:
    return [(m.detector.name, text[m.start : m.end]) for m in BUILTIN_SET.find(text)]


POSITIVE = [
    (
        "openai_key",
        "key sk-abcdefghijklmnopqrstuvwx1234567890ABCDEFGHIJKL ok",
        "sk-abcdefghijklmnopqrstuvwx1234567890ABCDEFGHIJKL",
    ),
    (
        "openai_key",
        "sk-proj-Ab3_dEf-GhIjKlMnOpQrStUvWxYz0123",
        "sk-proj-Ab3_dEf-GhIjKlMnOpQrStUvWxYz0123",
    ),
    (
        "anthropic_key",
        "x=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx_yz-0123456789",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx_yz-0123456789",
    ),
    ("aws_access_key", "id AKIAIOSFODNN7EXAMPLE.", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_key",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "github_token",
        "token ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    ),
    ("slack_token", "xoxb-123456789012-abcdefABCDEF", "xoxb-123456789012-abcdefABCDEF"),
    (
        "google_api_key",
        "AIzaSyA-0123456789abcdefghijklmnopqrstu",
        "AIzaSyA-0123456789abcdefghijklmnopqrstu",
    ),
    ("stripe_key", "sk_live_0123456789abcdefABCD", "sk_live_0123456789abcdefABCD"),
    (
        "jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    ),
    ("authorization", "Authorization: Bearer abc.def-123", "Bearer abc.def-123"),
    ("bearer", "use Bearer 0123456789abcdefXYZ now", "0123456789abcdefXYZ"),
    ("basic_auth", "Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("cookie", "Cookie: sid=abc; theme=dark", "sid=abc; theme=dark"),
    (
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "private_key",
        "-----BEGIN EC PRIVATE KEY-----\nMHcC (truncated",
        "-----BEGIN EC PRIVATE KEY-----\nMHcC (truncated",
    ),
    ("url_password", "redis://user:s3cr3t@cache:6379/0", "s3cr3t"),
    ("secret_assignment", "DB_PASSWORD=hunter2hunter2", "hunter2hunter2"),
    ("email", "Write to mia.li3818@example.com.", "mia.li3818@example.com"),
    ("phone", "call +44 20 7946 0958 today", "+44 20 7946 0958"),
    ("phone", "call (415) 555-2671.", "(415) 555-2671"),
    ("phone", "call 415-555-2671", "415-555-2671"),
    # with the North American trunk prefix
    ("phone", "toll-free: 1-800-555-0199.", "1-800-555-0199"),
    ("phone", "call 1 (415) 555-2671", "1 (415) 555-2671"),
    ("phone", "ring 020 7946 0958", "020 7946 0958"),
    ("phone", "ring (020) 7946 0958 now", "(020) 7946 0958"),
    ("phone", "Tel. 030 1234567", "030 1234567"),
    ("phone", "Tel. (020)7946 0958", "(020)7946 0958"),
    ("phone", "Tel. 030/1234567", "030/1234567"),
    # followed by another number: too long as one match, found without the tail
    ("phone", "call (020) 7946 0958 24 hours a day", "(020) 7946 0958"),
    ("phone", "Tel. 030 1234567 12 lines", "030 1234567"),
    # preceded by a shorter group: the number is the later one, not the group and its area code
    ("phone", "04109 0341 1234567", "0341 1234567"),
    ("phone", "Zi. 01 2345 030 1234567", "030 1234567"),
    ("phone", "Tel. 030 20120315", "030 20120315"),
    ("card", "card 4111 1111 1111 1111.", "4111 1111 1111 1111"),
    ("card", "card 4012-8888-8888-1881", "4012-8888-8888-1881"),
    ("card", "amex 378282246310005", "378282246310005"),
    ("iban", "to GB82 WEST 1234 5698 7654 32 now", "GB82 WEST 1234 5698 7654 32"),
    ("iban", "DE89370400440532013000", "DE89370400440532013000"),
    ("ssn", "ssn 123-45-6789", "123-45-6789"),
    ("ipv4", "from 81.2.69.160 at", "81.2.69.160"),
    ("ipv6", "from 2a00:1450:4001:82a::200e via", "2a00:1450:4001:82a::200e"),
    ("ipv6", "2607:f8b0:4005:80a:0:0:0:200e", "2607:f8b0:4005:80a:0:0:0:200e"),
    ("url_password", "redis://:p4ssw0rdRedis@localhost:6379/0", "p4ssw0rdRedis"),
    # an address in a URL's path is one; a product's version (Chrome/124.0.0.0) is not
    ("ipv4", "GET /v1/hosts/81.2.69.160", "81.2.69.160"),
    ("ipv4", "curl http://gw/81.2.69.160", "81.2.69.160"),
    ("cookie", 'document.cookie = "sessionid=a467b2c9d8e7f6a5"', "sessionid=a467b2c9d8e7f6a5"),
    ("email", "write to mary.o'connor@example.ie now", "mary.o'connor@example.ie"),
    # a credential's name, alone or within a longer one, as a .env file or a log holds it
    ("secret_assignment", "access_token=9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706"),
    ("secret_assignment", "TWILIO_AUTH_TOKEN=878d2a1b3c4d5e6f", "878d2a1b3c4d5e6f"),
    ("secret_assignment", 'DJANGO_SECRET_KEY = "x9y8z7w6v5u4"', "x9y8z7w6v5u4"),
    ("secret_assignment", "db_password_v2: Tr0ub4dor-3x", "Tr0ub4dor-3x"),
    # any other name ending in key or token, when the value looks random
    ("secret_assignment", "HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUv012", "hf_AbCdEfGhIjKlMnOpQrStUv012"),
    ("secret_assignment", "ENCRYPTION_KEY=3q2AbCdEf0123456789xyz", "3q2AbCdEf0123456789xyz"),
    (
        "secret_assignment",
        "AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFi==;EndpointSuffix=x",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFi==",
    ),
]


@pytest.mark.parametrize(("detector", "text", "match"), POSITIVE)
def test_detector_finds(detector: str, text: str, match: str) -> None:
    assert (detector, match) in fired(text)


NEGATIVE = [
    "mia_li_3668",
    "reservation OI5L9G on flight HAT136 from JFK to SEA on 2024-05-20 at 15:00:00",
    "certificate_7504069 and credit_card_4421486 pay $1,234.56",
    "Basic economy flights cannot be modified; basic information is public",
    "the task-scheduler and disk-cleanup-utility-for-windows-servers",
    "max_tokens: 1024, bearer token authentication is described below",
    "version 1.2.3.4.5 and 10.0.0 and 127.0.0.1 and 192.0.2.44",
    "card 4111 1111 1111 1112 fails Luhn; 0468 8617 5506 1058 starts with 0",
    "ssn 666-12-3456 and 000-12-3456 are never issued",
    "call +999 123 456 7890 or 00 12 34 56 78",
    "std::vector<int>::iterator and a::b",
    "gt_data_hash ea1402bc4f27311c55d06e318cef7d22ed1f33431a33ada16db71c4177283103",
    "call_I3WHVqSB8LfMWiSb44Q4ohBh toolu_0167cfEnoQaPviGdVXA95zcu",
    "user-1a2b3c4d5e@redacted.example and <REDACTED:openai_key:0a1b2c3d>",
    "zip 77243, total 523, 3 bags, seat 12A, gate B22",
    "SORT_KEY=created_at PRIMARY_KEY=id partition_key: region max_tokens=1000 tokens: 523",
    "the secretary: Johnson; compass=north; bypass_mode=enabled; token_count: 1234567",
    # names that go on past the credential word are about it, not it
    "password_expires_at=2024-05-01T00:00:00Z secret_name=prod-db-credentials",
    "token_endpoint: https://oauth2.googleapis.com/token",
    "api_key_created_at=2024-05-01",
    # Luhn-valid by chance, but no payment network issues them: a snowflake id, a timestamp
    "message 1237851390123456784 at 1716387742133",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_detector_leaves_alone(text: str) -> None:
    assert fired(text) == []


def test_overlap_prefers_the_secret_over_personal_data() -> None:
    assert fired("postgres://admin:hunter22@db.example.com/x") == [("url_password", "hunter22")]


def test_validators() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert not iban_ok("GB83 WEST 1234 5698 7654 32")
    assert is_high_entropy("q8Zr2LmX0pT7vN4kS1wE")
    assert not is_high_entropy("aaaaaaaaaaaaaaaaaaaa1")
    assert not is_high_entropy("this is a sentence 123")


def test_names_are_unique_per_kind() -> None:
    names = detector_names()
    assert len(names) == len(set(names))
    assert set(names) == {d.name for d in BUILTIN_DETECTORS}
    assert {"openai_key", "email", "phone", "card", "iban", "ssn", "ipv4", "ipv6"} <= set(names)


@pytest.mark.parametrize(
    "text",
    [
        "user-9950bf11a3@redacted.example",
        "mail user-9950bf11a3@REDACTED.example, or x.y@redacted.example.com",
        "user-1@redacted.example@foo.com",  # a real address starts inside the token's domain
        ".+x@redacted.example bob@example.org",
        "a" * 80 + "@redacted.example",
    ],
)
def test_email_search_skips_a_rejected_domain_without_losing_a_match(text: str) -> None:
    retry_everywhere = DetectorSet(replace(d, resume=None) for d in BUILTIN_DETECTORS)
    expected = [(m.detector.name, m.start, m.end) for m in retry_everywhere.find(text)]
    assert [(m.detector.name, m.start, m.end) for m in BUILTIN_SET.find(text)] == expected


def test_two_national_numbers_in_a_row_are_both_found() -> None:
    phones = [m for d, m in fired("phones: 030 1234567 or 040 7654321") if d == "phone"]
    assert phones == ["030 1234567", "040 7654321"]


@pytest.mark.parametrize(
    "text",
    [
        "04109 0341 1234567",
        "Zi. 01 2345 030 1234567",
        "0171 23 45 030 98765432",
        "04109 0341 1234567 24",
        "Zi. 01 2345 030 1234567 12",
    ],
)
def test_no_subscriber_digits_survive_a_group_before_the_number(text: str) -> None:
    subscriber = max(text.split(" "), key=len)
    out = Redactor(key=RedactionKey(b"detector-test-key-0123456789", "given")).redact(text)
    assert subscriber not in out and scan(out) == []


def test_a_number_whose_longest_cut_is_refused_is_still_found_shorter() -> None:
    phones = [m for d, m in fired("030 123456 01 23456789") if d == "phone"]
    assert phones == ["030 123456", "01 23456789"]
