"""The provider-adapter seam, its error, and the small readers every adapter shares.

An adapter is sans-I/O: it turns the bytes of one model call into a provider-neutral
``ModelRequest`` / ``ModelResponse`` pair, and a recorded pair back into a response body the
provider's SDK accepts. It never opens a socket or a file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import orjson

from retake.errors import ProviderFormatError
from retake.schema import ModelRequest, ModelResponse

Body = bytes | str
"""A decoded HTTP body (content encoding already undone), as bytes or text."""


@runtime_checkable
class ProviderAdapter(Protocol):
    """Turns one provider's HTTP bodies into a model exchange and back."""

    @property
    def name(self) -> str:
        """The provider name stored in ``ModelEvent.provider``."""
        ...

    def matches(self, method: str, url: str) -> bool:
        """Whether a request with this method and URL is a call this adapter understands."""
        ...

    def parse(
        self, request_body: Body, response_body: Body, response_headers: Mapping[str, str]
    ) -> tuple[ModelRequest, ModelResponse]:
        """Read a request and its response (JSON or an SSE stream) into the neutral shape.

        Raises ``ProviderFormatError`` when a body is not valid JSON or not shaped as expected.
        """
        ...

    def parse_request(self, request_body: Body) -> ModelRequest:
        """Read a request body alone (replay compares it with the recorded one)."""
        ...

    def render(
        self, request: ModelRequest, response: ModelResponse, *, stream: bool
    ) -> tuple[bytes, dict[str, str]]:
        """Write a response body (and its ``content-type`` header) the provider's SDK accepts,
        as JSON or, with ``stream=True``, as an SSE stream."""
        ...


# --- shared readers ---------------------------------------------------------------------------


def path_endswith(method: str, url: str, suffix: str) -> bool:
    """Whether a ``POST`` goes to a URL whose path ends with ``suffix`` (query ignored)."""
    if method.upper() != "POST":
        return False
    path = urlsplit(url).path if "://" in url else url.partition("?")[0]
    return path.rstrip("/").endswith(suffix)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name in ``headers``."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def as_text(provider: str, body: Body, what: str) -> str:
    """A body as text, decoded as UTF-8."""
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProviderFormatError(
                provider,
                f"the {what} is not UTF-8 text ({exc}); pass the body after content decoding",
            ) from None
    raise ProviderFormatError(
        provider, f"the {what} must be bytes or str, not {type(body).__name__}"
    )


_LONG_NUMBER = re.compile(r"\d{19}")
"""19 digits in a row: perhaps an integer past 64 bits, which orjson reads as a float."""


def _fast_loads(text: str) -> Any:
    """orjson's reading of ``text`` (4x faster than json on a request that resends the
    conversation) when it is exactly json's; else ``_UNREAD``, and json decides."""
    if _LONG_NUMBER.search(text) is not None:
        return _UNREAD  # orjson would round a long integer (an id, a seed) to a float
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _UNREAD  # stricter than json (NaN, lone surrogates): json reads or explains


_UNREAD = object()


def load_json(provider: str, text: str, what: str) -> Any:
    """Parse JSON text, naming the body in the error."""
    value = _fast_loads(text)
    if value is not _UNREAD:
        return value
    try:
        return json.loads(text)
    except ValueError as exc:
        excerpt = text[:80]
        raise ProviderFormatError(
            provider, f"the {what} is not valid JSON ({exc}); it starts {excerpt!r}"
        ) from None


def parse_arguments(raw: str) -> Any:
    """Tool-call arguments from their JSON text; the text itself when it is not valid JSON."""
    value = _fast_loads(raw)
    if value is not _UNREAD:
        return value
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # nested too deeply to read: kept as text too
        return raw


def dump_arguments(arguments: Any) -> str:
    """The JSON text of tool-call arguments, the inverse of ``parse_arguments``.

    A string that is not valid JSON is raw text the model sent, and goes back verbatim.
    """
    if isinstance(arguments, str):
        try:
            json.loads(arguments)
        except ValueError:
            return arguments
    return json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the providers send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Shape:
    """Checks the shape of decoded JSON, raising ``ProviderFormatError`` for one provider."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def error(self, message: str) -> ProviderFormatError:
        return ProviderFormatError(self.provider, message)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(f"{where} must be a JSON object, got {_kind(value)}")
        return value

    def array(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"{where} must be a JSON array, got {_kind(value)}")
        return value

    def string(self, value: Any, where: str) -> str | None:
        if value is not None and not isinstance(value, str):
            raise self.error(f"{where} must be a string, got {_kind(value)}")
        return value

    def integer(self, value: Any, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{where} must be an integer, got {_kind(value)}")
        return value

    def load(self, body: Body, what: str) -> dict[str, Any]:
        """A JSON object body."""
        return self.obj(load_json(self.provider, as_text(self.provider, body, what), what), what)

    def refuse_error_body(self, data: dict[str, Any], what: str) -> None:
        """Refuse an API error object where a result was expected, quoting its message."""
        error = data.get("error")
        if isinstance(error, dict) and ("message" in error or "type" in error):
            detail = error.get("message") or error.get("type")
            raise self.error(
                f"the {what} is an API error ({detail!r}), not a result; "
                "record it as a failed call instead"
            )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id for a rendered body: the same recorded answer renders the same bytes."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:24]
    return f"{prefix}{digest}"


ROLES = ("system", "developer", "user", "assistant", "tool")
"""The message roles of the neutral shape (a tuple: membership tests on untrusted JSON
must not hash it)."""
