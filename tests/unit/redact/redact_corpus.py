"""A generated corpus of planted secrets and personal data, in every place a session holds text.

Each plant is a snippet of text carrying one sensitive value, put in one location (user text,
nested tool arguments, JSON inside a string, an HTTP header, a URL query string, a request or
response body as text, bytes or gzip). Recall is "the value no longer appears anywhere in the
redacted output".
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_plus

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"


@dataclass(frozen=True)
class Plant:
    detector: str
    category: str  # "secret" or "pii"
    secret: str  # the part that must not survive
    snippet: str  # text that carries it


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + _r(rng, string.digits, length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        [
            ("DE", lambda: _r(rng, string.digits, 18)),
            ("GB", lambda: _r(rng, string.ascii_uppercase, 4) + _r(rng, string.digits, 14)),
            ("FR", lambda: _r(rng, string.digits, 23)),
            ("NL", lambda: _r(rng, string.ascii_uppercase, 4) + _r(rng, string.digits, 10)),
            ("ES", lambda: _r(rng, string.digits, 20)),
        ]
    )
    b = bban()
    numeric = "".join(str(int(c, 36)) for c in b + country + "00")
    check = 98 - int(numeric) % 97
    compact = f"{country}{check:02d}{b}"
    if rng.random() < 0.5:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def _jwt(rng: random.Random) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part({"sub": _r(rng, string.digits, 8), "iat": rng.randrange(10**9, 2 * 10**9)})
    return f"{header}.{payload}.{_r(rng, URLSAFE, 43)}"


def _public_ipv4(rng: random.Random) -> str:
    while True:
        a = rng.choice([23, 45, 51, 64, 81, 91, 104, 146, 172, 185, 212])
        ip = f"{a}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if not ip.startswith(("172.16", "172.17", "172.18", "172.19", "172.2", "172.30")):
            return ip


def _ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randrange(1, 0xFFFF):x}" for _ in range(8)]
    groups[0] = rng.choice(["2a00", "2607", "2a02", "2600", "2c0f"])
    if rng.random() < 0.5:
        return ":".join(groups[:3]) + "::" + ":".join(groups[6:])
    return ":".join(groups)


def _phone(rng: random.Random) -> str:
    d = lambda n: _r(rng, string.digits, n)  # noqa: E731
    nz = lambda: rng.choice("23456789")  # noqa: E731
    return rng.choice(
        [
            f"+1 ({nz()}{d(2)}) {nz()}{d(2)}-{d(4)}",
            f"+1 {nz()}{d(2)} {nz()}{d(2)} {d(4)}",
            f"+44 20 {d(4)} {d(4)}",
            f"+44 7{d(3)} {d(6)}",
            f"+49 30 {d(8)}",
            f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"+91 {nz()}{d(4)} {d(5)}",
            f"+{nz()}{d(10)}",
            f"({nz()}{d(2)}) {nz()}{d(2)}-{d(4)}",
            f"{nz()}{d(2)}-{nz()}{d(2)}-{d(4)}",
            f"{nz()}{d(2)}.{nz()}{d(2)}.{d(4)}",
            f"1-{nz()}{d(2)}-{nz()}{d(2)}-{d(4)}",
            f"1 ({nz()}{d(2)}) {nz()}{d(2)}-{d(4)}",
            f"020 {d(4)} {d(4)}",
            f"07{d(3)} {d(6)}",
            f"(020) {d(4)} {d(4)}",
            f"030 {d(7)}",
            f"(030) {d(8)}",
            f"06 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"(020){d(4)} {d(4)}",
            f"030/{d(7)}",
        ]
    )


def _ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    number = _luhn_complete(rng, prefix, length)
    sep = rng.choice(["", " ", "-"])
    if length == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def _email(rng: random.Random) -> str:
    first = rng.choice(["mia", "omar", "sofia", "li", "j.doe", "ana-maria", "x"])
    last = _r(rng, string.ascii_lowercase, rng.randrange(2, 8))
    domain = rng.choice(["example.com", "mail.co.uk", "corp.example.org", "gmail.com"])
    return f"{first}.{last}{rng.randrange(100)}@{domain}"


Gen = Callable[[random.Random], Plant]

GENERATORS: dict[str, Gen] = {
    "openai_key": lambda g: (lambda s: Plant("openai_key", "secret", s, f"use {s} for the call"))(
        "sk-" + _r(g, ALNUM, 48) if g.random() < 0.5 else "sk-proj-" + _r(g, URLSAFE, 120)
    ),
    "anthropic_key": lambda g: (
        lambda s: Plant("anthropic_key", "secret", s, f"ANTHROPIC_API_KEY={s}")
    )("sk-ant-api03-" + _r(g, URLSAFE, 93)),
    "aws_access_key": lambda g: (
        lambda s: Plant("aws_access_key", "secret", s, f"key id {s} in us-east-1")
    )(g.choice(["AKIA", "ASIA"]) + _r(g, string.ascii_uppercase + string.digits, 16)),
    "aws_secret_key": lambda g: (
        lambda s: Plant("aws_secret_key", "secret", s, f"aws_secret_access_key = {s}")
    )(_r(g, ALNUM, 30) + "/" + _r(g, ALNUM, 4) + "+" + _r(g, ALNUM, 4)),
    "github_token": lambda g: (lambda s: Plant("github_token", "secret", s, f"git clone with {s}"))(
        "ghp_" + _r(g, ALNUM, 36) if g.random() < 0.5 else "github_pat_" + _r(g, ALNUM + "_", 82)
    ),
    "slack_token": lambda g: (lambda s: Plant("slack_token", "secret", s, f"slack: {s}"))(
        f"xoxb-{_r(g, string.digits, 12)}-{_r(g, string.digits, 13)}-{_r(g, ALNUM, 24)}"
    ),
    "google_api_key": lambda g: (lambda s: Plant("google_api_key", "secret", s, f"maps key {s}."))(
        "AIza" + _r(g, URLSAFE, 35)
    ),
    "stripe_key": lambda g: (lambda s: Plant("stripe_key", "secret", s, f"stripe {s}"))(
        g.choice(["sk_live_", "rk_live_"]) + _r(g, ALNUM, 24)
    ),
    "jwt": lambda g: (lambda s: Plant("jwt", "secret", s, f"id_token: {s}"))(_jwt(g)),
    "authorization": lambda g: (
        lambda s: Plant("authorization", "secret", s, f'"authorization": "{s}"')
    )(g.choice(["Token ", "Digest ", "ApiKey ", ""]) + _r(g, URLSAFE, 24)),
    "bearer": lambda g: (lambda s: Plant("bearer", "secret", s, f"Authorization: Bearer {s}"))(
        _r(g, URLSAFE, 20) + _r(g, string.digits, 4)
    ),
    "basic_auth": lambda g: (
        lambda s: Plant("basic_auth", "secret", s, f"send Basic {s} to the proxy")
    )(base64.b64encode(f"svc{_r(g, ALNUM, 4)}:{_r(g, ALNUM, 12)}".encode()).decode()),
    "cookie": lambda g: (
        lambda s: Plant("cookie", "secret", s, f"Set-Cookie: sid={s}; Path=/; HttpOnly")
    )(_r(g, ALNUM, 32)),
    "private_key": lambda g: (
        lambda s: Plant(
            "private_key",
            "secret",
            s,
            f"-----BEGIN PRIVATE KEY-----\n{s}\n-----END PRIVATE KEY-----",
        )
    )("MIIE" + _r(g, ALNUM + "+/", 60)),
    "url_password": lambda g: (
        lambda s: Plant("url_password", "secret", s, f"connect to postgres://app:{s}@db.internal/x")
    )(_r(g, ALNUM, 14)),
    "secret_assignment": lambda g: (
        lambda s: Plant(
            "secret_assignment",
            "secret",
            s,
            g.choice(
                [
                    "password: {}",
                    "access_token={}",
                    "DJANGO_SECRET_KEY = '{}'",
                    "TWILIO_AUTH_TOKEN={}",
                    "HF_TOKEN={}",
                    "ENCRYPTION_KEY={}",
                    "AccountName=acct;AccountKey={};EndpointSuffix=core.windows.net",
                ]
            ).format(s),
        )
    )(_r(g, ALNUM, 6) + _r(g, string.digits, 2) + _r(g, ALNUM + "!#%", 12)),
    "email": lambda g: (lambda s: Plant("email", "pii", s, f"write to {s} today"))(_email(g)),
    "phone": lambda g: (lambda s: Plant("phone", "pii", s, f"call me on {s}, thanks"))(_phone(g)),
    "card": lambda g: (lambda s: Plant("card", "pii", s, f"my card is {s}."))(_card(g)),
    "iban": lambda g: (lambda s: Plant("iban", "pii", s, f"IBAN {s} please"))(_iban(g)),
    "ssn": lambda g: (lambda s: Plant("ssn", "pii", s, f"SSN {s}"))(_ssn(g)),
    "ipv4": lambda g: (lambda s: Plant("ipv4", "pii", s, f"client ip {s} seen"))(_public_ipv4(g)),
    "ipv6": lambda g: (lambda s: Plant("ipv6", "pii", s, f"from {s} via proxy"))(_ipv6(g)),
    "webhook_secret": lambda g: (
        lambda s: Plant("webhook_secret", "secret", s, f"signing secret {s} (keep it safe)")
    )("whsec_" + _r(g, ALNUM, 32) if g.random() < 0.5 else "whsec_" + _r(g, ALNUM + "+/", 32)),
    "aws_signature": lambda g: (
        lambda s: Plant(
            "aws_signature",
            "secret",
            s,
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240315/us-east-1"
            f"/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={s}",
        )
    )(_r(g, "0123456789abcdef", 64)),
}


def _loc_user(p: Plant) -> Any:
    return {"kind": "user", "text": f"Hi, {p.snippet}"}


def _loc_args(p: Plant) -> Any:
    return {
        "kind": "tool_call",
        "tool": "save_note",
        "arguments": {"note": {"items": [{"text": p.snippet, "n": 3}], "flag": True}},
    }


def _loc_json_string(p: Plant) -> Any:
    inner = {"result": {"rows": [{"id": 7, "comment": p.snippet}]}}
    return {"role": "tool", "content": json.dumps(inner)}


def _loc_header(p: Plant) -> Any:
    return {"request": {"headers": {"X-Debug-Note": [p.snippet], "accept": ["*/*"]}}}


def _loc_query(p: Plant) -> Any:
    return {"request": {"uri": f"https://api.example.com/v1/search?q={quote(p.snippet)}&page=2"}}


def _loc_body_text(p: Plant) -> Any:
    return {"response": {"body": {"string": f"<p>{p.snippet}</p>"}}}


def _loc_body_bytes(p: Plant) -> Any:
    return {"request": {"body": json.dumps({"message": p.snippet}).encode()}}


def _loc_body_gzip(p: Plant) -> Any:
    return {"response": {"body": {"string": gzip.compress(p.snippet.encode(), mtime=0)}}}


LOCATIONS: dict[str, Callable[[Plant], Any]] = {
    "user_text": _loc_user,
    "tool_args": _loc_args,
    "json_in_string": _loc_json_string,
    "header": _loc_header,
    "query_string": _loc_query,
    "body_text": _loc_body_text,
    "body_bytes": _loc_body_bytes,
    "body_gzip": _loc_body_gzip,
}


def corpus(per_pair: int = 6, seed: int = 20261127) -> list[tuple[str, Plant, Any]]:
    """``(location, plant, value)`` for every detector x location, ``per_pair`` times each."""
    rng = random.Random(seed)
    out = []
    for gen in GENERATORS.values():
        for loc, wrap in LOCATIONS.items():
            for _ in range(per_pair):
                plant = gen(rng)
                out.append((loc, plant, wrap(plant)))
    return out


def flatten(value: Any) -> str:
    """All the text in ``value``, decoded as a reader would (gzip, bytes, percent-encoding)."""
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                parts.append(str(k))
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)
        elif isinstance(v, bytes):
            raw = gzip.decompress(v) if v[:2] == b"\x1f\x8b" else v
            walk(raw.decode("utf-8", "replace"))
        elif isinstance(v, str):
            parts.append(v)
            parts.append(unquote_plus(v))
            if v[:1] in "{[":
                with contextlib.suppress(ValueError):
                    walk(json.loads(v))
        else:
            parts.append(repr(v))

    walk(value)
    return "\n".join(parts)
