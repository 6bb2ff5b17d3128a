"""Write cassettes/sample-refund.retake with retake's own streaming writer.

    python scripts/make_sample_cassette.py

A short support-desk session: the customer asks for a refund above the desk's limit, the agent
looks the order up, the release's gate denies the refund (no ``refund_manager`` role), and the
agent says so. The bundled demo agent will record richer sessions; this one shows the format.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from retake.schema import (
    CassetteHeader,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    NoteEvent,
    OutputEvent,
    PermissionContext,
    PermissionEvent,
    ToolCallEvent,
    ToolCallRequest,
    ToolFailure,
    ToolResultEvent,
    ToolSpec,
    Usage,
    UserEvent,
)
from retake.store import CassetteWriter

OUT = Path(__file__).resolve().parent.parent / "cassettes" / "sample-refund.retake"

TOOLS = (
    ToolSpec(
        name="lookup_order",
        description="Look up an order of the current tenant by id.",
        parameters={
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    ),
    ToolSpec(
        name="issue_refund",
        description="Refund part or all of an order.",
        parameters={
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
            "required": ["order_id", "amount"],
        },
        effect="write",
    ),
)


def main() -> None:
    header = CassetteHeader(
        session_id="sample-refund-0001",
        agent="retake.demo:release_1",
        release="support-desk-1.0",
        recorded_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        permission_context=PermissionContext(
            principal="agent-desk-7", roles=("support_agent",), tenant="acme"
        ),
        tools=TOOLS,
        tags={"task": "refund-above-limit", "sample": True},
    )
    ask = "Order A-1042 arrived broken. Please refund the full 240 EUR."
    system = Message(
        role="system", content="You are Acme's support desk. Refunds above 100 EUR need a manager."
    )
    lookup = ToolCallRequest(id="call_1", name="lookup_order", arguments={"order_id": "A-1042"})
    refund = ToolCallRequest(
        id="call_2", name="issue_refund", arguments={"order_id": "A-1042", "amount": 240.0}
    )
    order = {"order_id": "A-1042", "tenant": "acme", "total": 240.0, "status": "delivered"}
    denied = "refunds above 100.00 EUR need the refund_manager role"
    answer = (
        "I'm sorry: a refund of 240 EUR is above what I may approve. I've passed order A-1042 "
        "to a refund manager, who will contact you within one business day."
    )
    history = [system, Message(role="user", content=ask)]
    events = [
        UserEvent(seq=0, t=0.0, text=ask),
        ModelEvent(
            seq=1,
            t=0.41,
            provider="openai-chat",
            request=ModelRequest(
                model="scripted-1", messages=tuple(history), tools=("lookup_order", "issue_refund")
            ),
            response=ModelResponse(
                tool_calls=(lookup,),
                stop_reason="tool_calls",
                usage=Usage(input_tokens=182, output_tokens=19),
            ),
        ),
        ToolCallEvent(
            seq=2, t=0.42, call_id="call_1", tool="lookup_order", arguments={"order_id": "A-1042"}
        ),
        PermissionEvent(
            seq=3,
            t=0.42,
            call_id="call_1",
            tool="lookup_order",
            decision="allow",
            rule_id="tenant.own_orders",
            reason="order belongs to tenant acme",
            policy_version="2026-11",
        ),
        ToolResultEvent(
            seq=4, t=0.45, call_id="call_1", tool="lookup_order", output=order, duration=0.031
        ),
    ]
    history += [
        Message(role="assistant", tool_calls=(lookup,)),
        Message(
            role="tool",
            tool_call_id="call_1",
            content=json.dumps(order),
        ),
    ]
    events += [
        ModelEvent(
            seq=5,
            t=0.93,
            provider="openai-chat",
            request=ModelRequest(
                model="scripted-1", messages=tuple(history), tools=("lookup_order", "issue_refund")
            ),
            response=ModelResponse(
                tool_calls=(refund,),
                stop_reason="tool_calls",
                usage=Usage(input_tokens=241, output_tokens=27),
            ),
        ),
        ToolCallEvent(
            seq=6,
            t=0.94,
            call_id="call_2",
            tool="issue_refund",
            arguments={"order_id": "A-1042", "amount": 240.0},
        ),
        PermissionEvent(
            seq=7,
            t=0.94,
            call_id="call_2",
            tool="issue_refund",
            decision="deny",
            rule_id="refund.limit",
            reason=denied,
            policy_version="2026-11",
        ),
        ToolResultEvent(
            seq=8,
            t=0.94,
            call_id="call_2",
            tool="issue_refund",
            failure=ToolFailure(type="denied", message=denied),
        ),
        NoteEvent(
            seq=9,
            t=0.94,
            level="audit",
            call_id="call_2",
            message="refund denied by gate",
            data={"rule": "refund.limit", "amount": 240.0},
        ),
    ]
    history += [
        Message(role="assistant", tool_calls=(refund,)),
        Message(role="tool", tool_call_id="call_2", content=f"denied: {denied}"),
    ]
    events += [
        ModelEvent(
            seq=10,
            t=1.52,
            provider="openai-chat",
            request=ModelRequest(
                model="scripted-1", messages=tuple(history), tools=("lookup_order", "issue_refund")
            ),
            response=ModelResponse(
                text=answer, stop_reason="stop", usage=Usage(input_tokens=290, output_tokens=44)
            ),
        ),
        OutputEvent(seq=11, t=1.53, text=answer),
    ]
    OUT.parent.mkdir(exist_ok=True)
    with CassetteWriter(OUT, header, overwrite=True) as writer:
        writer.extend(events)
    print(f"wrote {OUT}")  # noqa: T201


if __name__ == "__main__":
    main()
