"""OpenAI Chat Completions transcripts: message lists with ``tool_calls`` (arguments as JSON
text), ``role: tool`` results with or without ``name``, several calls per turn,
``content: null``.

A file holds a message list, an object with ``messages`` (a request body, a fine-tuning
line), or a list or JSON-lines of such objects: one session each.
"""

from __future__ import annotations

import json
from typing import Any

from retake.schema import Cassette, Message, ToolCallRequest

from ._build import SessionBuilder, Skipped, session_name

NAME = "openai-chat"
_ROLES = ("system", "developer", "user", "assistant", "tool")


def parse_arguments(raw: Any) -> Any:
    """Arguments from their JSON text; the text itself when the model sent invalid JSON."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def content_of(value: Any) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    """Text or a list of parts as the joined text plus the other parts."""
    if value is None or isinstance(value, str):
        return value, ()
    if not isinstance(value, list):
        return json.dumps(value, ensure_ascii=False), ()
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for part in value:
        if (
            isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ):
            texts.append(part["text"])
        elif isinstance(part, dict):
            parts.append(part)
        elif isinstance(part, str):
            texts.append(part)
    return ("\n".join(texts) if texts else None), tuple(parts)


def read_messages(raw: Any, builder: SessionBuilder, where: str) -> list[tuple[str, Message]]:
    """The messages of a list, skipping (with a reason) what is not a chat message."""
    if not isinstance(raw, list):
        builder.skip(where, f"expected a list of messages, found {type(raw).__name__}")
        return []
    out: list[tuple[str, Message]] = []
    for i, msg in enumerate(raw):
        item = f"{where}[{i}]"
        if not isinstance(msg, dict):
            builder.skip(item, f"a message must be an object, found {type(msg).__name__}")
            continue
        role = "tool" if msg.get("role") == "function" else msg.get("role")
        if role not in _ROLES:
            builder.skip(
                item, f"unknown role {msg.get('role')!r} (expected one of {list(_ROLES)}); left out"
            )
            continue
        text, parts = content_of(msg.get("content"))
        calls: list[ToolCallRequest] = []
        for j, call in enumerate(msg.get("tool_calls") or ()):
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                builder.skip(f"{item}.tool_calls[{j}]", "a tool call without function.name")
                continue
            calls.append(
                ToolCallRequest(
                    id=str(call.get("id") or ""),
                    name=fn["name"],
                    arguments=parse_arguments(fn.get("arguments")),
                )
            )
        call_id = msg.get("tool_call_id")
        if msg.get("role") == "function" and call_id is None:
            call_id = msg.get("name")
        name = msg.get("name")
        out.append(
            (
                item,
                Message(
                    role=role,
                    content=text,
                    parts=parts,
                    tool_calls=tuple(calls),
                    tool_call_id=call_id if isinstance(call_id, str) else None,
                    name=name if isinstance(name, str) else None,
                ),
            )
        )
    return out


def _conversations(data: Any) -> list[tuple[str, Any, dict[str, Any]]]:
    """``(item, messages, extra)`` for each session a file holds."""
    if isinstance(data, dict):
        return [("messages", data.get("messages"), data)]
    if (
        isinstance(data, list)
        and data
        and all(isinstance(d, dict) and "messages" in d for d in data)
    ):
        return [(f"[{i}].messages", d["messages"], d) for i, d in enumerate(data)]
    return [("messages", data, {})]


def import_data(data: Any, file: str, skipped: list[Skipped]) -> list[Cassette]:
    conversations = _conversations(data)
    cassettes: list[Cassette] = []
    for index, (where, raw, extra) in enumerate(conversations):
        builder = SessionBuilder(file)
        model = extra.get("model") if isinstance(extra.get("model"), str) else None
        builder.conversation(read_messages(raw, builder, where), provider=NAME, model=model)
        builder.final_output()
        skipped += builder.skipped
        cassettes.append(
            builder.finish(
                session_id=session_name(file, index if len(conversations) > 1 else None),
                source=NAME,
                agent=NAME,
                lacks=("permission", "duration", "time", "http"),
                tags={"model": model} if model else {},
            )
        )
    return cassettes
