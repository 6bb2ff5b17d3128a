"""A realistic synthetic tool-calling session, for benchmarks and the sample cassette.

Each step of the agent loop is one model call (the conversation so far, trimmed to the last
``window`` messages after the system prompt, as agents do to fit a context window), the tool
call the model asked for, a permission decision for write tools, and a tool result of 1-2 KB
of JSON. Content is seeded, so a run is reproducible.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from retake.schema import (
    Cassette,
    CassetteHeader,
    Event,
    Message,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    OutputEvent,
    PermissionContext,
    PermissionEvent,
    ToolCallEvent,
    ToolCallRequest,
    ToolResultEvent,
    ToolSpec,
    Usage,
    UserEvent,
)

TOOLS = (
    ToolSpec(
        name="lookup_order",
        description="Look up an order by id.",
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
    ),
    ToolSpec(
        name="search_kb",
        description="Search the knowledge base.",
        parameters={"type": "object", "properties": {"query": {"type": "string"}}},
    ),
    ToolSpec(
        name="issue_refund",
        description="Refund an order.",
        parameters={
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        },
        effect="write",
    ),
)

_WORDS = [
    "order",
    "shipped",
    "delayed",
    "refund",
    "warehouse",
    "carrier",
    "tracking",
    "customer",
    "policy",
    "return",
    "window",
    "damaged",
    "replacement",
    "invoice",
    "account",
    "balance",
    "credit",
    "payment",
    "confirmed",
    "pending",
    "escalated",
]

SYSTEM = (
    "You are the support desk of an online shop. Look orders up before answering, never "
    "refund more than the order total, and ask for confirmation before any write action."
)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _result(rng: random.Random, order_id: str) -> dict[str, object]:
    lines = [
        {
            "sku": f"SKU-{rng.randrange(10**5):05d}",
            "qty": rng.randrange(1, 4),
            "price": round(rng.uniform(3, 250), 2),
            "note": _text(rng, rng.randrange(8, 20)),
        }
        for _ in range(rng.randrange(5, 11))
    ]
    return {
        "order_id": order_id,
        "status": rng.choice(["shipped", "pending", "delivered"]),
        "lines": lines,
        "history": _text(rng, 30),
    }


def session(steps: int, *, seed: int = 0, window: int = 16) -> Cassette:
    """A session of ``steps`` loop steps."""
    rng = random.Random(seed)
    header = CassetteHeader(
        session_id=f"bench-{steps}-{seed}",
        agent="benchmarks.sessions:agent",
        release="bench-1",
        recorded_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        permission_context=PermissionContext(principal="user-1", roles=("agent",), tenant="acme"),
        tools=TOOLS,
    )
    events: list[Event] = []
    t = 0.0

    def add(event_type: type[Event], **fields: object) -> None:  # type: ignore[valid-type]
        nonlocal t
        t += rng.uniform(0.001, 0.4)
        events.append(event_type(seq=len(events), t=round(t, 6), **fields))

    system = Message(role="system", content=SYSTEM)
    question = f"Where is my order {rng.randrange(10**6)}? {_text(rng, 12)}"
    history = [Message(role="user", content=question)]
    add(UserEvent, text=question)
    for step in range(steps):
        tool = TOOLS[step % 3] if step % 7 else TOOLS[0]
        order_id = f"ORD-{rng.randrange(10**6):06d}"
        call_id = f"call_{step:05d}_{rng.randrange(16**8):08x}"
        arguments: dict[str, object] = {"order_id": order_id}
        if tool.name == "search_kb":
            arguments = {"query": _text(rng, 6)}
        elif tool.name == "issue_refund":
            arguments["amount"] = round(rng.uniform(5, 80), 2)
        call = ToolCallRequest(id=call_id, name=tool.name, arguments=arguments)
        messages = (system, *history[-window:])
        add(
            ModelEvent,
            provider="openai-chat",
            request=ModelRequest(
                model="gpt-4o",
                messages=messages,
                tools=tuple(s.name for s in TOOLS),
                params={"temperature": 0},
            ),
            response=ModelResponse(
                tool_calls=(call,),
                stop_reason="tool_calls",
                usage=Usage(input_tokens=300 * len(messages), output_tokens=40),
            ),
        )
        add(ToolCallEvent, call_id=call_id, tool=tool.name, arguments=arguments)
        if tool.effect == "write":
            add(
                PermissionEvent,
                call_id=call_id,
                tool=tool.name,
                decision="allow",
                rule_id="refund.limit",
                reason="within limit",
                policy_version="7",
            )
        output = _result(rng, order_id)
        add(
            ToolResultEvent,
            call_id=call_id,
            tool=tool.name,
            output=output,
            duration=round(rng.uniform(0.01, 0.3), 4),
        )
        history.append(Message(role="assistant", tool_calls=(call,)))
        history.append(Message(role="tool", tool_call_id=call_id, content=json.dumps(output)))
    answer = f"Your order is on its way. {_text(rng, 20)}"
    add(
        ModelEvent,
        provider="openai-chat",
        request=ModelRequest(model="gpt-4o", messages=(system, *history[-window:])),
        response=ModelResponse(text=answer, stop_reason="stop"),
    )
    add(OutputEvent, text=answer)
    return Cassette(header=header, events=tuple(events))
