"""The session in record mode: calls through, and takes note of everything as snapshots.

On the agent's thread a boundary costs: one lock, a clock read, freezing the values to bytes,
and a put on the writer's queue. ``build_event`` turns the snapshots into events later, on the
writer thread.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from time import perf_counter
from typing import Any

from retake._session import HttpAnswer, HttpCall, ToolInfo, failure_of
from retake.schema import (
    Decision,
    ErrorEvent,
    Event,
    HttpExchange,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    OutputEvent,
    PermissionEvent,
    Task,
    ToolCallEvent,
    ToolFailure,
    ToolResultEvent,
    UserEvent,
)

from . import _providers
from ._boundary import current_call_id
from ._snapshot import freeze, thaw
from ._transport import decode_body

Snapshot = tuple[str, int, float, tuple[Any, ...]]
"""What the agent's thread hands to the writer: ``(kind, seq, t, frozen fields)``. A plain
tuple: a NamedTuple's constructor would cost the agent's thread a Python-level call."""


Emit = Callable[[Snapshot], None]


class RecordingSession:
    """Implements the boundary protocol by calling through and emitting snapshots."""

    answers_http = False
    """Model calls are sent for real, and recorded."""

    def __init__(self, emit: Emit, task: Task, *, flush: Callable[[], None] | None = None) -> None:
        self._emit_to = emit
        self._flush = flush
        self._lock = threading.Lock()
        self._seq = 0
        self._start = perf_counter()
        self._turns = iter(task.user_turns[1:])
        self._calls = itertools.count(1)
        self.tools_used: dict[str, ToolInfo] = {}
        """Every decorated tool the session called, by name."""
        self.failed = False
        """True once the agent raised."""
        self.published: Any = None
        """Set by whoever records the session: a future of the finalised cassette's path."""
        if task.user_turns:
            self._emit("user", task.user_turns[0])

    def _emit(self, kind: str, *fields: Any) -> None:
        # Under the lock, so events from parallel threads reach the queue in seq order.
        with self._lock:
            seq = self._seq
            self._seq = seq + 1
            self._emit_to((kind, seq, perf_counter() - self._start, fields))

    def flush(self) -> None:
        """Wait until everything recorded so far is written to the file."""
        if self._flush is not None:
            self._flush()

    # -- the boundary protocol --------------------------------------------------------------

    def _begin(self, tool: ToolInfo, arguments: dict[str, Any]) -> str:
        call_id = current_call_id() or f"{tool.name}-{next(self._calls)}"
        if tool.name not in self.tools_used:
            self.tools_used[tool.name] = tool
        self._emit("tool_call", call_id, tool.name, freeze(arguments))
        return call_id

    def _fail(self, call_id: str, tool: ToolInfo, exc: BaseException, started: float) -> None:
        if isinstance(exc, Exception):
            failure = failure_of(exc)
            self._emit("tool_result", call_id, tool.name, None, failure, perf_counter() - started)

    def call_tool(
        self, tool: ToolInfo, arguments: dict[str, Any], invoke: Callable[[], Any]
    ) -> Any:
        call_id = self._begin(tool, arguments)
        started = perf_counter()
        try:
            result = invoke()
        except BaseException as exc:
            self._fail(call_id, tool, exc, started)
            raise
        self._emit(
            "tool_result", call_id, tool.name, freeze(result), None, perf_counter() - started
        )
        return result

    async def acall_tool(
        self, tool: ToolInfo, arguments: dict[str, Any], invoke: Callable[[], Awaitable[Any]]
    ) -> Any:
        call_id = self._begin(tool, arguments)
        started = perf_counter()
        try:
            result = await invoke()
        except BaseException as exc:
            self._fail(call_id, tool, exc, started)
            raise
        self._emit(
            "tool_result", call_id, tool.name, freeze(result), None, perf_counter() - started
        )
        return result

    def permission(
        self,
        tool: str,
        decision: Decision,
        *,
        call_id: str | None,
        rule_id: str | None,
        reason: str,
        policy_version: str | None,
    ) -> None:
        self._emit("permission", call_id, tool, decision, rule_id, reason, policy_version)

    def note(self, message: str, *, level: str, call_id: str | None, data: dict[str, Any]) -> None:
        self._emit("note", message, level, call_id, freeze(data))

    def user_turn(self, ask: Callable[[], str | None] | None) -> str | None:
        turn = next(self._turns, None)
        if turn is None and ask is not None:
            turn = ask()
        if turn is not None:
            self._emit("user", turn)
        return turn

    def http(self, call: HttpCall, send: Callable[[], HttpAnswer]) -> HttpAnswer:
        answer = send()
        return HttpAnswer(
            answer.status,
            answer.headers,
            _tee(answer.stream, lambda body: self._emit("http", call, answer, body)),
        )

    async def ahttp(self, call: HttpCall, send: Callable[[], Awaitable[HttpAnswer]]) -> HttpAnswer:
        answer = await send()
        return HttpAnswer(
            answer.status,
            answer.headers,
            _tee(answer.stream, lambda body: self._emit("http", call, answer, body)),
        )

    # -- what the pipeline records around the agent ----------------------------------------

    def output(self, answer: Any) -> None:
        """Record the agent's final answer."""
        if isinstance(answer, str):
            self._emit("output", answer, None)
        else:
            self._emit("output", "", freeze(answer))

    def error(self, exc: BaseException) -> None:
        """Record that the agent raised."""
        self.failed = True
        self._emit(
            "error",
            f"{type(exc).__module__}.{type(exc).__qualname__}",
            str(exc),
            "".join(traceback.format_exception(exc)),
        )


def _tee(stream: Any, done: Callable[[bytes], None]) -> Any:
    """Pass chunks on as they come; when the stream ends, hand the whole body to ``done``."""
    if hasattr(stream, "__aiter__"):

        async def atee() -> AsyncIterator[bytes]:
            chunks: list[bytes] = []
            try:
                async for chunk in stream:
                    chunks.append(chunk)
                    yield chunk
            finally:
                done(b"".join(chunks))

        return atee()

    def tee() -> Iterator[bytes]:
        chunks: list[bytes] = []
        try:
            for chunk in stream:
                chunks.append(chunk)
                yield chunk
        finally:
            done(b"".join(chunks))

    return tee()


ParseExchange = Callable[..., "tuple[str, ModelRequest, ModelResponse] | None"]


def build_event(
    snapshot: Snapshot, parse_exchange: ParseExchange = _providers.parse_exchange
) -> Event:
    """Turn a snapshot into an event, on the writer thread."""
    kind, seq, t, f = snapshot
    if kind == "tool_call":
        return ToolCallEvent(seq=seq, t=t, call_id=f[0], tool=f[1], arguments=_as_map(thaw(f[2])))
    if kind == "tool_result":
        call_id, tool, output, failure, duration = f
        return ToolResultEvent(
            seq=seq,
            t=t,
            call_id=call_id,
            tool=tool,
            output=None if output is None else thaw(output),
            failure=failure if isinstance(failure, ToolFailure) else None,
            duration=duration,
        )
    if kind == "permission":
        call_id, tool, decision, rule_id, reason, policy_version = f
        return PermissionEvent(
            seq=seq,
            t=t,
            call_id=call_id,
            tool=tool,
            decision=decision,
            rule_id=rule_id,
            reason=reason,
            policy_version=policy_version,
        )
    if kind == "note":
        message, level, call_id, data = f
        return NoteEvent(
            seq=seq, t=t, message=message, level=level, call_id=call_id, data=_as_map(thaw(data))
        )
    if kind == "user":
        return UserEvent(seq=seq, t=t, text=f[0])
    if kind == "output":
        text, data = f
        return OutputEvent(seq=seq, t=t, text=text, data=None if data is None else thaw(data))
    if kind == "error":
        return ErrorEvent(seq=seq, t=t, type=f[0], message=f[1], traceback=f[2])
    if kind == "http":
        return _model_event(seq, t, f[0], f[1], f[2], parse_exchange)
    raise ValueError(f"no event for snapshot kind {kind!r}")


def _as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


def _model_event(
    seq: int,
    t: float,
    call: HttpCall,
    answer: HttpAnswer,
    body: bytes,
    parse_exchange: ParseExchange,
) -> ModelEvent:
    http = HttpExchange(
        method=call.method,
        url=call.url,
        request_headers=call.headers,
        status=answer.status,
        response_headers=answer.headers,
        response_body=body,
    )
    parsed = None
    if answer.recorded is not None and 200 <= answer.status < 300:
        # Served from a recording: only the request, which the release wrote, needs parsing.
        with contextlib.suppress(ValueError):
            asked = _providers.parse_request(call.method, call.url, call.body)
            if asked is not None and asked[0] == answer.recorded[0]:
                parsed = (asked[0], asked[1], answer.recorded[1])
    if parsed is None and 200 <= answer.status < 300:
        try:
            parsed = parse_exchange(
                call.method, call.url, call.body, decode_body(body, answer.headers), answer.headers
            )
        except ValueError:
            parsed = None  # kept raw below: replay can still serve it byte for byte
    if parsed is None:
        return ModelEvent(
            seq=seq, t=t, provider=None, request=ModelRequest(), response=ModelResponse(), http=http
        )
    provider, request, response = parsed
    return ModelEvent(
        seq=seq, t=t, provider=provider, request=request, response=response, http=http
    )
