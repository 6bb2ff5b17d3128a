"""The one seam between an agent and retake: the session active in the current context.

Every boundary (the tool decorator, the permission and note calls, the user-turn call, the
HTTP transport) asks ``active()`` for the session and, when there is one, hands it the call.
A recording session calls through and takes note; a replaying session answers from the
cassette. The boundaries never know which. With no session active, a boundary costs one
context-variable lookup and calls straight through.

Sessions travel in a ``ContextVar``: threads and asyncio tasks each see their own, so many
sessions record side by side in one server without mixing.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from retake.schema import Decision, Effect


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """What a boundary knows about a decorated tool."""

    name: str
    effect: Effect
    parameters: tuple[str, ...]
    """Positional parameter names, to name positional arguments."""
    schema: Callable[[], dict[str, Any]] = field(compare=False)
    """Builds the JSON schema of the arguments (lazily: it costs a few milliseconds)."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class HttpCall:
    """An HTTP request a transport is about to send, as plain values."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An HTTP response: status, headers, and the body as an (async) iterable of chunks."""

    status: int
    headers: dict[str, str]
    stream: Iterable[bytes] | AsyncIterable[bytes]


class Session(Protocol):
    """What a boundary asks of the active session. Recording and replay both implement it."""

    def call_tool(
        self, tool: ToolInfo, arguments: dict[str, Any], invoke: Callable[[], Any]
    ) -> Any:
        """Give the outcome of a tool call (``invoke`` runs the real function)."""
        ...

    async def acall_tool(
        self, tool: ToolInfo, arguments: dict[str, Any], invoke: Callable[[], Awaitable[Any]]
    ) -> Any:
        """The same, for an async tool."""
        ...

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
        """Take note of a decision of the release's gate."""
        ...

    def note(self, message: str, *, level: str, call_id: str | None, data: dict[str, Any]) -> None:
        """Take note of an audit or log line."""
        ...

    def user_turn(self, ask: Callable[[], str | None] | None) -> str | None:
        """Give the next user turn (``ask`` gets it from the real user)."""
        ...

    def http(self, call: HttpCall, send: Callable[[], HttpAnswer]) -> HttpAnswer:
        """Give the response to a model call (``send`` performs the real request)."""
        ...

    async def ahttp(self, call: HttpCall, send: Callable[[], Awaitable[HttpAnswer]]) -> HttpAnswer:
        """The same, for an async client."""
        ...


_active: ContextVar[Session | None] = ContextVar("retake_session", default=None)
_call_id: ContextVar[str | None] = ContextVar("retake_call_id", default=None)

active = _active.get
"""The session active in this context, or ``None``."""


@contextmanager
def activate(session: Session) -> Iterator[Session]:
    """Make ``session`` the active one in this context for the ``with`` block."""
    token = _active.set(session)
    try:
        yield session
    finally:
        _active.reset(token)


@contextmanager
def tool_call_id(call_id: str) -> Iterator[None]:
    """Name the tool call made inside the block with the model's call id.

    The agent knows the id the model gave the call; passing it on joins the recorded call to
    its permission decision and to the model's request, and lets replay match by id.
    """
    token = _call_id.set(call_id)
    try:
        yield
    finally:
        _call_id.reset(token)


current_call_id = _call_id.get
"""The call id set by ``tool_call_id``, or ``None``."""


def permission(
    tool: str,
    decision: Decision,
    *,
    call_id: str | None = None,
    rule_id: str | None = None,
    reason: str = "",
    policy_version: str | None = None,
) -> None:
    """Record a decision of the release's own permission gate (allow, deny or ask).

    retake never decides: the gate is part of the release under test. Call this once per
    decision; with no session active it does nothing.
    """
    session = _active.get()
    if session is not None:
        session.permission(
            tool,
            decision,
            call_id=call_id if call_id is not None else _call_id.get(),
            rule_id=rule_id,
            reason=reason,
            policy_version=policy_version,
        )


def note(
    message: str,
    *,
    level: str = "info",
    call_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Record an audit or log line (``level="audit"`` for the audit trail of a call)."""
    session = _active.get()
    if session is not None:
        session.note(
            message,
            level=level,
            call_id=call_id if call_id is not None else _call_id.get(),
            data=data or {},
        )


def user_turn(ask: Callable[[], str | None] | None = None) -> str | None:
    """The next user turn of a multi-turn session, or ``None`` when the user has no more.

    With a session active, the session answers: a recording takes the task's next turn (or
    calls ``ask`` and records what it returns); a replay gives the recorded turn. Without
    one, ``ask`` is called, if given.
    """
    session = _active.get()
    if session is None:
        return ask() if ask is not None else None
    return session.user_turn(ask)
