"""Events to frame payloads and back.

Every model request resends the whole conversation, so storing requests as they are makes a
session's size quadratic in its length. The encoder stores each distinct message once, the
first time it appears, and a request as the list of its messages' indices; the decoder keeps
the table and rebuilds each request from it, sharing the message objects, so both the bytes on
disk and the validation work stay linear. Sliding context windows, compaction and a reordered
system prompt all cost nothing extra: any message seen before is a reference.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from retake.schema import Event, EventListAdapter, Message, ModelEvent

from ._format import pack

_NEW = "new_messages"
_REFS = "message_refs"
_MESSAGES: Any = {"request": {"messages"}}
_MessagesAdapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message])


class Encoder:
    """Turns events into payload dicts; one per cassette, fed the events in order."""

    def __init__(self) -> None:
        self._index: dict[bytes, int] = {}

    def encode(self, event: Event) -> dict[str, Any]:
        if isinstance(event, ModelEvent):
            data = event.model_dump(exclude_defaults=True, exclude=_MESSAGES)
        else:
            data = event.model_dump(exclude_defaults=True)
        data["kind"] = event.kind  # a default, so exclude_defaults dropped it
        if isinstance(event, ModelEvent):
            request = data.setdefault("request", {})
            refs: list[int] = []
            new: list[dict[str, Any]] = []
            for message in event.request.messages:
                dumped = message.model_dump(exclude_defaults=True)
                key = pack(dumped)
                index = self._index.get(key)
                if index is None:
                    index = self._index[key] = len(self._index)
                    new.append(dumped)
                refs.append(index)
            if new:
                request[_NEW] = new
            if refs:
                request[_REFS] = refs
        return data


class DecodeError(ValueError):
    """A payload does not describe a valid event; ``seq`` locates it."""

    def __init__(self, message: str, seq: int | None) -> None:
        super().__init__(message)
        self.seq = seq


class Decoder:
    """Turns the payload dicts of one cassette, in order, back into events."""

    def decode(self, raw_events: list[Any]) -> list[Event]:
        # Pass 1: gather every newly stored message, so they validate in one call.
        pending: list[Any] = []
        bounds: list[tuple[dict[str, Any], Any, int]] = []
        for position, data in enumerate(raw_events):
            if not isinstance(data, dict):
                raise DecodeError(
                    f"event {position} is a {type(data).__name__}, not a map", position
                )
            request = data.get("request")
            if data.get("kind") == "model" and isinstance(request, dict):
                new = request.pop(_NEW, None)
                if new is not None:
                    if not isinstance(new, list):
                        raise DecodeError(f"event {position}: malformed messages", position)
                    pending.extend(new)
                bounds.append((request, request.pop(_REFS, ()), len(pending)))
        try:
            table = _MessagesAdapter.validate_python(pending)
        except ValidationError as exc:
            raise DecodeError(f"invalid stored message: {_first_error(exc)}", None) from exc
        # Pass 2: rebuild each request from the table, sharing the message objects.
        for request, refs, known in bounds:
            try:
                if refs and (max(refs) >= known or min(refs) < 0):
                    raise IndexError
                request["messages"] = tuple([table[i] for i in refs])
            except (IndexError, TypeError, ValueError) as exc:
                raise DecodeError(
                    "a model request refers to a message that was not stored before it", None
                ) from exc
        try:
            return EventListAdapter.validate_python(raw_events)
        except ValidationError as exc:
            loc = exc.errors()[0]["loc"]
            failed = loc[0] if loc and isinstance(loc[0], int) else None
            raise DecodeError(f"event {failed}: {_first_error(exc)}", failed) from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"][1:]) or "(the event itself)"
    return f"{where}: {error['msg']}"
