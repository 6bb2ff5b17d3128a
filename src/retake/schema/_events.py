"""The events of a session: one step of the agent loop each, a tagged union on ``kind``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from ._base import Model

# --- pieces of a model exchange -------------------------------------------------------------

Role = Literal["system", "developer", "user", "assistant", "tool"]


class ToolCallRequest(Model):
    """A tool call the model asked for, inside a model message or response."""

    id: str
    """The provider's call id, which joins the call to its result."""
    name: str
    """The tool the model chose."""
    arguments: Any = None
    """The arguments, parsed from JSON; the raw text when the model sent invalid JSON."""


class Message(Model):
    """One message of a model request, in a provider-neutral shape."""

    role: Role
    """Who speaks."""
    content: str | None = None
    """The text of the message; ``None`` when it carries only tool calls or parts."""
    parts: tuple[dict[str, Any], ...] = ()
    """Non-text content blocks (images, documents, provider-specific parts), as sent."""
    tool_calls: tuple[ToolCallRequest, ...] = ()
    """Tool calls of an assistant message."""
    tool_call_id: str | None = None
    """For a tool message: the call it answers."""
    name: str | None = None
    """The tool's or participant's name, when the provider sends one."""


class Usage(Model):
    """Token counts the provider reported."""

    input_tokens: int | None = None
    """Tokens in the prompt."""
    output_tokens: int | None = None
    """Tokens generated."""


class ModelRequest(Model):
    """What the release sent to its model.

    On disk, messages are stored once each and requests refer to them, so a long session costs
    space linear in its length even though every request resends the conversation.
    """

    model: str | None = None
    """The model name asked for."""
    messages: tuple[Message, ...] = ()
    """The whole conversation as sent with this request."""
    tools: tuple[str, ...] = ()
    """Names of the tools offered to the model."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Sampling and other settings (temperature, seed, tool_choice, ...)."""


class ModelResponse(Model):
    """What the model answered."""

    text: str | None = None
    """The answer's text, if any."""
    tool_calls: tuple[ToolCallRequest, ...] = ()
    """Tool calls the model asked for."""
    stop_reason: str | None = None
    """Why generation stopped (``stop``, ``tool_calls``, ``end_turn``, ...)."""
    usage: Usage | None = None
    """Token counts, when reported."""


FailureType = Literal["error", "timeout", "rate_limited", "denied", "malformed"]


class ToolFailure(Model):
    """A failure the agent saw from a tool: data in the trace, not an exception of retake's."""

    type: FailureType
    """What kind of failure."""
    message: str = ""
    """The text the agent received."""
    status_code: int | None = None
    """An HTTP-like status, when the tool has one (429, 500, ...)."""
    retry_after: float | None = None
    """Seconds the tool asked the caller to wait, for ``rate_limited``."""
    exception_type: str | None = None
    """The qualified name of the exception the tool raised, when it raised one."""


class HttpExchange(Model):
    """The HTTP of one model call, kept (redacted) so replay can serve the response byte-exact.

    The request body is not kept: it resends the whole conversation, which ``ModelRequest``
    already holds message by message; keeping it would make a cassette quadratic in size.
    """

    method: str = "POST"
    """The HTTP method."""
    url: str
    """The URL called (credentials in it are redacted)."""
    request_headers: dict[str, str] = Field(default_factory=dict)
    """Request headers, lower-cased names (credentials redacted)."""
    status: int = 200
    """The response status code."""
    response_headers: dict[str, str] = Field(default_factory=dict)
    """Response headers, lower-cased names."""
    response_body: bytes = b""
    """The response body as received after content decoding (SSE streams included)."""


# --- the events -----------------------------------------------------------------------------


class _Event(Model):
    seq: int = Field(ge=0)
    """Position in the session, from 0, without gaps."""
    t: float = 0.0
    """Seconds since the session started."""
    span_id: str | None = None
    """Identifies nested or parallel work this event belongs to."""
    parent_id: str | None = None
    """The span this event's span runs inside."""


class UserEvent(_Event):
    """A user turn."""

    kind: Literal["user"] = "user"
    text: str
    """What the user said."""


class ModelEvent(_Event):
    """One call to the model: the request summary and the response."""

    kind: Literal["model"] = "model"
    provider: str | None = None
    """``openai-chat``, ``openai-responses``, ``anthropic-messages``, or another adapter's name."""
    request: ModelRequest
    """What the release sent."""
    response: ModelResponse
    """What the model answered."""
    http: HttpExchange | None = None
    """The raw exchange, when the call was captured at the HTTP level."""


class ToolCallEvent(_Event):
    """The agent called a tool."""

    kind: Literal["tool_call"] = "tool_call"
    call_id: str
    """Joins the call to its permission decision and result."""
    tool: str
    """The tool's name."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """The arguments, as the tool received them."""


Decision = Literal["allow", "deny", "ask"]


class PermissionEvent(_Event):
    """A decision of the release's own permission gate about one call."""

    kind: Literal["permission"] = "permission"
    call_id: str | None = None
    """The call decided on; ``None`` when the gate decided before any call existed."""
    tool: str
    """The tool the decision is about."""
    decision: Decision
    """``allow``, ``deny``, or ``ask`` (the user must confirm)."""
    rule_id: str | None = None
    """The gate's rule that decided."""
    reason: str = ""
    """The gate's explanation."""
    policy_version: str | None = None
    """The version of the policy the gate ran."""


class ToolResultEvent(_Event):
    """What a tool call gave back to the agent."""

    kind: Literal["tool_result"] = "tool_result"
    call_id: str
    """The call this answers."""
    tool: str
    """The tool's name."""
    output: Any = None
    """The result the agent received; ``None`` on failure."""
    failure: ToolFailure | None = None
    """Set when the call failed in a way the agent saw."""
    duration: float = 0.0
    """Seconds the call took."""

    @property
    def status(self) -> str:
        """``ok``, or the failure's type."""
        return "ok" if self.failure is None else self.failure.type


class OutputEvent(_Event):
    """The agent's final answer."""

    kind: Literal["output"] = "output"
    text: str
    """The answer's text."""
    data: Any = None
    """Structured output, when the agent returns some."""


class ErrorEvent(_Event):
    """The agent raised: the session ended without an answer."""

    kind: Literal["error"] = "error"
    type: str
    """The qualified exception type."""
    message: str = ""
    """The exception's message."""
    traceback: str | None = None
    """The formatted traceback, when captured."""


class NoteEvent(_Event):
    """An audit or log line the agent emitted."""

    kind: Literal["note"] = "note"
    message: str
    """The note's text."""
    level: str = "info"
    """``debug``, ``info``, ``warning``, ``error`` or ``audit``."""
    call_id: str | None = None
    """The call the note is about, for audit notes."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Structured fields of the note."""


Event = Annotated[
    UserEvent
    | ModelEvent
    | ToolCallEvent
    | PermissionEvent
    | ToolResultEvent
    | OutputEvent
    | ErrorEvent
    | NoteEvent,
    Field(discriminator="kind"),
]
"""Any event; pydantic picks the class from ``kind``."""

EVENT_TYPES: dict[str, type[_Event]] = {
    "user": UserEvent,
    "model": ModelEvent,
    "tool_call": ToolCallEvent,
    "permission": PermissionEvent,
    "tool_result": ToolResultEvent,
    "output": OutputEvent,
    "error": ErrorEvent,
    "note": NoteEvent,
}
"""Every event kind and its class: tripwire tests walk this so no kind lacks support."""

EventAdapter: TypeAdapter[Event] = TypeAdapter(Event)
EventListAdapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
