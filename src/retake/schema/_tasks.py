"""A tasks file: the sessions ``retake record`` runs an agent over."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import Model
from ._context import PermissionContext, Task


class PermissionOverride(Model):
    """Fields of the default permission context that one task changes."""

    principal: str | None = None
    """Replaces the default principal."""
    roles: tuple[str, ...] | None = None
    """Replaces the default roles."""
    tenant: str | None = None
    """Replaces the default tenant."""
    scopes: tuple[str, ...] | None = None
    """Replaces the default scopes."""
    confirmations: tuple[str, ...] | None = None
    """Replaces the default confirmations."""
    attributes: dict[str, Any] | None = None
    """Replaces the default attributes."""


class TaskEntry(Model):
    """One task of a tasks file."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """Names the task and its cassette file (letters, digits, ``.``, ``_``, ``-``)."""
    user_turns: tuple[str, ...] = Field(min_length=1)
    """What the user says, in order."""
    permission_context: PermissionOverride = Field(default_factory=PermissionOverride)
    """Changes to the default permission context for this task."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Merged over the default metadata."""


class TaskDefaults(Model):
    """What every task of the file starts from."""

    permission_context: PermissionContext = Field(default_factory=PermissionContext)
    """The permission context tasks run under unless they change it."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Metadata every task carries."""


class TasksFile(Model):
    """The tasks ``retake record`` runs an agent over, one cassette each."""

    defaults: TaskDefaults = Field(default_factory=TaskDefaults)
    """What every task starts from."""
    tasks: tuple[TaskEntry, ...] = Field(min_length=1)
    """The tasks, in order; ids must be unique."""

    def resolve(self) -> list[Task]:
        """The tasks with the defaults applied."""
        seen: set[str] = set()
        tasks: list[Task] = []
        for entry in self.tasks:
            if entry.id in seen:
                raise ValueError(f"task id {entry.id!r} appears twice; ids name cassette files")
            seen.add(entry.id)
            changes = entry.permission_context.model_dump(exclude_none=True)
            context = self.defaults.permission_context.model_copy(update=changes)
            tasks.append(
                Task(
                    id=entry.id,
                    user_turns=entry.user_turns,
                    permission_context=PermissionContext.model_validate(context.model_dump()),
                    metadata={**self.defaults.metadata, **entry.metadata},
                )
            )
        return tasks
