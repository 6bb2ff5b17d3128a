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
