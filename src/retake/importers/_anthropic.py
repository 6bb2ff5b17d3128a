"""Anthropic Messages transcripts: ``tool_use`` / ``tool_result`` blocks (``is_error``),
parallel calls in one assistant turn, their results in one user turn.

A file holds a message list, an object with ``messages`` (and optional ``system``, ``model``),
or a list of such objects: one session each.
"""

from __future__ import annotations

from typing import Any

from retake.schema import Cassette, Message, ToolCallRequest, ToolFailure

from ._build import SessionBuilder, Skipped, session_name
from ._openai_chat import content_of

NAME = "anthropic-messages"
IS_ERROR_PART: dict[str, Any] = {"type": "tool_result_error", "is_error": True}
"""The part a ``tool`` message carries when its ``tool_result`` had ``is_error``."""


def failure_of(message: Message) -> ToolFailure | None:
    if IS_ERROR_PART in message.parts:
        return ToolFailure(type="error", message=message.content or "")
    return None


def read_messages(raw: Any, builder: SessionBuilder, where: str) -> list[tuple[str, Message]]:
    if not isinstance(raw, list):
        builder.skip(where, f"expected a list of messages, found {type(raw).__name__}")
        return []
    out: list[tuple[str, Message]] = []
    for i, msg in enumerate(raw):
        item = f"{where}[{i}]"
        if not isinstance(msg, dict):
            builder.skip(item, f"a message must be an object, found {type(msg).__name__}")
            continue
        role = msg.get("role")
        if role not in ("user", "assistant"):
            builder.skip(item, f"unknown role {role!r} (expected 'user' or 'assistant'); left out")
            continue
        content = msg.get("content")
        if not isinstance(content, list):
            text, _ = content_of(content)
            out.append((item, Message(role=role, content=text)))
            continue
        texts: list[str] = []
        parts: list[dict[str, Any]] = []
        calls: list[ToolCallRequest] = []

        def flush(
            item: str = item,
            role: Any = role,
            texts: list[str] = texts,
            parts: list[dict[str, Any]] = parts,
            calls: list[ToolCallRequest] = calls,
        ) -> None:
            if texts or parts or calls:
                text = "\n".join(texts) if texts else None
                message = Message(
                    role=role, content=text, parts=tuple(parts), tool_calls=tuple(calls)
                )
                out.append((item, message))
            texts.clear()
            parts.clear()
            calls.clear()

        for j, block in enumerate(content):
            here = f"{item}.content[{j}]"
            kind = block.get("type") if isinstance(block, dict) else None
            if not isinstance(block, dict):
                builder.skip(
                    here, f"a content block must be an object, found {type(block).__name__}"
                )
            elif kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif kind == "tool_use":
                calls.append(
                    ToolCallRequest(
                        id=str(block.get("id") or ""),
                        name=str(block.get("name") or ""),
                        arguments=block.get("input"),
                    )
                )
            elif kind == "tool_result":
                flush()
                text, extra = content_of(block.get("content"))
                if block.get("is_error"):
                    extra = (*extra, IS_ERROR_PART)
                call_id = block.get("tool_use_id")
                tool_message = Message(
                    role="tool",
                    content=text,
                    parts=extra,
                    tool_call_id=call_id if isinstance(call_id, str) else None,
                )
                out.append((here, tool_message))
            else:
                parts.append(block)
        flush()
    return out


def _sessions(data: Any) -> list[tuple[str, Any, dict[str, Any]]]:
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
    sessions = _sessions(data)
    cassettes: list[Cassette] = []
    for index, (where, raw, extra) in enumerate(sessions):
        builder = SessionBuilder(file)
        history: list[Message] = []
        system = extra.get("system")
        if system is not None:
            text, parts = content_of(system)
            history.append(Message(role="system", content=text, parts=parts))
        model = extra.get("model") if isinstance(extra.get("model"), str) else None
        builder.conversation(
            read_messages(raw, builder, where),
            provider=NAME,
            failure_of=failure_of,
            history=history,
            model=model,
        )
        builder.final_output()
        skipped += builder.skipped
        cassettes.append(
            builder.finish(
                session_id=session_name(file, index if len(sessions) > 1 else None),
                source="anthropic",
                agent="anthropic",
                lacks=("permission", "duration", "time", "http"),
                tags={"model": model} if model else {},
            )
        )
    return cassettes
