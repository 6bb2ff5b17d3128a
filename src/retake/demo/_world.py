"""The tools of the support desk and the per-session state they share."""

from __future__ import annotations

import copy
import hashlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from retake.capture import ToolError, tool

from ._data import CUSTOMERS, KNOWLEDGE_BASE, ORDERS


@dataclass
class World:
    """What one session's tools see and change."""

    refund_attempts: dict[str, int] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    flaky_processor: frozenset[str] = frozenset()
    """Orders whose first refund attempt the payment processor rate-limits."""
    slow_processor: frozenset[str] = frozenset()
    """Orders whose first refund attempt times out (the refund may still have gone through)."""


_world: ContextVar[World | None] = ContextVar("retake_demo_world", default=None)


def world() -> World:
    current = _world.get()
    if current is None:
        current = World()
        _world.set(current)
    return current


def enter_world(new: World) -> None:
    _world.set(new)


@tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order by its id (A-1234)."""
    order = ORDERS.get(order_id)
    if order is None:
        raise ToolError(f"no order {order_id}", type="error", status_code=404)
    return copy.deepcopy(order)


@tool
def lookup_customer(customer_id: str) -> dict[str, Any]:
    """Look up a customer by id (C-123)."""
    customer = CUSTOMERS.get(customer_id)
    if customer is None:
        raise ToolError(f"no customer {customer_id}", type="error", status_code=404)
    return dict(customer)


@tool
def search_kb(query: str) -> list[dict[str, str]]:
    """Search the help-centre articles; the best matches first."""
    words = {w for w in query.lower().split() if len(w) > 3}

    def score(article: dict[str, str]) -> int:
        text = (article["title"] + " " + article["text"]).lower()
        return sum(1 for w in words if w.rstrip("s") in text)

    ranked = sorted(KNOWLEDGE_BASE, key=score, reverse=True)
    return [dict(a) for a in ranked if score(a) > 0][:2]


@tool(effect="write")
def issue_refund(
    order_id: str, amount: float, reason: str, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Refund part or all of an order to the original payment method.

    A retry with the same ``idempotency_key`` returns the first refund instead of paying twice.
    """
    state = world()
    for earlier in state.refunds:
        if idempotency_key is not None and earlier.get("idempotency_key") == idempotency_key:
            return earlier
    attempts = state.refund_attempts.get(order_id, 0) + 1
    state.refund_attempts[order_id] = attempts
    if order_id in state.flaky_processor and attempts == 1:
        raise ToolError(
            "payment processor busy", type="rate_limited", status_code=429, retry_after=0.01
        )
    digest = hashlib.sha256(f"{order_id}:{amount}:{attempts}".encode()).hexdigest()[:8]
    refund = {
        "refund_id": f"RF-{digest}",
        "order_id": order_id,
        "amount": amount,
        "status": "issued",
    }
    if idempotency_key is not None:
        refund["idempotency_key"] = idempotency_key
    state.refunds.append(refund)
    if order_id in state.slow_processor and attempts == 1:
        # The processor paid, but answered too late: the caller sees a timeout.
        raise ToolError("payment processor did not answer in time", type="timeout")
    return refund


@tool
def track_shipment(order_id: str) -> dict[str, Any]:
    """The carrier's latest tracking events for an order in transit."""
    order = ORDERS.get(order_id)
    if order is None or order.get("status") != "in_transit":
        raise ToolError(f"no shipment in transit for {order_id}", type="error", status_code=404)
    return {
        "order_id": order_id,
        "carrier": order.get("carrier"),
        "events": [{"at": "2026-11-26", "where": "Leipzig hub", "what": "departed"}],
    }


@tool(effect="write")
def send_email(to: str, subject: str, body: str) -> dict[str, Any]:
    """Send an email to a customer."""
    state = world()
    message_id = f"MSG-{len(state.outbox) + 1:04d}"
    state.outbox.append({"to": to, "subject": subject, "body": body, "id": message_id})
    return {"message_id": message_id, "status": "queued"}


TOOLS = {
    fn.__name__: fn for fn in (lookup_order, lookup_customer, search_kb, issue_refund, send_email)
}
"""Every tool of release 1, by name."""

TRACK_SHIPMENT_SCHEMA = {
    "type": "function",
    "function": {
        "name": "track_shipment",
        "description": "Carrier tracking for an order in transit.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}
"""The tool definition release 2 adds."""

SCHEMAS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look up an order by its id.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "lookup_customer",
            "description": "Look up a customer by id.",
            "parameters": {
                "type": "object",
                "properties": {"customer_id": {"type": "string"}},
                "required": ["customer_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_kb",
            "description": "Search the help centre.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "issue_refund",
            "description": "Refund an order.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string"},
                    "amount": {"type": "number"},
                    "reason": {"type": "string"},
                },
                "required": ["order_id", "amount", "reason"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "description": "Email a customer.",
            "parameters": {
                "type": "object",
                "properties": {
                    "to": {"type": "string"},
                    "subject": {"type": "string"},
                    "body": {"type": "string"},
                },
                "required": ["to", "subject", "body"],
            },
        },
    },
]
"""The tool definitions release 1 offers the model."""
