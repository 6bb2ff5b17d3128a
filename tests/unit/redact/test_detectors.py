"""Each detector finds what it should, and leaves alone what looks close but is not."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("<Password>hunter2-xyz</Password>", "hunter2-xyz"),
        ('<ns:Password type="plain">s3cr3t!pw</ns:Password>', "s3cr3t!pw"),
        ("<client_secret>s3cr3tValue!</client_secret>", "s3cr3tValue!"),
        ("<ApiKey>abcDEF123456</ApiKey>", "abcDEF123456"),
        ("<AccessToken>XLtlkst2nHG6XXpNvghKq</AccessToken>", "XLtlkst2nHG6XXpNvghKq"),
        ("<DbPassword>Enabled1</DbPassword>", "Enabled1"),
        ("<Password><![CDATA[hunter2x]]></Password>", "hunter2x"),
        ("<Password>\n    hunter2x\n  </Password>", "hunter2x"),
        ("<SecretKey>wJalrXUtnFEMI</SecretKey>", "wJalrXUtnFEMI"),
        ("<PrivateKey>MIIEvQIBADANBgkq</PrivateKey>", "MIIEvQIBADANBgkq"),
        ('<add key="DbPassword" value="hunter2x"/>', "hunter2x"),
        ('<add key="Stripe:ApiKey" value="rk_abc123xyz" />', "rk_abc123xyz"),
    ],
)
def test_a_secret_in_an_xml_element_is_found(text: str, secret: str) -> None:
    assert ("secret_assignment", secret) in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "<Password></Password> <Token>abc</Token>",
        "<PasswordPolicy>strong12</PasswordPolicy>",
        "<secret>the thing</secret> <TokenType>Bearer</TokenType>",
        "<NextToken>page-two</NextToken>",
        # named so in an attribute, not by the element
        "<label for=password>Password</label>",
        "<td class=secret>Topsecret</td>",
        '<span data-kind="apikey">Generate</span>',
        # a setting about the secret, or its name again
        "<Secret>Enabled</Secret>",
        "<RequirePassword>false</RequirePassword> <Password>Password</Password>",
        '<add key="RequirePassword" value="true"/> <add key="PasswordLength" value="12"/>',
        "<Password>\n</Password> <SecretKey><![CDATA[]]></SecretKey>",
    ],
)
def test_xml_elements_that_hold_no_secret_are_left(text: str) -> None:
    assert fired(text) == []


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my password is Xyz123! for the admin", "Xyz123!"),
        ("The password was hunter2xyz.", "hunter2xyz"),
        ("password: Tr0ub4dor&3", "Tr0ub4dor&3"),
        ("the passphrase is `Blue-Horse-Battery`", "Blue-Horse-Battery"),
        ("The password for the admin account is Xyz123!", "Xyz123!"),
        ("password for bob@acme.io was Tr0ub4dor&3", "Tr0ub4dor&3"),
        ("password - Xyz123!", "Xyz123!"),
    ],
)
def test_a_password_told_in_prose_is_found(text: str, secret: str) -> None:
    assert ("secret_assignment", secret) in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "my password is incorrect.",
        "the password is required, and the password was changed",
        "Your password is too short",
        "password is case-sensitive",
        "the password for the admin account is required - see the wiki",
        "password - reset it from the settings page",
    ],
)
def test_words_about_a_password_are_not_one(text: str) -> None:
    assert fired(text) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("password", "hunter2xyz"), ("csrf_token", "Zm9vYmFyYmF6"), ("api_key", "k-123 456")],
)
def test_a_multipart_form_field_named_as_a_credential_is_found(name: str, value: str) -> None:
    body = (
        '--b0undary\r\nContent-Disposition: form-data; name="user"\r\n\r\nbob\r\n'
        f'--b0undary\r\nContent-Disposition: form-data; name="{name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n{value}\r\n--b0undary--\r\n"
    )
    assert fired(body) == [("secret_assignment", value)]


def test_multipart_fields_of_other_names_are_left() -> None:
    body = '--b\r\nContent-Disposition: form-data; name="max_tokens"\r\n\r\n1024\r\n--b--'
    assert fired(body) == []
    for name in ("passwordHint", "username", "token_type", "file"):
        assert fired(_multipart_body([("user", "bob"), (name, "hunter2xyz")])) == []


def _multipart_body(fields: list[tuple[str, str]]) -> str:
    return (
        "".join(
            f'--XyZ\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields
        )
        + "--XyZ--\r\n"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # named as the JSON field rules name a password: whatever the value looks like
        ("newPassword", "hunter2"),
        ("confirmPassword", "hunter2"),
        ("clientSecret", "tiger"),
        ("user.password", "hunter2"),
        ("user[password]", "hunter2"),
        ("password_confirmation", "hunter2"),
        # named as a credential: eight characters or more
        ("accessToken", "ya29.a0AfH6SMBx"),
        ("private_key", "MIIEvQIBADANBgkq"),
        ("secret_key", "wJalrXUtnFEMI"),
    ],
)
@pytest.mark.parametrize("spelling", ["raw", "repr"])
def test_multipart_fields_are_named_as_json_fields_are(
    name: str, value: str, spelling: str
) -> None:
    body = _multipart_body([("user", "bob"), (name, value), ("note", "hello")])
    # A body escaped in a log line, as repr() writes it: its line breaks are "\r\n" spelled.
    text = body if spelling == "raw" else "send: " + repr(body.encode())
    assert fired(text) == [("secret_assignment", value)]


def test_a_large_multipart_body_in_a_log_line_keeps_all_but_its_password() -> None:
    fields = [(f"field_{i}", f"value {i}") for i in range(2000)]
    fields[1234] = ("password", "hunter2xyz")
    body = _multipart_body(fields)
    for text in (body, "send: " + repr(body.encode()), body.replace("\r\n", "\n")):
        assert fired(text) == [("secret_assignment", "hunter2xyz")]


@pytest.mark.parametrize(
    "text",
    [
        "form-data; " * 9090,
        'form-data; name="a_' * 4750 + 'password"',
        'Content-Disposition: form-data; name="password"\n' * 2083,
    ],
    ids=["no-name", "unclosed-names", "no-value"],
)
def test_text_that_only_starts_like_a_multipart_part_is_left(text: str) -> None:
    assert fired(text) == []


JWE = (
    "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ."
    "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe."
    "48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji."
    "XFBoMYUZodetZdvTiFvSkQ"
)


@pytest.mark.parametrize("token", [JWE, JWE.replace(JWE.split(".")[1], "")])
def test_an_encrypted_jwt_in_five_parts_is_found(token: str) -> None:
    assert fired(f'{{"value": "{token}"}}') == [("jwt", token)]


@pytest.mark.parametrize(
    ("detector", "text", "secret"),
    [
        (
            "slack_token",
            "use xapp-1-A02FS7128PH-8367944146514-eb93e39bf561cba1b8e7e01f3a368bd6 here",
            "xapp-1-A02FS7128PH-8367944146514-eb93e39bf561cba1b8e7e01f3a368bd6",
        ),
        (
            "webhook_secret",
            "STRIPE_WEBHOOK_SECRET_VALUE whsec_p0kqBAeHjwRGvqXIjxBdRZs2GI7fHbQJ",
            "whsec_p0kqBAeHjwRGvqXIjxBdRZs2GI7fHbQJ",
        ),
        (
            "webhook_secret",
            "svix: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+a/b=",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+a/b=",
        ),
        (
            "aws_signature",
            (
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/s3/"
                "aws4_request, SignedHeaders=host;x-amz-date, Signature="
                "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
            ),
            "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        ),
        (
            "aws_signature",
            (
                "see https://b.s3.amazonaws.com/o?X-Amz-Date=20240315T000000Z&X-Amz-Signature="
                "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024 there"
            ),
            "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        ),
    ],
)
def test_prefixed_secrets(detector: str, text: str, secret: str) -> None:
    assert (detector, secret) in fired(text)


def test_signature_needs_the_length_of_a_sigv4_one() -> None:
    assert fired("Signature=abc123 and Signature=" + "ab" * 33) == []


def test_a_url_password_may_hold_an_at_sign() -> None:
    assert fired("mysql://root:my@pass1@localhost/db") == [("url_password", "my@pass1")]
    # but not run on past the end of a JSON string into the next one
    assert ("url_password", "pw12") in fired('{"url":"http://u:pw12@h","email":"a@b.co"}')


@pytest.mark.parametrize(
    ("text", "iban"),
    [
        ("iban: gb82 west 1234 5698 7654 32", "gb82 west 1234 5698 7654 32"),
        ("pay to de89 3704 0044 0532 0130 00 today", "de89 3704 0044 0532 0130 00"),
        ("DE89-3704-0044-0532-0130-00", "DE89-3704-0044-0532-0130-00"),
        ("gb82-west-1234-5698-7654-32.", "gb82-west-1234-5698-7654-32"),
    ],
)
def test_an_iban_in_lower_case_or_with_dashes_is_found(text: str, iban: str) -> None:
    assert fired(text) == [("iban", iban)]


@pytest.mark.parametrize(
    "text",
    [
        "gb83 west 1234 5698 7654 32",  # the checksum fails
        "de89-3704-0044 0532 0130 00",  # two separators
        "ab02 cdef 0123 4567 8901 23",  # no such country
        "de85 1234 5678 9012 34",  # the checksum holds, but Germany's are 22 long
        "de89 3704 0044 0532 0130 0",  # one short for Germany (and the checksum fails too)
        "de89370400440532013000",  # in lower case without spaces: a hex digest's shape
    ],
)
def test_lower_case_and_dashed_ibans_need_checksum_and_length(text: str) -> None:
    assert "iban" not in {d for d, _ in fired(text)}


def test_the_ibans_of_no_country_or_length_above_pass_the_checksum() -> None:
    # so that the test above fails on the country or the length alone
    assert iban_ok("ab02 cdef 0123 4567 8901 23") and iban_ok("de85 1234 5678 9012 34")


def test_a_card_number_with_dots_is_found_but_not_a_number_in_thousands() -> None:
    assert fired("card 4111.1111.1111.1111 exp 12/26") == [("card", "4111.1111.1111.1111")]
    assert fired("amex 3782.822463.10005.") == [("card", "3782.822463.10005")]
    assert fired("total 4.111.111.111.111.111 units, ratio 0.4111111111111111") == []


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Call me on 0049 30 123456 tomorrow", "0049 30 123456"),
        ("tel 0033 1 23 45 67 89.", "0033 1 23 45 67 89"),
        ("dial 001 415-555-2671", "001 415-555-2671"),
        ("Call me on 01.23.45.67.89 tomorrow.", "01.23.45.67.89"),
        ("Tél : 06.12.34.56.78", "06.12.34.56.78"),
    ],
)
def test_phones_dialled_with_00_and_french_dotted_ones(text: str, phone: str) -> None:
    assert fired(text) == [("phone", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "0012 3456 7890 is an account",  # 12 is no country code
        "0049 123 is short",
        "code 0099 12 345678",  # 99: none either (retake's own tokens use it)
        "SKU 0401-234567",
        "part 0049-30123456",
        "Invoice #030-1234567",
        "v01.23.45.67.89",
    ],
)
def test_numbers_that_only_look_like_those_phones(text: str) -> None:
    assert fired(text) == []


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Caller ID: 020 7946 0958", "020 7946 0958"),
        ("Telegram ID: 06 12 34 56 78", "06 12 34 56 78"),
        ("Mobile (ref: 020 7946 0958)", "020 7946 0958"),
        ("In case 020 7946 0958 is busy", "020 7946 0958"),
        ("Art. 06 12 34 56 78", "06 12 34 56 78"),
        ("caller id 0049 30 12345678", "0049 30 12345678"),
        ("SKU 020 7946 0958", "020 7946 0958"),
    ],
)
def test_a_phone_after_a_word_that_may_label_an_id_is_still_one(text: str, phone: str) -> None:
    # Only two groups joined by a dash read as a part number after such a word.
    assert fired(text) == [("phone", phone)]


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("Mail josé.garcía@correo.es", "josé.garcía@correo.es"),
        ("écrire à zoë@exemple.fr.", "zoë@exemple.fr"),
        ("пишите иван@example.ru", "иван@example.ru"),
    ],
)
def test_an_email_with_accented_letters_is_found_whole(text: str, email: str) -> None:
    assert fired(text) == [("email", email)]


@pytest.mark.parametrize(
    "text",
    ["version 1.2.3.4", "Version: 10.0.0.1", "firmware v2.4.10.3", "build 81.2.69.160"],
)
def test_a_version_is_not_an_ipv4_address(text: str) -> None:
    assert fired(text) == []


def test_an_address_after_other_words_is_still_one() -> None:
    assert fired("server 81.2.69.160 (inv 81.2.69.161)") == [
        ("ipv4", "81.2.69.160"),
        ("ipv4", "81.2.69.161"),
    ]


@pytest.mark.parametrize(
    ("text", "addresses"),
    [
        ("FW 81.2.69.160 blocked", ["81.2.69.160"]),
        ("dhcp release 81.2.69.160", ["81.2.69.160"]),
        ("rev 81.2.69.160", ["81.2.69.160"]),
        ("Firmware 81.2.69.160 at 81.2.69.161", ["81.2.69.160", "81.2.69.161"]),
    ],
)
def test_an_address_after_a_word_that_may_name_a_version_is_one(
    text: str, addresses: list[str]
) -> None:
    assert fired(text) == [("ipv4", a) for a in addresses]


class _CountingPattern:
    """A compiled pattern that counts the places it is tried at."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.tries = 0

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        self.tries += 1
        return self.pattern.match(text, pos)


@pytest.mark.parametrize(
    "text",
    ["xapp-1-" * 2000, "xoxb-" * 2000, "xoxb-1-xapp-1-" * 1000],
    ids=["xapp", "xoxb", "both"],
)
def test_a_long_token_is_not_tried_again_at_each_prefix_inside_it(text: str) -> None:
    # Each try inside the match runs to its end: time quadratic in the text's length.
    slack = next(d for d in BUILTIN_DETECTORS if d.name == "slack_token")
    counting = _CountingPattern(slack.pattern)
    found = DetectorSet([replace(slack, pattern=counting)]).find(text)  # type: ignore[arg-type]
    assert [(m.start, m.end) for m in found] == [(0, len(text))]
    assert counting.tries == 1
    out = Redactor(key=RedactionKey(b"k" * 32, "given")).redact(text)
    assert text[5:40] not in out and len(out) < 100
