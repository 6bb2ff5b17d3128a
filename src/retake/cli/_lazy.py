"""Stages imported on first use, so ``retake --help`` and the light commands start in a
fraction of a second instead of importing every stage (about a second) up front.

The standard library's ``LazyLoader`` puts a half-made module in ``sys.modules``, where tools
that walk it (``inspect.getmodule``, which pydantic calls while defining models) import it in
the middle of another import; this stand-in stays out of ``sys.modules`` and imports its
module the ordinary way on first use."""

from __future__ import annotations

import importlib
from typing import Any


class Stage:
    """A module's attributes, the module being imported when one is first read."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):  # copy and pickle probe for dunders; _name is a slot
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"Stage({self._name!r})"


def lazy(name: str) -> Any:
    """The module ``name``, imported on first attribute access."""
    return Stage(name)
