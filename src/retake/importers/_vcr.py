"""vcrpy cassettes (YAML): stock vcrpy bodies (``body.string``), the older httpx format
(``content`` + ``status_code``), gzip-encoded ``!!binary`` bodies, SSE streams, and bodies
stored as parsed YAML (``parsed_body``).

Each interaction that is a model call becomes a ``model`` event through the provider adapters
the caller passes in (``parse_exchange``), with its HTTP exchange kept so replay can serve it;
the messages each request adds to the conversation become user turns, tool calls and tool
results. Other traffic is listed as skipped.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from retake.schema import Cassette, HttpExchange, Message, ModelRequest, ModelResponse, ToolFailure

from ._anthropic import IS_ERROR_PART
from ._build import SessionBuilder, Skipped, session_name

NAME = "vcr"

ParseExchange = Callable[
    [str, str, bytes, bytes, Mapping[str, str]], "tuple[str, ModelRequest, ModelResponse] | None"
]
"""``(method, url, request body, response body, response headers) -> (provider, request,
response)``, ``None`` for traffic that is not a model call; raises ``ValueError`` for a body
that is not shaped like its provider's API."""

KNOWN_ERROR_TEXTS = (
    "An error occurred while running the tool.",  # openai-agents' default tool error text
    "Fix the errors and try again.",  # pydantic-ai's retry prompt after a tool failed
)
"""Texts agent frameworks put in a tool result when the tool failed; such results become
typed failures."""

_DROPPED = ("content-encoding", "content-length", "transfer-encoding")


def failure_of(message: Message) -> ToolFailure | None:
    """``is_error`` tool results, and results carrying a framework's tool-error text."""
    text = message.content or ""
    if IS_ERROR_PART in message.parts or any(known in text for known in KNOWN_ERROR_TEXTS):
        return ToolFailure(type="error", message=text)
    return None


def is_vcr(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("interactions"), list)


def _headers(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        for name, value in raw.items():
            values = value if isinstance(value, list) else [value]
            out[str(name).lower()] = ", ".join(str(v) for v in values)
    return out


def _bytes(raw: Any) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8")
    return json.dumps(raw, ensure_ascii=False).encode("utf-8")


def _decoded(body: bytes, encoding: str) -> bytes:
    """The body after content decoding; vcrpy may have stored it still encoded."""
    if body[:2] == b"\x1f\x8b":
        return gzip.decompress(body)
    if encoding == "deflate" and body:
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


def request_body(request: dict[str, Any]) -> bytes:
    """The request body of a vcrpy interaction, as the bytes that were sent."""
    if "parsed_body" in request:
        return _bytes(request["parsed_body"])
    body = request.get("body")
    if isinstance(body, dict) and "string" in body:
        body = body["string"]
    return _bytes(body)


def response_parts(response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and decoded body of a vcrpy interaction's response;
    ``ValueError``, ``OSError`` or ``zlib.error`` for one that cannot be read."""
    headers = _headers(response.get("headers"))
    status = response.get("status")
    if isinstance(status, dict):
        code = status.get("code", 200)
    else:
        code = response.get("status_code", status if status is not None else 200)
    if "parsed_body" in response:
        body = _bytes(response["parsed_body"])
    elif "content" in response:  # vcrpy's older httpx format
        body = _bytes(response["content"])
    else:
        raw = response.get("body")
        body = _bytes(raw.get("string") if isinstance(raw, dict) else raw)
    body = _decoded(body, headers.get("content-encoding", "").strip().lower())
    kept = {k: v for k, v in headers.items() if k not in _DROPPED}
    try:
        return int(code), kept, body
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"the status code {code!r} is not a number") from None


def _common_prefix(a: tuple[Message, ...], b: tuple[Message, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def import_data(
    data: Any, file: str, skipped: list[Skipped], parse_exchange: ParseExchange
) -> list[Cassette]:
    builder = SessionBuilder(file)
    previous: tuple[Message, ...] = ()
    seen_model = False
    models: list[str] = []
    for i, interaction in enumerate(data.get("interactions") or ()):
        item = f"interactions[{i}]"
        request = interaction.get("request") if isinstance(interaction, dict) else None
        response = interaction.get("response") if isinstance(interaction, dict) else None
        if not isinstance(request, dict) or not isinstance(response, dict):
            builder.skip(item, "an interaction needs a 'request' and a 'response' mapping")
            continue
        method, url = str(request.get("method", "")), str(request.get("uri", ""))
        try:
            status, headers, body = response_parts(response)
            parsed = parse_exchange(method, url, request_body(request), body, headers)
        except (ValueError, OSError, EOFError, zlib.error) as exc:
            builder.skip(item, f"{method} {url}: {exc}; left out")
            continue
        if parsed is None:
            builder.skip(item, f"{method} {url} is not a model call the adapters know; left out")
            continue
        provider, model_request, model_response = parsed
        messages = model_request.messages
        start = _common_prefix(messages, previous)
        if seen_model:  # the previous answer, sent back as history, is already an event
            while start < len(messages) and messages[start].role == "assistant":
                start += 1
        new = [(f"{item}.request.messages[{j}]", messages[j]) for j in range(start, len(messages))]
        builder.conversation(
            new,
            provider=provider,
            failure_of=failure_of,
            history=messages[:start],
            model=model_request.model,
        )
        http = HttpExchange(
            method=method.upper(),
            url=url,
            request_headers=_headers(request.get("headers")),
            status=status,
            response_headers=headers,
            response_body=body,
        )
        builder.model(model_request, model_response, provider=provider, http=http)
        previous, seen_model = messages, True
        if model_request.model and model_request.model not in models:
            models.append(model_request.model)
    builder.final_output()
    skipped += builder.skipped
    return [
        builder.finish(
            session_id=session_name(file),
            source=NAME,
            agent=NAME,
            lacks=("permission", "duration", "time"),
            tags={"models": models} if models else {},
        )
    ]
