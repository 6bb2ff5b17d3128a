"""What a session runs under: the permission context and the tools the release exposed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._base import Model

Effect = Literal["read", "write"]


class PermissionContext(Model):
    """Who the session acts for and what they may do; an input of the session.

    The release's own gate decides with it; retake only feeds it in and records decisions.
    """

    principal: str | None = None
    """The user or service the agent acts for."""
    roles: tuple[str, ...] = ()
    """Roles the principal holds, such as ``refund_manager``."""
    tenant: str | None = None
    """The tenant whose data the session may see."""
    scopes: tuple[str, ...] = ()
    """OAuth-style scopes granted to the session."""
    confirmations: tuple[str, ...] = ()
    """Confirmations the user has given, such as ``send_email``."""
    attributes: dict[str, Any] = Field(default_factory=dict)
    """Any other attribute the release's gate reads."""


class ToolSpec(Model):
    """One tool as the release exposed it: evidence for wiring drift on replay."""

    name: str
    """The name the model calls the tool by."""
    description: str = ""
    """The description the model was shown."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """The JSON schema of the arguments."""
    effect: Effect = "read"
    """``write`` tools change the world and are never executed during replay."""


class Task(Model):
    """One task for an agent: what the entrypoint ``module:function(task) -> answer`` gets.

    The first user turn starts the session; the agent asks for the later ones through
    ``retake.user_turn()``, so a replay can hand the recorded (or mutated) turns back in order.
    """

    user_turns: tuple[str, ...]
    """What the user says, in order; the first one starts the session."""
    permission_context: PermissionContext = Field(default_factory=PermissionContext)
    """Who the session acts for: the release's gate decides with it."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else the agent needs (ticket id, locale, ...); copied into the cassette tags."""
    id: str | None = None
    """The task's name in a tasks file, if any."""

    @property
    def prompt(self) -> str:
        """The first user turn."""
        return self.user_turns[0] if self.user_turns else ""
