"""Model traffic for replay: a live request read back, a recorded response rendered."""

from __future__ import annotations

from retake._session import HttpAnswer, HttpCall
from retake.schema import ModelEvent, ModelRequest

from . import _providers


def parse_model_request(call: HttpCall) -> ModelRequest | None:
    """The neutral request of a live model call; ``None`` for traffic no adapter knows, or a
    body it cannot read (the replay then serves the recording without comparing)."""
    try:
        parsed = _providers.parse_request(call.method, call.url, call.body)
    except ValueError:
        return None
    return None if parsed is None else parsed[1]


def render_model_event(event: ModelEvent) -> HttpAnswer:
    """A recorded model call without a raw response body (an imported transcript, or a stream
    redaction dropped), as a response body its provider's SDK accepts."""
    adapter = _providers.adapter_named(event.provider or "")
    if adapter is None:
        raise ValueError(
            f"model event {event.seq} has provider={event.provider!r}, which no adapter renders"
        )
    # A stream whose raw body redaction dropped is rendered as a stream again.
    kind = {k.lower(): v for k, v in event.http.response_headers.items()} if event.http else {}
    stream = "text/event-stream" in kind.get("content-type", "").lower()
    body, headers = adapter.render(event.request, event.response, stream=stream)
    return HttpAnswer(200, headers, [body])
