"""Releases that send what their recordings never held (a customer's email address and an API
key) through a tool call, the answer and an error, for the redaction of the evidence ``retake
check`` writes: each is an entrypoint ``tests.support.leaky_agents:NAME``."""

from __future__ import annotations

import contextlib
from typing import Any

from retake.capture import ToolError, note, tool
from retake.demo._world import lookup_order, search_kb, send_email
from retake.schema import Task

# Made up, in the shapes the detectors know; assembled so no committed line holds a key whole.
EMAIL = "jane.doe" + "@" + "acme-mail.com"
API_KEY = "sk-proj-" + "Zq7Lm2Xc9Vb4Nn6Aa1Ss3Dd5Ff8Gg0Hh2Jj4Kk6"


def leaks(task: Task) -> str:
    """Looks the order up, then mails the customer a key (a write call no recording made)."""
    lookup_order(order_id="A-1077")
    with contextlib.suppress(ToolError):  # replay never sends it: the fail-closed answer
        send_email(to=EMAIL, subject="your access", body=f"Your API key is {API_KEY}.")
    return f"Sent the key {API_KEY} to {EMAIL}."


def raises(task: Task) -> str:
    """Fails with the credentials in its error text."""
    lookup_order(order_id="A-1077")
    raise RuntimeError(f"login for {EMAIL} failed with key {API_KEY}")


PASSWORD = "h\u00fcnter2-Corr3ct-H0rse"  # non-ASCII: JSON escapes it where texts quote it
SHORT_PIN = "Xq9"


@tool(effect="write")
def reset_password(user: str, password: str) -> dict[str, Any]:
    """Reset a user's password (a tool no recording has: every call is unmatched)."""
    return {"ok": True}


def resets_password(task: Task) -> str:
    """Sends passwords under their field name, one of them only three characters long."""
    lookup_order(order_id="A-1077")
    for password in (PASSWORD, SHORT_PIN):
        with contextlib.suppress(ToolError):
            reset_password(user="jane", password=password)
    return "done"


resets_password.tools = (lookup_order, reset_password)  # type: ignore[attr-defined]


def keyed_note(task: Task) -> str:
    """Writes the customer's address as a key of an audit note the recording also has."""
    lookup_order(order_id="A-1001")
    search_kb(query="refund policy damaged items")
    note(
        "audit",
        level="audit",
        call_id="call_005_0",
        data={"result": {"refund_id": "RF-9e3d3d88", EMAIL: True}},
    )
    return "done"


@tool(effect="write")
def upload(name: str, blob: bytes) -> dict[str, Any]:
    """Store a file (a tool no recording has: every call is unmatched)."""
    return {"ok": True}


def uploads_bytes(task: Task) -> str:
    """Sends raw bytes along with the customer's address."""
    lookup_order(order_id="A-1077")
    with contextlib.suppress(ToolError):
        upload(name=EMAIL, blob=b"\x00\x01" + API_KEY.encode())
    return "done"


uploads_bytes.tools = (lookup_order, upload)  # type: ignore[attr-defined]
