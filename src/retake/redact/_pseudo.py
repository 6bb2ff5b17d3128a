"""Keyed pseudonymisation: the same value always gives the same token under the same key.

The key is the operator's: an environment variable or a key file. Without one, a random key is
made for the session and a warning says that tokens will not match across sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from retake.errors import EphemeralKeyWarning, RedactionError

from ._matching import BUILTIN_SET
from ._tokens import format_token, secret_token

__all__ = ["Pseudonymiser", "RedactionKey"]

_MIN_KEY_BYTES = 16


@dataclass(frozen=True, slots=True, repr=False)
class RedactionKey:
    """An HMAC key for pseudonymisation. Its ``repr`` never shows the key."""

    secret: bytes
    source: str
    """Where the key came from: ``env:NAME``, ``file:PATH``, ``random`` or ``given``."""

    def __post_init__(self) -> None:
        if len(self.secret) < _MIN_KEY_BYTES:
            raise RedactionError(
                f"the redaction key from {self.source} is {len(self.secret)} bytes long; "
                f"use at least {_MIN_KEY_BYTES} random bytes (for example the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )

    def __repr__(self) -> str:
        return f"RedactionKey(source={self.source!r}, fingerprint={self.fingerprint!r})"

    @property
    def fingerprint(self) -> str:
        """16 hex characters that tell keys apart without revealing them."""
        mac = hmac.new(self.secret, b"retake-redaction-key-fingerprint", hashlib.sha256).digest()
        return hashlib.sha256(mac).hexdigest()[:16]

    @classmethod
    def from_text(cls, text: str, *, source: str = "given") -> RedactionKey:
        """A key from configuration text: hex when it is hex, else its UTF-8 bytes."""
        text = text.strip()
        try:
            raw = bytes.fromhex(text) if len(text) >= 2 * _MIN_KEY_BYTES else text.encode()
        except ValueError:
            raw = text.encode()
        return cls(raw, source)

    @classmethod
    def from_file(cls, path: Path | str) -> RedactionKey:
        """A key read from a file (hex text or raw bytes)."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RedactionError(
                f"cannot read the redaction key file path={str(path)!r}: {exc.strerror}; "
                "check the path (--key-file, or the key file the redaction policy names), or "
                "set RETAKE_REDACTION_KEY instead"
            ) from exc
        try:
            return cls.from_text(data.decode("ascii"), source=f"file:{path}")
        except UnicodeDecodeError:
            return cls(data, f"file:{path}")

    @classmethod
    def random(cls, *, warn: bool = True) -> RedactionKey:
        """A fresh key for one session; warns that tokens then differ between sessions."""
        if warn:
            warnings.warn(
                "no redaction key configured (set RETAKE_REDACTION_KEY, pass --key-file, or name "
                "a key file in the redaction policy): using a random key for this session, so "
                "the same value "
                "will get different tokens in different cassettes",
                EphemeralKeyWarning,
                stacklevel=3,
            )
        return cls(secrets.token_bytes(32), "random")

    @classmethod
    def resolve(
        cls, *, file: Path | None, env: str | None, allow_random: bool = True
    ) -> RedactionKey:
        """The key a policy names: the key file, else the environment variable, else random."""
        if file is not None:
            return cls.from_file(file)
        if env is not None:
            value = os.environ.get(env)
            if value:
                return cls.from_text(value, source=f"env:{env}")
        if not allow_random:
            raise RedactionError(
                f"no redaction key: the environment variable {env!r} is unset and the policy "
                "names no key file; set one of them, or allow a random per-session key"
            )
        return cls.random()


@dataclass(slots=True)
class Pseudonymiser:
    """Turns sensitive values into tokens; remembers what it has made in this session."""

    key: RedactionKey
    _memo: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def digest(self, kind: str, value: str, attempt: int = 0) -> bytes:
        message = f"{kind}\x00{value}\x00{attempt}".encode("utf-8", "surrogatepass")
        return hmac.new(self.key.secret, message, hashlib.sha256).digest()

    def token(self, fmt: str, kind: str, value: str) -> str:
        """The token for ``value``: format-preserving for ``fmt``, else a secret token."""
        memo_key = (fmt, kind, value)
        cached = self._memo.get(memo_key)
        if cached is not None:
            return cached
        norm = value.lower() if fmt == "email" else value
        if fmt == "secret":
            out = secret_token(kind, self.digest(kind, norm))
        else:
            # A format-preserving token must not look sensitive itself; on the rare digest
            # whose digits happen to form another detector's match, derive again.
            for attempt in range(8):
                out = format_token(fmt, value, self.digest(fmt, norm, attempt), kind)
                if not BUILTIN_SET.find(out):
                    break
            else:
                out = secret_token(kind, self.digest(kind, norm))
        self._memo[memo_key] = out
        return out
