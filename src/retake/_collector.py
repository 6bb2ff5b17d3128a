"""Keeping the cyclic garbage collector off work that builds many objects that all survive:
paused around a load or a diff, and kept off the long-lived objects while a replay run goes."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
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


@contextmanager
def settled() -> Iterator[Callable[[], None]]:
    """Keep the cyclic collector off the process's long-lived objects while sessions run.

    The modules an agent imports (an SDK's hundreds of model classes) make up most of a
    process's objects, and every full collection walks them all again: in a replay run that
    cost about a tenth of each session. ``gc.freeze`` sets aside what exists when the run
    starts, and, through the callable this yields, once more after the first session that ran
    (it imported the agent); ``gc.unfreeze`` hands everything back when the run ends. Garbage
    frozen with them waits for that (the young generations hold at most a few thousand
    objects). Left alone when the collector is off or the program froze objects itself.
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield lambda: None
        return
    pending = [True]

    def settle() -> None:
        if pending:
            pending.clear()
            gc.freeze()

    gc.freeze()
    try:
        yield settle
    finally:
        gc.unfreeze()
