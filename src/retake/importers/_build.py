"""What every importer shares: skipped items, and a builder that turns the steps a source
holds into a numbered event sequence and a header.

A source is imported as it is: what it lacks stays absent and is listed in the header's
``tags["lacks"]`` (see ``LACKS``); nothing is invented to fill the gap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retake.schema import (
    Cassette,
    CassetteHeader,
    ErrorEvent,
    Event,
    HttpExchange,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    OutputEvent,
    PermissionEvent,
    ToolCallEvent,
    ToolFailure,
    ToolResultEvent,
    UserEvent,
)

LACKS: dict[str, str] = {
    "permission": "the source records no permission decisions, so there are no permission events",
    "duration": "the source records no tool durations; every tool result has duration 0",
    "time": "the source records no timestamps; every event has t=0",
    "http": "the source holds no HTTP exchanges; model events cannot be served byte-exact",
    "recorded_at": "the source holds no start time; recorded_at is the source file's mtime",
}
"""What a source can lack, as listed in ``header.tags["lacks"]``, and what it means."""


@dataclass(frozen=True)
class Skipped:
    """One item of a source that did not become an event, and why."""

    file: str
    """The source file."""
    item: str
    """Where in the file: ``messages[7]``, ``interactions[2]``, ``span 5f1c...``."""
    reason: str
    """What was wrong, and what the import did about it."""

    def __str__(self) -> str:
        return f"{self.file}: {self.item}: {self.reason}"


FailureOf = Callable[[Message], ToolFailure | None]
"""Decides whether a tool message reports a failure, per source format."""


def no_failure(message: Message) -> ToolFailure | None:
    """Sources that carry no error flag on tool results."""
    return None


def as_arguments(value: Any) -> dict[str, Any]:
    """Tool arguments as a mapping; anything else (invalid JSON text, a list) under ``value``."""
    return value if isinstance(value, dict) else {"value": value}


@dataclass
class SessionBuilder:
    """Collects one session's events in order, joining tool results to their calls by id."""

    file: str
    events: list[Event] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    calls: dict[str, str] = field(default_factory=dict)
    """Call id -> tool name, for every tool call seen so far."""

    @property
    def seq(self) -> int:
        return len(self.events)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append(Skipped(self.file, item, reason))

    def user(self, text: str, *, t: float = 0.0, span_id: str | None = None) -> None:
        self.events.append(UserEvent(seq=self.seq, t=t, text=text, span_id=span_id))

    def model(
        self,
        request: ModelRequest,
        response: ModelResponse,
        *,
        provider: str | None,
        http: HttpExchange | None = None,
        t: float = 0.0,
        span_id: str | None = None,
        parent_id: str | None = None,
        with_calls: bool = True,
    ) -> None:
        """A model call, then (``with_calls``) a ``tool_call`` event for each call it asked for."""
        self.events.append(
            ModelEvent(
                seq=self.seq,
                t=t,
                span_id=span_id,
                parent_id=parent_id,
                provider=provider,
                request=request,
                response=response,
                http=http,
            )
        )
        if with_calls:
            for call in response.tool_calls:
                self.tool_call(call.id, call.name, call.arguments, t=t)

    def tool_call(
        self,
        call_id: str,
        tool: str,
        arguments: Any,
        *,
        t: float = 0.0,
        span_id: str | None = None,
        parent_id: str | None = None,
    ) -> None:
        self.calls[call_id] = tool
        self.events.append(
            ToolCallEvent(
                seq=self.seq,
                t=t,
                span_id=span_id,
                parent_id=parent_id,
                call_id=call_id,
                tool=tool,
                arguments=as_arguments(arguments),
            )
        )

    def tool_result(
        self,
        item: str,
        call_id: str | None,
        output: Any,
        *,
        failure: ToolFailure | None = None,
        tool: str | None = None,
        duration: float = 0.0,
        t: float = 0.0,
        span_id: str | None = None,
        parent_id: str | None = None,
    ) -> None:
        """A tool result; one whose call id matches no call seen so far is skipped."""
        if call_id is None or call_id not in self.calls:
            self.skip(
                item,
                f"tool result for call id {call_id!r} matches no tool call before it; "
                "left out (check that the source holds the whole session)",
            )
            return
        self.events.append(
            ToolResultEvent(
                seq=self.seq,
                t=t,
                span_id=span_id,
                parent_id=parent_id,
                call_id=call_id,
                tool=tool or self.calls[call_id],
                output=None if failure is not None else output,
                failure=failure,
                duration=duration,
            )
        )

    def permission(self, event: dict[str, Any]) -> None:
        self.events.append(PermissionEvent(seq=self.seq, **event))

    def output(self, text: str, *, t: float = 0.0, span_id: str | None = None) -> None:
        self.events.append(OutputEvent(seq=self.seq, t=t, text=text, span_id=span_id))

    def error(self, type: str, message: str, *, t: float = 0.0) -> None:
        self.events.append(ErrorEvent(seq=self.seq, t=t, type=type, message=message))

    def note(self, message: str, *, level: str = "info", t: float = 0.0) -> None:
        self.events.append(NoteEvent(seq=self.seq, t=t, message=message, level=level))

    # --- a conversation as events -----------------------------------------------------------

    def conversation(
        self,
        messages: Sequence[tuple[str, Message]],
        *,
        provider: str | None,
        failure_of: FailureOf = no_failure,
        history: Sequence[Message] = (),
        model: str | None = None,
    ) -> None:
        """Events for a message list: user turns, one model event per assistant message (its
        request is every message before it), its tool calls, and the tool results.

        ``messages`` pairs each message with the item name a skipped line shows; ``history``
        is what came before them (for the requests of the model events).
        """
        seen: list[Message] = list(history)
        for item, message in messages:
            if message.role == "user":
                if message.content is not None:
                    self.user(message.content)
            elif message.role == "assistant":
                response = ModelResponse(
                    text=message.content,
                    tool_calls=message.tool_calls,
                    stop_reason="tool_calls" if message.tool_calls else "stop",
                )
                request = ModelRequest(model=model, messages=tuple(seen))
                self.model(request, response, provider=provider)
            elif message.role == "tool":
                failure = failure_of(message)
                if failure is not None and not failure.message:
                    failure = failure.model_copy(update={"message": message.content or ""})
                self.tool_result(
                    item, message.tool_call_id, message.content, failure=failure, tool=message.name
                )
            seen.append(message)

    def final_output(self) -> None:
        """An ``output`` event for the last model answer, when it is text and asks for no tools."""
        for event in reversed(self.events):
            if isinstance(event, ModelEvent):
                response = event.response
                if response.text is not None and not response.tool_calls:
                    self.output(response.text)
                return

    def finish(
        self,
        *,
        session_id: str,
        source: str,
        agent: str,
        release: str = "imported",
        recorded_at: datetime | None = None,
        lacks: Iterable[str] = (),
        tags: dict[str, Any] | None = None,
    ) -> Cassette:
        """The cassette, with ``source``, the source file and what it lacks in the header."""
        missing = list(lacks)
        if recorded_at is None:
            recorded_at = _mtime(self.file)
            missing.append("recorded_at")
        header = CassetteHeader(
            session_id=session_id,
            agent=agent,
            release=release,
            recorded_at=recorded_at,
            source=source,
            tags={"source_file": self.file, **(tags or {}), "lacks": sorted(set(missing))},
        )
        return Cassette(header=header, events=tuple(self.events))


def _mtime(file: str) -> datetime:
    try:
        return datetime.fromtimestamp(Path(file).stat().st_mtime, UTC)
    except OSError:
        return datetime.fromtimestamp(0, UTC)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def session_name(file: str, index: int | None = None, suffix: str | None = None) -> str:
    """A session id made from the source file's name (and the session's place in it), safe as
    a file name, so importing the same file twice gives the same cassette names."""
    stem = Path(file).name
    for ext in (".jsonl", ".json", ".yaml", ".yml"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
            break
    name = stem if index is None else f"{stem}-{index}"
    if suffix:
        name = f"{name}-{suffix}"
    return _UNSAFE.sub("_", name).strip("._") or "session"
