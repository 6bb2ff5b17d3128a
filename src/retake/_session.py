"""What every boundary and every session share: the session protocol, the plain values that
cross it, and the failure a tool shows the agent.

A small module of its own, below the stages: capture's boundaries speak this protocol, the
recorder and replay's player implement it, and neither stage imports the other.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from retake.schema import Decision, Effect, FailureType, ModelResponse, Task, ToolFailure


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
    recorded: tuple[str, ModelResponse] | None = None
    """``(provider, response)`` when replay serves this answer from a recorded model event:
    the body says the same, so the recording need not parse it back."""


class Session(Protocol):
    """What a boundary asks of the active session. Recording and replay both implement it."""

    @property
    def answers_http(self) -> bool:
        """Whether ``http`` answers model calls itself, never calling ``send`` (replay with
        recorded responses): vcrpy, which cannot hold a request back, then plays the answer."""
        ...

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


# --- what replay's mutations see and change -------------------------------------------------


@dataclass(frozen=True)
class ToolQuestion:
    """A live tool call, as mutations see it."""

    tool: ToolInfo
    arguments: dict[str, Any]
    nth: int
    """1 for the first live call of this tool in the session, 2 for the second, ..."""
    recorded_seq: int | None
    """The step of the recorded call that answers it, if one matched."""


@dataclass(frozen=True)
class ToolAnswer:
    """What a tool call gets in replay: an output, or a failure raised to the agent."""

    output: Any = None
    failure: ToolFailure | None = None
    delay: float = 0.0
    """Seconds to wait before answering."""
    consumes: bool = True
    """False when the answer stands in for the recorded one (a fault): a retry of the same
    call then gets the recorded answer."""

    def deliver(self) -> Any:
        if self.delay > 0:
            time.sleep(self.delay)
        if self.failure is not None:
            raise ToolError.from_failure(self.failure)
        return self.output


class Mutation(Protocol):
    """Changes what the world answers during replay. The catalogue lives in ``retake.mutate``.

    Each method returns its input unchanged when the mutation does not apply; a changed
    answer is noted in the candidate trace with ``describe()``.
    """

    name: str

    def task(self, task: Task) -> Task:
        """The task the release is handed (permission context, user turns)."""
        ...

    def tool(self, question: ToolQuestion, answer: ToolAnswer) -> ToolAnswer:
        """The answer a tool call gets."""
        ...

    def model(self, index: int, recorded: ModelResponse | None) -> ModelResponse | None:
        """The model's response to call ``index`` (from 0), or ``None`` to leave it alone."""
        ...

    def describe(self) -> str:
        """What the mutation changes, for the candidate trace and reports."""
        ...
