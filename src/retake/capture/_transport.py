"""httpx transports that route model traffic through the active session.

Give one to the SDK client: the current ``openai`` and ``anthropic`` SDKs are built on
``httpx2`` (``OpenAI(http_client=httpx2.Client(transport=retake.Transport2()))``), older ones
and other libraries on ``httpx`` (``retake.Transport()``). The two libraries share one API, so
one factory builds both sets of classes. A transport is explicit and safe in a concurrent
server: only this client's traffic is touched, and each request goes to the session of the
context that sent it. With no session active, a request goes straight to the inner transport.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import httpx2

from retake._session import HttpAnswer, HttpCall

from ._boundary import active

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


def _call(request: Any) -> HttpCall:
    return HttpCall(
        method=request.method,
        url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.content,
    )


def _plain_headers(response: Any) -> dict[str, str]:
    # The library decodes the body for the SDK; the recording keeps the decoded body, so the
    # headers that describe the wire encoding no longer apply.
    return {k.lower(): v for k, v in response.headers.items() if k.lower() not in _DROPPED}


def _make(lib: Any) -> tuple[type[Any], type[Any]]:
    """The sync and async transport classes for ``httpx`` or ``httpx2``."""

    class SyncStream(lib.SyncByteStream):  # type: ignore[misc]
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

    class AsyncStream(lib.AsyncByteStream):  # type: ignore[misc]
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

    class SyncTransport(lib.BaseTransport):  # type: ignore[misc]
        """A sync transport that records (or, in replay, answers) model calls."""

        def __init__(self, inner: Any = None) -> None:
            self._given = inner

        @functools.cached_property
        def _inner(self) -> Any:
            # Built on first use: a replay never sends a request, and building the network
            # transport costs a fifth of a second (its I/O backends, the TLS context).
            return self._given if self._given is not None else lib.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            session = active()
            if session is None:
                return self._inner.handle_request(request)
            request.read()
            opened: list[Any] = []

            def send() -> HttpAnswer:
                response = self._inner.handle_request(request)
                opened.append(response)
                decoded = lib.Response(
                    response.status_code, headers=response.headers, stream=response.stream
                )
                return HttpAnswer(
                    response.status_code, _plain_headers(response), decoded.iter_bytes()
                )

            answer = session.http(_call(request), send)
            return lib.Response(
                answer.status,
                headers=answer.headers,
                stream=SyncStream(answer.stream, opened[0].close if opened else None),
                request=request,
            )

        def close(self) -> None:
            if self._given is not None or "_inner" in self.__dict__:
                self._inner.close()

    class AsyncTransport(lib.AsyncBaseTransport):  # type: ignore[misc]
        """An async transport that records (or, in replay, answers) model calls."""

        def __init__(self, inner: Any = None) -> None:
            self._given = inner

        @functools.cached_property
        def _inner(self) -> Any:
            # Built on first use: a replay never sends a request, and building the network
            # transport costs a fifth of a second (its I/O backends, the TLS context).
            return self._given if self._given is not None else lib.AsyncHTTPTransport()

        async def handle_async_request(self, request: Any) -> Any:
            session = active()
            if session is None:
                return await self._inner.handle_async_request(request)
            await request.aread()
            opened: list[Any] = []

            async def send() -> HttpAnswer:
                response = await self._inner.handle_async_request(request)
                opened.append(response)
                decoded = lib.Response(
                    response.status_code, headers=response.headers, stream=response.stream
                )
                return HttpAnswer(
                    response.status_code, _plain_headers(response), decoded.aiter_bytes()
                )

            answer = await session.ahttp(_call(request), send)
            return lib.Response(
                answer.status,
                headers=answer.headers,
                stream=AsyncStream(answer.stream, opened[0].aclose if opened else None),
                request=request,
            )

        async def aclose(self) -> None:
            if self._given is not None or "_inner" in self.__dict__:
                await self._inner.aclose()

    return SyncTransport, AsyncTransport


Transport, AsyncTransport = _make(httpx)
"""Transports for clients built on ``httpx``."""
Transport2, AsyncTransport2 = _make(httpx2)
"""Transports for clients built on ``httpx2`` (the current openai and anthropic SDKs)."""
