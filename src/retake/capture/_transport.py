"""httpx transports that route model traffic through the active session.

Give one to the SDK client (``OpenAI(http_client=httpx.Client(transport=retake.Transport()))``).
It is explicit and safe in a concurrent server: only this client's traffic is touched, and
each request goes to the session of the context that sent it. With no session active, a
request goes straight to the inner transport.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from ._boundary import HttpAnswer, HttpCall, active

_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def decode_body(body: bytes, headers: dict[str, str]) -> bytes:
    """The body with its content encoding (gzip or deflate) undone."""
    encoding = headers.get("content-encoding", "").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error):
        return body
    return body


def _call(request: httpx.Request) -> HttpCall:
    return HttpCall(
        method=request.method,
        url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.content,
    )


def _plain_headers(response: httpx.Response) -> dict[str, str]:
    # httpx decodes the body for the SDK; the recording keeps the decoded body, so the
    # headers that describe the wire encoding no longer apply.
    return {k.lower(): v for k, v in response.headers.items() if k.lower() not in _DROPPED}


class _SyncStream(httpx.SyncByteStream):
    def __init__(self, chunks: Any, close: Callable[[], None] | None = None) -> None:
        self._chunks = chunks
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        closer = getattr(self._chunks, "close", None)
        if closer is not None:
            closer()
        if self._close is not None:
            self._close()


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, chunks: Any, close: Callable[[], Any] | None = None) -> None:
        self._chunks = chunks
        self._close = close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if hasattr(self._chunks, "__aiter__"):
            async for chunk in self._chunks:
                yield chunk
        else:
            for chunk in self._chunks:
                yield chunk

    async def aclose(self) -> None:
        closer = getattr(self._chunks, "aclose", None)
        if closer is not None:
            await closer()
        if self._close is not None:
            await self._close()


class Transport(httpx.BaseTransport):
    """A sync httpx transport that records (or, in replay, answers) model calls."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner if inner is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        session = active()
        if session is None:
            return self._inner.handle_request(request)
        request.read()
        opened: list[httpx.Response] = []

        def send() -> HttpAnswer:
            response = self._inner.handle_request(request)
            opened.append(response)
            decoded = httpx.Response(
                response.status_code, headers=response.headers, stream=response.stream
            )
            return HttpAnswer(response.status_code, _plain_headers(response), decoded.iter_bytes())

        answer = session.http(_call(request), send)
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_SyncStream(answer.stream, opened[0].close if opened else None),
            request=request,
        )

    def close(self) -> None:
        self._inner.close()


class AsyncTransport(httpx.AsyncBaseTransport):
    """An async httpx transport that records (or, in replay, answers) model calls."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = active()
        if session is None:
            return await self._inner.handle_async_request(request)
        await request.aread()
        opened: list[httpx.Response] = []

        async def send() -> HttpAnswer:
            response = await self._inner.handle_async_request(request)
            opened.append(response)
            decoded = httpx.Response(
                response.status_code, headers=response.headers, stream=response.stream
            )
            return HttpAnswer(response.status_code, _plain_headers(response), decoded.aiter_bytes())

        answer = await session.ahttp(_call(request), send)
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_AsyncStream(answer.stream, opened[0].aclose if opened else None),
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
