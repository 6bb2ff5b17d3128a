"""The release's own permission gate and argument validators.

retake does not decide anything here: the gate is part of the release under test. It decides
from the permission context the task brought, and records each decision through
``retake.permission``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from retake.capture import permission
from retake.schema import Decision, PermissionContext

from ._data import CUSTOMERS, ORDERS, REFUND_LIMIT

POLICY_VERSION = "desk-policy-3"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    rule_id: str
    reason: str


def _tenant_of(tool: str, arguments: dict[str, Any]) -> str | None:
    if "order_id" in arguments:
        order = ORDERS.get(str(arguments["order_id"]))
        return order["tenant"] if order else None
    if "customer_id" in arguments:
        customer = CUSTOMERS.get(str(arguments["customer_id"]))
        return customer["tenant"] if customer else None
    return None


def decide(
    tool: str,
    arguments: dict[str, Any],
    context: PermissionContext,
    *,
    email_confirmation: bool = True,
) -> Verdict:
    """The gate's verdict on one call."""
    tenant = _tenant_of(tool, arguments)
    if tenant is not None and context.tenant is not None and tenant != context.tenant:
        return Verdict(
            "deny",
            "tenant.isolation",
            f"the record belongs to another tenant than {context.tenant}",
        )
    if tool == "issue_refund":
        amount = float(arguments.get("amount") or 0)
        if amount > REFUND_LIMIT and "refund_manager" not in context.roles:
            return Verdict(
                "deny",
                "refund.limit",
                f"refunds above {REFUND_LIMIT:.2f} EUR need the refund_manager role",
            )
        return Verdict(
            "allow",
            "refund.limit",
            "within the agent's refund limit"
            if amount <= REFUND_LIMIT
            else "approved by the refund_manager role",
        )
    if tool == "send_email":
        if email_confirmation and "send_email" not in context.confirmations:
            return Verdict("ask", "email.confirmation", "the customer has not confirmed yet")
        return Verdict("allow", "email.confirmation", "the customer confirmed")
    if tenant is not None:
        return Verdict("allow", "tenant.isolation", f"the record belongs to tenant {tenant}")
    return Verdict("allow", "read.default", "read access with no tenant data")


def check(
    tool: str,
    arguments: dict[str, Any],
    context: PermissionContext,
    *,
    email_confirmation: bool = True,
) -> Verdict:
    """Decide, and record the decision."""
    verdict = decide(tool, arguments, context, email_confirmation=email_confirmation)
    permission(
        tool,
        verdict.decision,
        rule_id=verdict.rule_id,
        reason=verdict.reason,
        policy_version=POLICY_VERSION,
    )
    return verdict


def validate(tool: str, arguments: dict[str, Any]) -> list[str]:
    """What is wrong with a call's arguments, if anything."""
    problems: list[str] = []
    if tool == "issue_refund":
        order = ORDERS.get(str(arguments.get("order_id")))
        amount = arguments.get("amount")
        if not isinstance(amount, int | float) or amount <= 0:
            problems.append(f"amount={amount!r} must be a positive number")
        elif order is not None and amount > order["total"]:
            problems.append(f"amount={amount!r} exceeds the order total {order['total']}")
    if tool == "send_email" and not EMAIL.match(str(arguments.get("to", ""))):
        problems.append(f"to={arguments.get('to')!r} is not an email address")
    return problems
