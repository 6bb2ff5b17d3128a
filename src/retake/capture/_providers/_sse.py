"""Server-sent events: split a recorded ``text/event-stream`` body into events, and write one.

Only what the model providers use is kept from the SSE format: ``event:`` and ``data:`` fields,
comment lines (``:``), blank lines ending an event, and the three line endings. ``id:`` and
``retry:`` fields are read and ignored; replay serves whole bodies, so reconnection never
happens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event of a stream: its name (``None`` when the stream names none) and its data."""

    event: str | None
    data: str


def iter_events(text: str) -> Iterator[ServerSentEvent]:
    """Yield the events of a stream body, in order; an unterminated last event is yielded too."""
    event: str | None = None
    data: list[str] = []
    seen_field = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            if seen_field:
                yield ServerSentEvent(event, "\n".join(data))
            event, data, seen_field = None, [], False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event, seen_field = value, True
        elif name == "data":
            data.append(value)
            seen_field = True
    if seen_field:
        yield ServerSentEvent(event, "\n".join(data))


def looks_like_event_stream(content_type: str | None, text: str) -> bool:
    """Whether a response body is an SSE stream, by its content type or, lacking one, its start."""
    if content_type is not None and "text/event-stream" in content_type.lower():
        return True
    if content_type is not None and "json" in content_type.lower():
        return False
    head = text.lstrip()[:6]
    return head.startswith(("data:", "event:", ":"))


def encode_events(events: Iterable[tuple[str | None, Any]]) -> bytes:
    """Write ``(event name, payload)`` pairs as a stream; a ``str`` payload is sent verbatim,
    anything else as compact JSON."""
    out: list[str] = []
    for name, payload in events:
        if name is not None:
            out.append(f"event: {name}\n")
        data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        out.extend(f"data: {line}\n" for line in data.split("\n"))
        out.append("\n")
    return "".join(out).encode("utf-8")


EVENT_STREAM_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}
"""The headers a rendered stream is served with."""

JSON_HEADERS = {"content-type": "application/json"}
"""The headers a rendered JSON body is served with."""
