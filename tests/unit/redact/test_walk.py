"""The walk: every string, wherever it is, with its path; fail closed where it cannot read."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from retake.redact import (
    RULE_SET_VERSION,
    FieldRule,
    RedactionKey,
    RedactionPolicy,
    Redactor,
    Tally,
    UserPattern,
    scan,
)

KEY = RedactionKey(b"walk-test-key-0123456789abcdefgh", "given")
SRC = str(Path(__file__).resolve().parents[3] / "src")
EMAIL = "mia.li3818@example.com"


def redact(value: Any, policy: RedactionPolicy | None = None) -> Any:
    return Redactor(policy, key=KEY).redact(value)


def test_nothing_to_do_returns_the_same_object() -> None:
    value = {"user_id": "mia_li_3668", "flights": [{"number": "HAT136", "price": 523}]}
    assert redact(value) is value


def test_nested_values_and_paths() -> None:
    value = {"events": [{"kind": "user", "text": f"I am {EMAIL}"}, {"n": 1}]}
    out = redact(value)
    assert EMAIL not in json.dumps(out)
    assert out["events"][1] is value["events"][1]
    [finding] = scan(value)
    assert finding.path == "events[0].text"
    assert finding.detector == "email"
    assert len(finding.preview) <= 4
    assert EMAIL.startswith(finding.preview)


def test_json_inside_a_string_is_parsed_redacted_and_reencoded() -> None:
    inner = {"email": EMAIL, "ok": True}
    for text in (json.dumps(inner), json.dumps(inner, separators=(",", ":"))):
        out = redact({"content": text})["content"]
        assert EMAIL not in out
        parsed = json.loads(out)
        assert parsed["ok"] is True
        assert parsed["email"].endswith("@redacted.example")
        assert (", " in out) == (", " in text)
    assert scan({"content": json.dumps(inner)})[0].path == "content.email"


def test_json_that_half_parses_is_masked_whole() -> None:
    tally = Tally()
    out = Redactor(key=KEY).redact({"content": '{"email": "x", "rest": '}, tally=tally)
    assert out["content"].startswith("<REDACTED:unparseable:")
    assert tally.masked_whole == ["content (unparseable_json)"]


def test_text_that_only_looks_like_brackets_is_read_as_text() -> None:
    for text in ("[INFO] started", "{name} is a placeholder", "[1] footnote"):
        assert redact(text) == text


def test_bytes_are_decoded_and_undecodable_bytes_masked_whole() -> None:
    out = redact({"body": f"mail {EMAIL}".encode()})
    assert isinstance(out["body"], bytes)
    assert EMAIL.encode() not in out["body"]
    masked = redact({"body": b"\xff\xfe\x00binary"})
    assert masked["body"].startswith(b"<REDACTED:undecodable:")
    assert redact(masked) == masked
    assert scan({"body": b"\xff\xfe"})[0].detector == "undecodable"


def test_gzip_bodies_are_read() -> None:
    body = gzip.compress(json.dumps({"email": EMAIL}).encode())
    out = redact({"body": {"string": body}})
    data = gzip.decompress(out["body"]["string"])
    assert EMAIL.encode() not in data
    clean = gzip.compress(b'{"ok": true}')
    assert redact({"b": clean})["b"] is clean


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer abcdef", "Accept": "json"},
        {"authorization": ["Bearer abcdef"], "accept": ["json"]},
        [["Authorization", "Bearer abcdef"], ["Accept", "json"]],
    ],
)
def test_denied_headers_are_masked_whole(headers: Any) -> None:
    out = redact({"request": {"headers": headers}})
    text = json.dumps(out)
    assert "abcdef" not in text
    assert "json" in text
    findings = scan({"request": {"headers": headers}})
    assert [f.detector for f in findings] == ["header:authorization"]


def test_extra_headers_from_policy() -> None:
    policy = RedactionPolicy(extra_headers=frozenset({"X-Tenant"}))
    out = redact({"headers": {"x-tenant": "acme-prod"}}, policy)
    assert out["headers"]["x-tenant"].startswith("<REDACTED:x-tenant:")


def test_query_strings() -> None:
    email = EMAIL.replace("@", "%40")
    url = f"https://api.example.com/v1/find?api_key=abcd1234efgh5678&email={email}&q=hi+there"
    out = redact(url)
    assert "abcd1234efgh5678" not in out
    assert "mia.li3818" not in out
    assert out.endswith("&q=hi+there")
    assert redact(out) == out


def test_form_encoded_bodies_and_percent_encoded_text() -> None:
    """Secrets in an OAuth token request body, and personal data percent-encoded in a path or
    an encoded redirect, are found in their decoded form and replaced in place."""
    refresh = "1//0gAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    form = f"grant_type=refresh_token&refresh_token={refresh.replace('/', '%2F')}&scope=read"
    out = redact({"body": form})["body"]
    assert "0gAbCdEfGhIjKlMnOp" not in out
    assert out.startswith("grant_type=refresh_token&refresh_token=") and out.endswith("&scope=read")
    login = redact({"body": "username=mia.li3818%40example.com&remember=1"})["body"]
    assert "mia.li3818" not in login and login.endswith("&remember=1")
    url = "https://crm.example.com/users/mia.li3818%40example.com/orders"
    path = redact({"url": url})["url"]
    assert "mia.li3818" not in path and path.startswith("https://crm.example.com/users/")
    encoded = "https%3A%2F%2Fapp%3Ahunter2pass9%40db.internal%2Fx"
    assert "hunter2pass9" not in redact({"next": encoded})["next"]
    for value in (form, url, encoded):
        assert [f.detector for f in scan({"v": value})], value  # the scan reads them decoded
    for plain in ("a=1&b=2", "50% off", "https://example.com/search?q=refund%20policy"):
        assert redact({"v": plain}) == {"v": plain}
    assert redact(out) == out and redact(path) == path  # redacting again changes nothing


@pytest.mark.parametrize(
    "text, secret, kept",
    [
        # a plain email and an encoded one in the same text: both go
        (
            "I'm bob@example.org; see https://crm.example.com/u/mia.li3818%40example.com",
            "mia.li",
            "; see https://crm.example.com/u/",
        ),
        # an encoded "?" and "=" around a password: only the password is replaced
        ("/cb%3Fpassword%3Dhunter2xyz", "hunter2xyz", "/cb%3Fpassword%3D"),
        # free text around an encoded value keeps its spaces and accents
        (
            "Your page, café: https://crm.example.com/u/mia.li3818%40example.com/orders",
            "mia.li",
            "Your page, café: https://crm.example.com/u/",
        ),
    ],
)
def test_encoded_values_are_replaced_in_place(text: str, secret: str, kept: str) -> None:
    out = redact({"v": text})["v"]
    assert secret not in out and "bob@example.org" not in out
    assert kept in out  # what surrounds the value is not re-encoded
    assert redact({"v": out})["v"] == out  # and a second pass finds nothing more
    assert scan({"v": out}) == []


def test_encoded_text_edge_cases() -> None:
    # a plain match inside a run with an escape is found once, by the text's own detectors
    assert [f.detector for f in scan({"v": "see bob@example.org/x%20y"})] == ["email"]
    # a token that completes an escape with the "%" before it settles in one pass
    once = redact({"v": "%344088950679138985 y"})["v"]
    assert redact({"v": once})["v"] == once and scan({"v": once}) == []
    # a form body whose first name is not ASCII, sent on inside JSON text
    text = json.dumps({"b": "näme=1&refresh_token=8f3kQ2mZ9xL4vT7wR1pN5sJ0"}, ensure_ascii=False)
    assert "8f3kQ2mZ9xL4vT7wR1pN5sJ0" not in redact({"content": text})["content"]


def test_long_runs_of_non_ascii_escapes_are_left_as_they_are() -> None:
    """Percent-encoded Cyrillic in a long URL has no ASCII escape: nothing to decode."""
    run = "/search/" + "%D0%B4" * 8000
    assert redact({"v": run + " " + run})["v"] == run + " " + run


def test_encoded_values_inside_json_text_are_read_too() -> None:
    """A tool result sent on as JSON text: its encoded values are decoded like any other."""
    output = {
        "crm_link": "/users/mia.li3818%40example.com/orders",
        "login_body": "grant_type=refresh_token&refresh_token=8f3kQ2mZ9xL4vT7wR1pN5sJ0",
    }
    text = json.dumps(output)
    assert {f.detector for f in scan({"content": text})} >= {"email", "secret_query"}
    out = redact({"content": text})["content"]
    assert "mia.li3818" not in out and "8f3kQ2mZ9xL4vT7wR1pN5sJ0" not in out
    assert json.loads(out)["login_body"].startswith("grant_type=refresh_token&refresh_token=")


def test_secret_fields() -> None:
    value = {
        "password": "hunter2",
        "client_secret": "x",
        "api_key": "q8Zr2LmX0pT7vN4kS1wE",
        "token_type": "Bearer",
        "max_tokens": 1024,
        "next_token": "short",
        "auth": {"password": "pw"},
        "proxy_authorization": "k7Qm2Zx9Lw4Tn8Vr",
        "session_cookie": "a8F3kLq9ZxW2mN7pR4tY",
        "jwt": "q9w8e7r6t5y4u3i2o1p0",
        "cookie": "theme=dark; sessionid=a467b2c9d8e7f6a5b4c3",
        "Set-Cookie": "sid=abc123; Path=/",
        "authorization": "Bearer abcdefghijklmnopqrstuvwxyzABCDEF",
        "sort_key": "created_at",
        "license_key": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    }
    out = redact(value)
    for field in ("proxy_authorization", "session_cookie", "jwt", "license_key"):
        assert out[field].startswith("<REDACTED:secret:"), field
    # Masked whole wherever they sit, as the Cookie and Authorization headers are: a cookie
    # string mixes preferences with session ids, and a bearer token may be all letters.
    for field in ("cookie", "Set-Cookie", "authorization"):
        assert out[field].startswith("<REDACTED:secret:"), field
    assert out["sort_key"] == "created_at"  # not random: a column name, not a credential
    # Only the whole name is always a credential; a field about one holds none.
    about = {"requires_authorization": "manager", "PWD": "/home/desk", "session_id": EMAIL[:4]}
    assert redact(about) == about
    assert out["password"].startswith("<REDACTED:secret:")
    assert out["client_secret"].startswith("<REDACTED:secret:")
    assert out["api_key"].startswith("<REDACTED:secret:")
    assert out["token_type"] == "Bearer"
    assert out["max_tokens"] == 1024
    assert out["next_token"] == "short"
    assert out["auth"]["password"].startswith("<REDACTED:secret:")


def test_a_password_confirmation_field_is_a_password() -> None:
    # Rails and Django forms repeat the password under this name, in JSON and multipart alike.
    out = redact({"user": {"password_confirmation": "hunter2"}})
    assert out["user"]["password_confirmation"].startswith("<REDACTED:secret:")


def test_extra_secret_fields_from_policy_add_to_the_built_in_ones() -> None:
    policy = RedactionPolicy(extra_secret_fields=("Member-Number",))
    out = redact({"member_number": "Zq8W3kLm9PxT2vN7", "api_key": "q8Zr2LmX0pT7vN4kS1wE"}, policy)
    assert out["member_number"].startswith("<REDACTED:secret:")
    assert out["api_key"].startswith("<REDACTED:secret:")  # the built-in names still apply
    assert redact({"member_number": "Zq8W3kLm9PxT2vN7"})["member_number"] == "Zq8W3kLm9PxT2vN7"


def test_field_rule_masks_the_field_of_one_tool_everywhere() -> None:
    policy = RedactionPolicy(field_rules=(FieldRule(path="tool_call[send_email].arguments.body"),))
    call = {"kind": "tool_call", "tool": "send_email", "arguments": {"to": "a", "body": "hello"}}
    other = {"kind": "tool_call", "tool": "log", "arguments": {"body": "hello"}}
    in_model = {
        "kind": "model",
        "response": {
            "tool_calls": [
                {"id": "c1", "name": "send_email", "arguments": {"body": "hello", "to": "a"}}
            ]
        },
    }
    raw_openai = {"function": {"name": "send_email", "arguments": '{"body": "hello"}'}}
    out = redact([call, other, in_model, raw_openai], policy)
    assert out[0]["arguments"]["body"].startswith("<REDACTED:field:")
    assert out[0]["arguments"]["to"] == "a"
    assert out[1] is other
    assert out[2]["response"]["tool_calls"][0]["arguments"]["body"].startswith("<REDACTED:field:")
    assert "hello" not in out[3]["function"]["arguments"]
    findings = scan([call], policy=policy)
    assert [f.detector for f in findings] == ["field:tool_call[send_email].arguments.body"]
    assert redact(out, policy) == out


def test_field_rule_wildcards() -> None:
    policy = RedactionPolicy(field_rules=(FieldRule(path="**.notes"), FieldRule(path="a[*].b")))
    out = redact({"x": {"y": {"notes": {"any": 1}}}, "a": [{"b": 1, "c": 2}]}, policy)
    assert out["x"]["y"]["notes"].startswith("<REDACTED:field:")
    assert out["a"][0]["b"].startswith("<REDACTED:field:")
    assert out["a"][0]["c"] == 2


def test_bad_field_rule_path_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a field path"):
        FieldRule(path="a..b")


def test_user_patterns() -> None:
    policy = RedactionPolicy(
        user_patterns=(UserPattern(name="ticket", pattern=r"TCK-\d{6}", literals=("TCK-",)),)
    )
    out = redact("see TCK-123456", policy)
    assert out.startswith("see <REDACTED:user_ticket:")
    assert scan("see TCK-123456", policy=policy)[0].detector == "user:ticket"
    with pytest.raises(ValidationError, match="does not compile"):
        UserPattern(name="bad", pattern="(")
    with pytest.raises(ValidationError, match="empty string"):
        UserPattern(name="bad", pattern="x*")


def test_disabled_detectors() -> None:
    policy = RedactionPolicy(disabled_detectors=frozenset({"ipv4"}))
    assert redact("from 81.2.69.160", policy) == "from 81.2.69.160"
    with pytest.raises(ValidationError, match="unknown detector"):
        RedactionPolicy(disabled_detectors=frozenset({"nope"}))


def test_counts_in_the_manifest() -> None:
    r = Redactor(key=KEY)
    r.redact({"a": EMAIL, "b": f"{EMAIL} and AKIAIOSFODNN7EXAMPLE", "headers": {"Cookie": "x"}})
    m = r.manifest()
    assert m.applied
    assert m.counts == {"aws_access_key": 1, "email": 2, "header:cookie": 1}
    assert m.rule_set_version and m.rule_set_version.startswith(f"{RULE_SET_VERSION}+")


def test_dict_keys_are_redacted_too() -> None:
    out = redact({EMAIL: 1})
    assert EMAIL not in json.dumps(out)


def test_too_deep_is_a_redaction_error() -> None:
    from retake.errors import RedactionError

    value: Any = "x"
    for _ in range(5000):
        value = [value]
    with pytest.raises(RedactionError, match="nests too deeply"):
        redact(value)


def test_rule_set_version_is_the_same_in_every_process() -> None:
    import os
    import subprocess
    import sys

    code = "from retake.redact import RedactionPolicy; print(RedactionPolicy().rule_set_version())"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": SRC},
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(outs) == 1


def test_a_value_seen_before_is_redacted_again_in_a_new_place() -> None:
    r = Redactor(key=KEY)
    alone = r.redact(EMAIL)
    assert r.redact([EMAIL]) == [alone]
    assert r.redact({"a": {"b": EMAIL}}) == {"a": {"b": alone}}


# The walk skips whatever the screen found nothing in; these are the places where something
# other than a detector match makes a part of a value need redacting.


def test_parts_with_nothing_to_redact_are_the_same_objects() -> None:
    value = {
        "traj": [{"role": "user", "content": f"I am {EMAIL}"}]
        + [{"role": "tool", "content": json.dumps({"n": i}), "meta": [{"i": i}]} for i in range(20)]
    }
    out = redact(value)
    assert EMAIL not in json.dumps(out)
    assert all(a is b for a, b in zip(out["traj"][1:], value["traj"][1:], strict=True))


@pytest.mark.parametrize(
    "value",
    [
        {"a": {"b": [{"c": 1, "password": "hunter2hunter2"}]}},
        {"a": [[{"api_key": "Zx81kQp0Lm3nB7vR2sT9"}]]},
        {"a": {"password": ["hunter2hunter2", ["hunter3hunter3"]]}},
        {"a": [{"X-Signature ": "Zx81kQp0Lm3nB7vR2sT9"}]},
        {"a": [{"access_to\u212aen": "Zx81kQp0Lm3nB7vR2sT9"}]},  # KELVIN SIGN lowers to k
        {"a": [{"args": json.dumps({"x": {"password": "hunter2hunter2"}})}]},
        {"a": [{"headers": {"Authorization": "opaque-value-without-a-scheme"}}]},
        {"a": {"b": {"headers": [["Cookie", "session=opaque"]]}}},
        {"a": [{"body": b"contact mia.li3818@example.com"}]},
        {"a": [{"url": "https://api.example.com/v1?api_key=Zx81kQp0Lm3nB7vR2sT9"}]},
        {"a": [{"args": '{"broken": '}]},
        # JSON text is screened as it is, and looked inside only when something may be there.
        {"args": json.dumps({"to\u212aen": "Zx81kQp0Lm3nB7vR2sT9"}, ensure_ascii=False)},
        {"args": json.dumps({"x": [{"Api-Key ": "Zx81kQp0Lm3nB7vR2sT9"}]})},
        {"args": json.dumps({"x": {"headers": {"Cookie": "session=opaque"}}})},
        {"args": json.dumps({"x_signature": "Zx81kQp0Lm3nB7vR2sT9"})},
        {"args": json.dumps({"u": "/v1/p?sig=Zx81kQp0Lm3nB7vR2sT9"})},
        {"args": json.dumps({"j": "[1, 2,]"})},  # JSON text in JSON text, and broken
        {"args": json.dumps({"j": json.dumps({"password": "hunter2hunter2"})})},
        {"args": json.dumps({"j": " " + json.dumps([f"to {EMAIL}"])})},
        {"args": json.dumps({"note": f"caf\u00e9 {EMAIL}"})},  # escaped: read value by value
        {"args": '{"n": NaN, "e": "' + EMAIL + '"}'},  # json reads NaN, orjson does not
        {"args": '{"n": 123456789012345678901234567890, "e": "' + EMAIL + '"}'},
    ],
)
def test_what_needs_redacting_is_found_however_deep(value: Any) -> None:
    out = redact(value)
    assert out != value
    assert not scan(out)


def test_one_object_in_two_places_is_redacted_where_its_key_says_so() -> None:
    shared = ["hunter2hunter2"]
    out = redact({"notes": shared, "password": shared})
    assert out["notes"] is shared
    assert out["password"] != shared


@pytest.mark.parametrize("value", [None, 42, 1.5, True, b"plain bytes", ("a", "b")])
def test_a_value_that_is_not_a_container_at_the_root(value: Any) -> None:
    assert redact(value) == value


def test_bytes_found_clean_are_left_as_they_are() -> None:
    value = {
        "request": {"body": gzip.compress(b'{"query": "refund order A-1042"}', mtime=0)},
        "response": {"body": f"sent to {EMAIL}".encode()},
    }
    out = redact(value)
    assert out["request"] is value["request"]
    assert EMAIL.encode() not in out["response"]["body"]


def test_phone_numbers_and_ssns_are_found_by_their_field_name_without_separators() -> None:
    value = {
        "customer": {
            "phone": "4155552671",
            "mobile_number": "+44 7700 900123",
            "ssn": "536904399",
            "phone_verified": True,
            "phone_type": "mobile",
            "fax": "n/a",
            "mobile_since": "2024-05-01",
        },
        # JSON text a tool returned, as the model receives it
        "content": json.dumps({"user": {"phoneNumber": "07700900123"}}),
    }
    out = redact(value)
    customer = out["customer"]
    assert customer["phone"] != "4155552671" and customer["phone"].isdigit()
    assert len(customer["phone"]) == 10 and customer["phone"].startswith("00")
    assert customer["mobile_number"].startswith("+99 9")  # +999, separators kept
    assert customer["ssn"].startswith("666") and len(customer["ssn"]) == 9
    # values that are not phone numbers or SSNs stay as they are
    assert (customer["phone_verified"], customer["phone_type"], customer["fax"]) == (
        True,
        "mobile",
        "n/a",
    )
    assert customer["mobile_since"] == "2024-05-01"  # a date, not a number
    assert "07700900123" not in out["content"]
    assert redact(out) == out
    assert scan(out) == []
    assert {(f.path, f.detector) for f in scan(value)} >= {
        ("customer.phone", "phone"),
        ("customer.ssn", "ssn"),
    }


COOKIE = {"name": "sessionid", "value": "a467beabc71c33e40e58e8906bb3cc17", "domain": ".x.com"}


@pytest.mark.parametrize(
    "value",
    [
        {"cookies": [COOKIE, {**COOKIE, "name": "theme", "value": "dark", "path": "/"}]},
        {"tool": "browser", "result": json.dumps({"cookies": [COOKIE], "origins": []})},
        [{"note": "state"}, json.dumps([{**COOKIE, "httpOnly": True, "secure": True}])],
    ],
)
def test_browser_cookie_lists_have_their_values_masked(value: Any) -> None:
    out = redact(value)
    text = json.dumps(out)
    assert COOKIE["value"] not in text and "dark" not in text
    assert ".x.com" in text and "sessionid" in text
    assert "<REDACTED:cookie:" in text
    assert redact(out) == out
    assert scan(out) == []
    assert [f.detector for f in scan(value)][:1] == ["cookie"]


def test_a_map_with_a_name_and_a_value_but_no_domain_is_no_cookie() -> None:
    value = {"fields": [{"name": "colour", "value": "dark"}], "domain": "x.com"}
    assert redact(value) is value


DNS_RECORD = {"name": "www", "type": "A", "value": "198.51.100.7", "domain": "example.com"}


@pytest.mark.parametrize(
    "value",
    [
        {"records": [DNS_RECORD]},
        {"tool": "dns", "result": json.dumps([DNS_RECORD, {**DNS_RECORD, "name": "mail"}])},
        {"option": {"Name": "theme", "Value": "dark", "Domain": "ui"}},
    ],
)
def test_a_name_a_value_and_a_domain_alone_are_no_cookie(value: Any) -> None:
    assert redact(value) == value


@pytest.mark.parametrize(
    "value",
    [
        # Selenium's spelling, and a cookie's attributes in any case
        [{"Name": "sid", "Value": "a467beabc71c", "Domain": ".x.com", "Path": "/"}],
        {"c": {"name": "sid", "value": "a467beabc71c", "domain": ".x.com", "sameSite": "Lax"}},
        # a HAR request's cookies: a name and a value under "cookies" are enough
        {
            "request": {
                "url": "https://x.com/",
                "cookies": [{"name": "sid", "value": "a467beabc71c"}],
            }
        },
        {"entry": json.dumps({"cookies": [{"name": "sid", "value": "a467beabc71c"}]})},
    ],
)
def test_cookies_are_told_by_their_attributes_or_their_list(value: Any) -> None:
    out = redact(value)
    text = json.dumps(out)
    assert "a467beabc71c" not in text and "<REDACTED:cookie:" in text
    assert "sid" in text
    assert redact(out) == out


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("postgres://app:Sup3r%40Secret99@db.internal:5432/prod", ("Sup3r", "Secret99")),
        ("https://user:p%40ss%23word1@host/x", ("%40ss", "word1")),
        ("mysql://root:my@pass1@localhost/db", ("my@", "pass1")),
    ],
)
def test_url_passwords_with_escapes_or_an_at_sign_are_replaced_whole(
    text: str, gone: tuple[str, ...]
) -> None:
    out = redact(text)
    assert out.count("<REDACTED:url_password:") == 1
    assert not [g for g in gone if g in out]
    assert "@redacted.example" not in out  # no piece of the password read as an email
    assert redact(out) == out


@pytest.mark.parametrize(
    "value",
    [
        {"contact": {"mobile": "0049 30 12345678"}},
        {"text": "call 0049 30 123456 or 0033 1 23 45 67 89"},
    ],
)
def test_phones_dialled_with_00_get_tokens_no_detector_reads_again(value: Any) -> None:
    out = redact(value)
    text = json.dumps(out)
    assert "12345" not in text and "23 45 67 89" not in text
    assert "0099" in text or "009 99" in text
    assert redact(out) == out
    assert scan(out) == []


@pytest.mark.parametrize(
    ("pattern", "group"),
    [
        (r"(a+)+$", "(a+)+"),
        (r"x(\w+\s?)*$", r"(\w+\s?)*"),
        (r"(?:x*y?)+z", "(?:x*y?)+"),
        (r"(?:ab|c+){2,}", "(?:ab|c+){2,}"),
        (r"\((?:[^)]+,)*[^)]*\)", "(?:[^)]+,)*"),  # [^)] matches the comma too
    ],
)
def test_user_patterns_that_backtrack_exponentially_are_refused(pattern: str, group: str) -> None:
    with pytest.raises(ValidationError, match="repeats a group that holds a repeat") as err:
        UserPattern(name="slow", pattern=pattern)
    assert repr(group) in str(err.value) and "exponential" in str(err.value)


def test_a_counted_repeat_of_an_unbounded_one_is_refused_but_not_called_exponential() -> None:
    with pytest.raises(ValidationError, match="grows as a power of the length") as err:
        UserPattern(name="slow", pattern=r"(\w+\s?){0,3}end")
    assert repr(r"(\w+\s?){0,3}") in str(err.value) and "exponential" not in str(err.value)


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        (r"(?:[0-9]{3}-)+[0-9]{4}", "code 777-888-999-0000 ok", "777-888-999-0000"),
        (r"(?:a++)+b", "xx aaab yy", "aaab"),
        (r"x(?>\w+\s?)*$", "see xfoo bar", "xfoo bar"),
        (r"TCK-\d{6}", "ticket TCK-123456 closed", "TCK-123456"),
        # a counted outer repeat, or an inner one that ends at a character it cannot match
        (r"(?:\d{1,3}\.){3}\d{1,3}", "version 1.2.3.4 ok", "1.2.3.4"),
        (r"10\.(?:\d{1,3}\.){2}\d{1,3}", "build v10.9.8.7 ok", "10.9.8.7"),
        (
            r"[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+acme\.com",
            "to bob@mail.acme.com now",
            "bob@mail.acme.com",
        ),
        (r"\d{3}(?:[ -]?\d{3,4}){2}", "ref 123 4567 8901 ok", "123 4567 8901"),
        (r"[A-Z]{3}(?:-[A-Z0-9]{4,8}){2}", "order ABC-1234-XY99Z ok", "ABC-1234-XY99Z"),
        (r"(?:\w+\s){0,3}password", "reset my password now", "reset my password"),
    ],
)
def test_user_patterns_that_cannot_backtrack_badly_are_allowed_and_match(
    pattern: str, text: str, found: str
) -> None:
    policy = RedactionPolicy(user_patterns=(UserPattern(name="ok", pattern=pattern),))
    out = redact(text, policy)
    assert found not in out and "<REDACTED:" in out
    before, _, after = text.partition(found)
    assert out.startswith(before) and out.endswith(after)
    assert redact("a" * 40 + "!", policy) == "a" * 40 + "!"


@pytest.mark.parametrize(
    ("text", "planted"),
    [
        (
            '--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2xyz\r\n--b--',
            ["hunter2xyz"],
        ),
        (
            "<Password>hunter2-xyz</Password> and my password is Xyz123! now",
            ["hunter2-xyz", "Xyz123!"],
        ),
        (
            (
                "use xapp-1-A02FS7128PH-8367944146514-eb93e39bf561"
                " or whsec_p0kqBAeHjwRGvqXIjxBdRZs2GI7f"
            ),
            ["A02FS7128PH", "eb93e39bf561", "p0kqBAeHjwRGvqXIjxBdRZs2GI7f"],
        ),
        (
            "iban: gb82 west 1234 5698 7654 32, card 4111.1111.1111.1111, Tél 01.23.45.67.89",
            ["west 1234", "5698 7654", "4111.1111", "1111.1111", "23.45.67.89"],
        ),
    ],
)
def test_what_the_new_shapes_find_is_replaced_once_and_scans_clean(
    text: str, planted: list[str]
) -> None:
    out = redact(text)
    assert [p for p in planted if p in out] == []
    assert redact(out) == out
    assert scan(out) == []
