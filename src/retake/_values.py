"""Walks over JSON-like values that more than one stage needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["strings"]


def strings(value: Any, *, keys: bool = False) -> Iterator[str]:
    """Every string in ``value``, depth first (the keys of its maps too, with ``keys``)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if keys:
                yield from strings(key, keys=keys)
            yield from strings(item, keys=keys)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item, keys=keys)
