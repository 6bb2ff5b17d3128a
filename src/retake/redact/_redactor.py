"""The redactor (keyed, remembers a session's tokens) and the keyless scan."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

from retake.errors import RedactionError
from retake.schema import RedactionManifest

from ._findings import Finding
from ._policy import RedactionPolicy
from ._pseudo import Pseudonymiser, RedactionKey
from ._walk import Engine, Tally, Walker

__all__ = ["Redactor", "scan"]

T = TypeVar("T")


@lru_cache(maxsize=16)
def _engine(policy: RedactionPolicy) -> Engine:
    return Engine.compile(policy)


@lru_cache(maxsize=1)
def _default_policy() -> RedactionPolicy:
    return RedactionPolicy()  # frozen: one instance serves every redactor without a policy


@lru_cache(maxsize=1)
def _default_engine() -> Engine:
    return _engine(_default_policy())


def _too_deep(path: str) -> RedactionError:
    return RedactionError(
        f"the value at path={path or '<root>'!r} nests too deeply to inspect, so it cannot be "
        "made safe to store; flatten it, or mask it whole with a field rule"
    )


class Redactor:
    """Redacts JSON-like values with one policy and one key, for one session or many.

    The same value always gets the same token from the same key. ``tally`` accumulates what
    was replaced, for :meth:`manifest`; pass your own :class:`Tally` to count one run apart.
    """

    def __init__(
        self, policy: RedactionPolicy | None = None, *, key: RedactionKey | None = None
    ) -> None:
        self.policy = policy if policy is not None else _default_policy()
        if key is None:
            src = self.policy.key
            key = RedactionKey.resolve(file=src.file, env=src.env, allow_random=src.allow_random)
        self.key = key
        # The default policy's engine without hashing the policy (pydantic hashes every field).
        self._engine = _default_engine() if policy is None else _engine(self.policy)
        self._pseudo = Pseudonymiser(key)
        self._text_cache: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self._field_cache: dict[str, int] = {}
        self.tally = Tally()

    def __repr__(self) -> str:
        return f"Redactor(key_fingerprint={self.key.fingerprint!r})"

    @property
    def key_fingerprint(self) -> str:
        """Tells keys apart without revealing them (first 16 hex of a digest of an HMAC)."""
        return self.key.fingerprint

    def redact(
        self,
        value: T,
        *,
        path: str = "",
        labels: tuple[str, ...] = (),
        tally: Tally | None = None,
    ) -> T:
        """``value`` with every sensitive string replaced; ``value`` itself when nothing was.

        ``path`` prefixes the paths in the tally (``events[3]``); ``labels`` activates field
        rules that start with that head (``("header",)`` for a cassette header).
        """
        walker = Walker(
            self._engine,
            self._pseudo,
            tally if tally is not None else self.tally,
            text_cache=self._text_cache,
            field_cache=self._field_cache,
        )
        try:
            result: T = walker.run(value, path, labels)
        except RecursionError:
            raise _too_deep(path) from None
        return result

    def redact_text(self, text: str) -> str:
        """Detectors over one string (no field context)."""
        out = self.redact(text)
        return out if isinstance(out, str) else text

    def manifest(self, tally: Tally | None = None) -> RedactionManifest:
        """What was done: rule set version, key fingerprint, counts, values masked whole."""
        t = tally if tally is not None else self.tally
        return RedactionManifest(
            applied=True,
            rule_set_version=self.policy.rule_set_version(),
            key_fingerprint=self.key.fingerprint,
            counts=dict(sorted(t.counts.items())),
            masked_whole=tuple(t.masked_whole),
        )


def scan(
    value: Any,
    *,
    path: str = "",
    labels: tuple[str, ...] = (),
    policy: RedactionPolicy | None = None,
) -> list[Finding]:
    """Run every detector over ``value`` and report what fires; needs no key.

    Tokens that retake made are recognised by their shape and never reported, so a redacted
    value scans clean.
    """
    walker = Walker(_engine(policy if policy is not None else _default_policy()), None, Tally())
    try:
        walker.run(value, path, labels)
    except RecursionError:
        raise _too_deep(path) from None
    return walker.findings
