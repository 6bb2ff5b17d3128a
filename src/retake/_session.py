"""What every boundary and every session share: the session protocol, the plain values that
cross it, and the failure a tool shows the agent.

A small module of its own, below the stages: capture's boundaries speak this protocol, the
recorder and replay's player implement it, and neither stage imports the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from retake.schema import Decision, Effect, FailureType, ToolFailure


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


class ToolError(Exception):
    """A failure the agent should see, raised by a tool (or by replay in its place).

    This is data, not a harness failure: it is recorded as the call's typed failure, and
    replaying serves it back by raising it again.
    """

    def __init__(
        self,
        message: str = "",
        *,
        type: FailureType = "error",
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.failure = ToolFailure(
            type=type, message=message, status_code=status_code, retry_after=retry_after
        )

    @classmethod
    def from_failure(cls, failure: ToolFailure) -> ToolError:
        error = cls(
            failure.message,
            type=failure.type,
            status_code=failure.status_code,
            retry_after=failure.retry_after,
        )
        error.failure = failure
        return error


def failure_of(exc: BaseException) -> ToolFailure:
    """The typed failure an exception raised by a tool stands for."""
    if isinstance(exc, ToolError):
        return exc.failure
    kind: FailureType = "error"
    if isinstance(exc, TimeoutError):
        kind = "timeout"
    elif isinstance(exc, PermissionError):
        kind = "denied"
    return ToolFailure(
        type=kind,
        message=str(exc),
        exception_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
    )
