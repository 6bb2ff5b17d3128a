"""Releases that send what their recordings never held (a customer's email address and an API
key) through a tool call, the answer and an error, for the redaction of the evidence ``retake
check`` writes: each is an entrypoint ``tests.support.leaky_agents:NAME``."""

from __future__ import annotations

import contextlib

from retake.capture import ToolError
from retake.demo._world import lookup_order, send_email
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
