"""Pausing the cyclic garbage collector around work that builds many objects that all survive."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, and turn it back on if it was on.

    Loading a trace or comparing two builds many small containers and frees few cycles; a
    collection that falls due meanwhile walks the young ones for nothing, and now and then
    every object of the process (hundreds of thousands once two long traces are loaded).
    Reference counting still frees what the block drops; cycles wait for the next collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
