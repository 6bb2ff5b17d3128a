"""No network leaves the process while a replay runs, except to addresses the run allowed.

A Python audit hook sees every ``socket.connect``; while a guard is up, a connection to any
other address raises ``ConnectionRefusedError`` before a packet is sent. Audit hooks cannot be
removed, so one is installed once and does nothing while no guard is up.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_installed = False
_guards: list[bool] = []
"""One entry per guard up in this process: whether it allows loopback addresses."""


def _is_loopback(host: Any) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect" or not _guards:
        return
    address = args[1]
    if not isinstance(address, tuple) or not address:  # AF_UNIX paths and the like
        return
    if all(_guards) and _is_loopback(address[0]):
        return
    where = ":".join(str(part) for part in address[:2])
    raise ConnectionRefusedError(
        f"retake replay refused a connection to {where}: "
        "no network leaves the process during replay. Use the recorded model, or the scripted "
        "one on loopback."
    )


@contextmanager
def network_guard(*, allow_loopback: bool) -> Iterator[None]:
    """Refuse outgoing connections for the block (loopback ones too, unless allowed)."""
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_audit)
            _installed = True
        _guards.append(allow_loopback)
    try:
        yield
    finally:
        with _lock:
            _guards.remove(allow_loopback)
