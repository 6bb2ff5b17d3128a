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

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from retake._session import Session
from retake.schema import Decision

_active: ContextVar[Session | None] = ContextVar("retake_session", default=None)
_call_id: ContextVar[str | None] = ContextVar("retake_call_id", default=None)

active = _active.get
"""The session active in this context, or ``None``."""

open_sessions = [0]
"""How many sessions are active anywhere in the process. While none is, a boundary skips even
the context-variable lookup (a list item read is the cheapest check Python has); the count is
only a shortcut: with sessions open, each boundary still asks its own context."""
_counting = threading.Lock()


@contextmanager
def activate(session: Session) -> Iterator[Session]:
    """Make ``session`` the active one in this context for the ``with`` block."""
    with _counting:
        open_sessions[0] += 1
    token = _active.set(session)
    try:
        yield session
    finally:
        _active.reset(token)
        with _counting:
            open_sessions[0] -= 1


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
