"""vcrpy as a capture path: any HTTP library, no code change. The only module importing vcr.

vcrpy patches the HTTP libraries process-wide, which suits tests and scripts; in a concurrent
server, prefer the explicit ``Transport``. Everything goes through vcrpy's own extension
points: ``before_record_request`` and ``before_record_response`` hand each exchange to the
session active in the calling context (the hooks only read, so they stay idempotent when vcrpy
runs them again on matching), and a persister that keeps nothing, because the session's own
cassette is the record: vcrpy's interactions are never written as YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import vcr
from vcr.persisters.filesystem import CassetteNotFoundError

from retake._session import HttpAnswer, HttpCall

from ._boundary import active

_pending: ContextVar[Any] = ContextVar("retake_vcr_request", default=None)


class _SessionPersister:
    """Keeps nothing on disk: the active retake session records every exchange."""

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> Any:
        raise CassetteNotFoundError()

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        return None


def _headers(raw: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in dict(raw or {}).items():
        values = value if isinstance(value, list) else [value]
        headers[str(name).lower()] = ", ".join(str(v) for v in values)
    return headers


def _body(raw: Any) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, str):
        return raw.encode("utf-8")
    return bytes(raw)


def _stash_request(request: Any) -> Any:
    _pending.set(request)
    return request


def _hand_over(response: dict[str, Any]) -> dict[str, Any]:
    request = _pending.get()
    session = active()
    if request is None or session is None:
        return response
    call = HttpCall(
        method=request.method,
        url=request.uri,
        headers=_headers(request.headers),
        body=_body(request.body),
    )
    status = response.get("status", {})
    answer = HttpAnswer(
        status=int(status.get("code", 200)) if isinstance(status, dict) else int(status),
        headers={
            k: v
            for k, v in _headers(response.get("headers")).items()
            if k not in ("content-encoding", "content-length", "transfer-encoding")
        },
        stream=[_body((response.get("body") or {}).get("string"))],
    )
    recorded = session.http(call, lambda: answer)
    for _ in recorded.stream:  # type: ignore[union-attr]  # consuming it records the exchange
        pass
    return response


@contextmanager
def recording_http(**vcr_options: Any) -> Iterator[None]:
    """What ``retake.capture.recording_http`` runs, once vcrpy is imported."""
    recorder = vcr.VCR(
        record_mode="all",
        decode_compressed_response=True,
        before_record_request=_stash_request,
        before_record_response=_hand_over,
        **vcr_options,
    )
    recorder.register_persister(_SessionPersister)
    with recorder.use_cassette("retake-session"):
        yield
