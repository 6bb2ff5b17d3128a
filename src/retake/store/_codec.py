"""Events to frame payloads and back.

Every model request resends the whole conversation, so storing requests as they are makes a
session's size quadratic in its length. The encoder stores each distinct message once, the
first time it appears, and a request as the list of its messages' indices; the decoder keeps
the table and rebuilds each request from it, sharing the message objects, so both the bytes on
disk and the validation work stay linear. Sliding context windows, compaction and a reordered
system prompt all cost nothing extra: any message seen before is a reference.

The other large duplication in agent traffic is the tool result echoed to the model: the tool
returns a value (the ``tool_result`` event's output) and the agent sends its text in a ``tool``
message. When that message's content is exactly the output itself, or its JSON in one of the
common spellings, the encoder stores a reference to the result event instead, and the decoder
rebuilds the identical text. Anything else is stored as it is.

From format 2 on, an output that JSON holds exactly is stored as its ``json.dumps`` text
(``output_json``), the spelling agents use most. The decoder parses it with orjson (faster than
rebuilding the structure from msgpack and then spelling it out again), and a tool message that
echoes it in that spelling shares the very same string.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from json import encoder as json_encoder
from operator import itemgetter
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from retake.schema import (
    FORMAT_VERSION,
    Event,
    EventListAdapter,
    Message,
    ModelEvent,
    ToolResultEvent,
)

from ._format import pack

_NEW = "new_messages"
_REFS = "message_refs"
_MESSAGES: Any = {"request": {"messages"}}
_ECHO = "content_echo"
_OUTPUT_JSON = "output_json"
_DUMPS = 1
"""The index in ``_SPELLINGS`` of plain ``json.dumps``, the spelling ``output_json`` is in."""
_MIN_ECHO = 64
"""Tool messages (and outputs) shorter than this are stored as they are, not as references
(or text)."""
_MessagesAdapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message])

_SPELLINGS: tuple[Callable[[Any], str], ...] = (
    lambda value: value if isinstance(value, str) else _not_text(),
    json.dumps,
    lambda value: json.dumps(value, separators=(",", ":")),
    lambda value: json.dumps(value, ensure_ascii=False),
    lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
)
"""Ways an agent turns a tool's output into the text it sends; the index is stored."""


def _not_text() -> str:
    raise TypeError("not text")


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _respeller(*, ensure_ascii: bool, separators: tuple[str, str]) -> Callable[[Any], str]:
    """The text of ``json.dumps(value, ensure_ascii=..., separators=...)``, built faster.

    ``json.dumps`` builds a new encoder on every call and tracks containers against cycles;
    values decoded from msgpack cannot be cyclic, so the decoder builds the C encoder once,
    without that check. A Python without the accelerator gets ``json.dumps`` itself.
    """
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover (CPython always has it)
        return partial(json.dumps, ensure_ascii=ensure_ascii, separators=separators)
    strings = (
        json_encoder.encode_basestring_ascii if ensure_ascii else json_encoder.encode_basestring
    )
    item, key = separators
    encode = make(None, _not_json, strings, None, key, item, False, False, True)
    return lambda value: "".join(encode(value, 0))


_RESPELLINGS: tuple[Callable[[Any], str], ...] = (
    _SPELLINGS[0],
    _respeller(ensure_ascii=True, separators=(", ", ": ")),
    _respeller(ensure_ascii=True, separators=(",", ":")),
    _respeller(ensure_ascii=False, separators=(", ", ": ")),
    _respeller(ensure_ascii=False, separators=(",", ":")),
)
"""``_SPELLINGS`` as the decoder runs them: the same texts (a test holds them equal), faster."""


def _exact_json(value: Any) -> str | None:
    """``json.dumps(value)`` when orjson parses it back to ``value`` exactly, else ``None``.

    Short outputs stay in msgpack (text would gain little: a short echo is stored as it is),
    and so do those JSON does not hold exactly: bytes, tuples, keys that are not strings, NaN,
    deep nesting, and integers past 64 bits (orjson reads those as floats, which may compare
    equal; ``orjson.dumps`` refuses exactly those, and it is the fastest way to refuse the
    rest, so it runs first). ``CassetteWriter`` calls this on its own thread.
    """
    try:
        if len(orjson.dumps(value)) < _MIN_ECHO:  # compact: json.dumps is no shorter
            return None
        text = _RESPELLINGS[_DUMPS](value)  # outputs come from model_dump: never cyclic
        return text if orjson.loads(text) == value else None
    except (TypeError, ValueError, RecursionError):  # orjson's errors are among these
        return None


class Encoder:
    """Turns events into payload dicts; one per cassette, fed the events in order.

    ``version`` is the format written: features newer than it are not used."""

    def __init__(self, version: int = FORMAT_VERSION) -> None:
        self._index: dict[bytes, int] = {}
        self._outputs: dict[str, tuple[int, Any, str | None]] = {}
        """Each tool result's seq, and its output: as a value, or as its JSON text."""
        self._output_json = version >= 2

    def encode(self, event: Event) -> dict[str, Any]:
        if isinstance(event, ModelEvent):
            data = event.model_dump(exclude_defaults=True, exclude=_MESSAGES)
        else:
            data = event.model_dump(exclude_defaults=True)
        data["kind"] = event.kind  # a default, so exclude_defaults dropped it
        if isinstance(event, ToolResultEvent) and "output" in data:
            output = data["output"]
            text = None
            if self._output_json and not isinstance(output, str):
                text = _exact_json(output)
                if text is not None:
                    data[_OUTPUT_JSON] = text
                    del data["output"]
                    output = None  # the text holds it; parsed again only for a rare spelling
            self._outputs[event.call_id] = (event.seq, output, text)
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
                    new.append(self._echo(dumped))
                refs.append(index)
            if new:
                request[_NEW] = new
            if refs:
                request[_REFS] = refs
        return data

    def _echo(self, message: dict[str, Any]) -> dict[str, Any]:
        """Replace a tool message's content by a reference to the output it repeats."""
        content, call_id = message.get("content"), message.get("tool_call_id")
        if message.get("role") != "tool" or not isinstance(content, str) or call_id is None:
            return message
        recorded = self._outputs.get(call_id)
        if recorded is None or len(content) < _MIN_ECHO:
            return message
        seq, output, text = recorded
        if text is not None:
            if text == content:
                echoed = {k: v for k, v in message.items() if k != "content"}
                echoed[_ECHO] = [seq, _DUMPS]
                return echoed
            output = orjson.loads(text)
        for spelling, spell in enumerate(_SPELLINGS):
            try:
                if spell(output) == content:
                    echoed = {k: v for k, v in message.items() if k != "content"}
                    echoed[_ECHO] = [seq, spelling]
                    return echoed
            except (TypeError, ValueError):
                continue
        return message


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
        texts: dict[int, str] = {}
        for position, data in enumerate(raw_events):
            if not isinstance(data, dict):
                raise DecodeError(
                    f"event {position} is a {type(data).__name__}, not a map", position
                )
            if _OUTPUT_JSON in data:
                texts[position] = _output_from_json(data, position)
            request = data.get("request")
            if data.get("kind") == "model" and isinstance(request, dict):
                new = request.pop(_NEW, None)
                if new is not None:
                    if not isinstance(new, list):
                        raise DecodeError(f"event {position}: malformed messages", position)
                    for message in new:
                        if isinstance(message, dict) and _ECHO in message:
                            _unecho(message, raw_events, position, texts)
                    pending += new
                bounds.append((request, request.pop(_REFS, ()), len(pending)))
        try:
            table = _MessagesAdapter.validate_python(pending)
        except ValidationError as exc:
            raise DecodeError(f"invalid stored message: {_first_error(exc)}", None) from exc
        # Pass 2: rebuild each request from the table, sharing the message objects.
        for request, refs, known in bounds:
            try:
                request["messages"] = _resolve(table, refs, known)
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


def _resolve(table: list[Message], refs: Any, known: int) -> tuple[Message, ...]:
    """The messages ``refs`` names, each one of the ``known`` stored before the request."""
    if refs and (max(refs) >= known or min(refs) < 0):
        raise IndexError(refs)
    if type(refs) is not list or len(refs) < 2:
        return tuple([table[i] for i in refs])  # () for the default, TypeError for a non-list
    found: tuple[Message, ...] = itemgetter(*refs)(table)  # a tuple, built in C
    return found


def _output_from_json(data: dict[str, Any], position: int) -> str:
    """Parse a tool result's ``output_json`` into its ``output``; the text, for echoes.

    orjson refuses nesting deeper than 1,024, msgpack's own bound, so hostile text is refused
    here as deep msgpack is in ``_format.unpack``."""
    text = data.pop(_OUTPUT_JSON)
    if data.get("kind") != "tool_result" or "output" in data or type(text) is not str:
        raise DecodeError(f"event {position}: malformed output_json", position)
    try:
        data["output"] = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(
            f"event {position}: output_json is not JSON, or nests too deeply", position
        ) from exc
    return text


def _unecho(
    message: dict[str, Any], raw_events: list[Any], position: int, texts: dict[int, str]
) -> None:
    """Rebuild a tool message's content from the earlier result event it refers to."""
    try:
        seq, spelling = message.pop(_ECHO)
        source = raw_events[seq] if 0 <= seq < position else None
        if not isinstance(source, dict) or source.get("kind") != "tool_result":
            raise ValueError("not an earlier tool result")
        text = texts.get(seq) if spelling == _DUMPS else None
        message["content"] = (
            text if text is not None else _RESPELLINGS[spelling](source.get("output"))
        )
    except (TypeError, ValueError, IndexError, RecursionError) as exc:
        # RecursionError: a damaged file can point at an output nested too deep for JSON.
        raise DecodeError(
            f"event {position}: a tool message refers to a tool result that does not hold it",
            position,
        ) from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"][1:]) or "(the event itself)"
    return f"{where}: {error['msg']}"
