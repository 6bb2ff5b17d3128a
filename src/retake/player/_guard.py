"""No network leaves the process while a replay runs (loopback only when the run allows it).

A Python audit hook sees every ``socket.connect``, every datagram sent to an address
(``sendto``, ``sendmsg``) and every host name looked up (``getaddrinfo``, ``gethostbyname``,
and the reverse lookups): a DNS query carries the name out. A socket given a host name rather
than an address resolves it in C before its audit event, so the socket's ``connect``,
``connect_ex``, ``sendto`` and ``sendmsg`` are also wrapped, to refuse a name first. While a
guard is up, any of these for another address raises an ``OSError``
(``ConnectionRefusedError``, or ``socket.gaierror`` for a lookup) before a packet is sent.
Audit hooks cannot be removed, so one is installed once and does nothing while no guard is up.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_installed = False
_guards: list[bool] = []
"""One entry per guard up in this process: whether it allows loopback addresses."""


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _is_loopback(host: Any) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


_SENDS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})
"""Audit events whose second argument is the address a packet goes to."""
_LOOKUPS = frozenset(
    {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
    }
)
_REVERSE = frozenset({"socket.gethostbyaddr", "socket.getnameinfo"})
"""Lookups whose argument is an address: a query all the same."""
"""Audit events whose first argument is a host name (or address) to resolve."""

_REMEDY = (
    "no network leaves the process during replay. Use the recorded model, or the scripted "
    "one on loopback."
)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _guards:
        return
    if event in _SENDS:
        address = args[1]
        if not isinstance(address, tuple) or not address:  # AF_UNIX paths, connected sends
            return
        if all(_guards) and _is_loopback(address[0]):
            return
        where = ":".join(str(part) for part in address[:2])
        what = "a connection" if event == "socket.connect" else "a datagram"
        raise ConnectionRefusedError(f"retake replay refused {what} to {where}: {_REMEDY}")
    if event in _LOOKUPS:
        host = args[0][0] if event == "socket.getnameinfo" and args[0] else args[0]
        name = host.decode(errors="replace") if isinstance(host, bytes) else str(host)
        literal = event not in _REVERSE and _is_address(name)
        if host is None or literal or (all(_guards) and _is_loopback(name)):
            return  # no query: this host, or an address (its connection is judged above)
        _refuse_lookup(name)


def _refuse_lookup(name: str) -> None:
    raise socket.gaierror(
        socket.EAI_NONAME, f"retake replay refused to look up {name!r}: {_REMEDY}"
    )


def _named(address: Any) -> str | None:
    """The host name an address tuple would make a socket look up, if any."""
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str | bytes):
        return None
    host = address[0]
    name = host.decode(errors="replace") if isinstance(host, bytes) else host
    if not name or _is_address(name) or (all(_guards) and _is_loopback(name)):
        return None
    return name


def _wrap(method: str, position: int) -> None:
    """Refuse a host name given to ``socket.socket.<method>`` while a guard is up."""
    original = getattr(socket.socket, method)

    def guarded(self: socket.socket, *args: Any) -> Any:
        if _guards and args and len(args) > position:
            name = _named(args[position] if position >= 0 else args[-1])
            if name is not None:
                _refuse_lookup(name)
        return original(self, *args)

    guarded.__name__ = guarded.__qualname__ = method
    guarded.__doc__ = original.__doc__
    setattr(socket.socket, method, guarded)


@contextmanager
def network_guard(*, allow_loopback: bool) -> Iterator[None]:
    """Refuse outgoing connections for the block (loopback ones too, unless allowed)."""
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_audit)
            _wrap("connect", 0)
            _wrap("connect_ex", 0)
            _wrap("sendto", -1)  # sendto(data, address) or sendto(data, flags, address)
            _wrap("sendmsg", 3)  # sendmsg(buffers, ancdata, flags, address)
            _installed = True
        _guards.append(allow_loopback)
    try:
        yield
    finally:
        with _lock:
            _guards.remove(allow_loopback)
