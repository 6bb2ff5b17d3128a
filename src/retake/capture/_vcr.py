"""vcrpy as a capture path: any HTTP library, no code change. The only module importing vcr.

vcrpy patches the HTTP libraries process-wide, which suits tests and scripts; in a concurrent
server, prefer the explicit ``Transport``. Everything goes through vcrpy's own extension
points: ``before_record_request`` and ``before_record_response`` hand each exchange to the
session active in the calling context (the hooks only read, so they stay idempotent when vcrpy
runs them again on matching), and a persister that keeps nothing, because the session's own
cassette is the record: vcrpy's interactions are never written as YAML.

When the active session answers model calls itself (replay with the recorded model), vcrpy
plays instead of recording: its cassette holds one interaction that matches any request and
may be played any number of times, and ``before_record_request``, which vcrpy runs on each
request before it looks for a response, asks the session for the answer and writes it into
that interaction. Nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from http.client import responses as reasons
from typing import Any

import vcr
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.request import Request

from retake._session import HttpAnswer, HttpCall, Session

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


def _call(request: Any) -> HttpCall:
    return HttpCall(
        method=request.method,
        url=request.uri,
        headers=_headers(request.headers),
        body=_body(request.body),
    )


def _stash_request(request: Any) -> Any:
    _pending.set(request)
    return request


def _hand_over(response: dict[str, Any]) -> dict[str, Any]:
    request = _pending.get()
    session = active()
    if request is None or session is None:
        return response
    call = _call(request)
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


def _unsent() -> HttpAnswer:
    raise RuntimeError("retake: a session that answers model calls asked to send one")


_PLACEHOLDER = "http://retake.invalid/"


class _Answering:
    """The one interaction vcrpy plays while a session answers: filled in per request."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cassette: Any = None
        """vcrpy's cassette, once loaded: its interaction and how often it was played."""
        self._answered = -1

    def ask(self, request: Any) -> Any:
        """``before_record_request``. vcrpy runs it several times for each request before
        playing the answer (and once on the placeholder as it loads it): the session is asked
        once per play, so a request sent twice (a retry) is asked twice."""
        if request.uri == _PLACEHOLDER or self.cassette is None:
            return request
        plays = self.cassette.play_counts[0]
        if plays != self._answered:
            self._answered = plays
            answer = (active() or self.session).http(_call(request), _unsent)
            body = b"".join(answer.stream)  # type: ignore[arg-type]  # consuming records it
            response = self.cassette.data[0][1]  # the dict vcrpy plays (a copy of the loaded)
            response.clear()
            response.update(
                status={"code": answer.status, "message": reasons.get(answer.status, "")},
                headers={name: [value] for name, value in answer.headers.items()},
                body={"string": body},
            )
        return request


class _Placeholder:
    """A persister holding one interaction, which ``_Answering`` fills in."""

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> Any:
        empty = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {}}
        return [Request("POST", _PLACEHOLDER, b"", {})], [empty]

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        return None


def _any(r1: Any, r2: Any) -> bool:
    return True


@contextmanager
def recording_http(**vcr_options: Any) -> Iterator[None]:
    """What ``retake.capture.recording_http`` runs, once vcrpy is imported."""
    session = active()
    if session is not None and getattr(session, "answers_http", False):
        answering = _Answering(session)
        player = vcr.VCR(record_mode="none", before_record_request=answering.ask, **vcr_options)
        player.register_matcher("retake_any", _any)
        player.register_persister(_Placeholder)
        with player.use_cassette(
            "retake-session", match_on=["retake_any"], allow_playback_repeats=True
        ) as cassette:
            answering.cassette = cassette
            yield
        return
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
