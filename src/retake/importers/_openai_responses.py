"""OpenAI Responses items: ``message``, ``function_call`` and ``function_call_output`` items
joined by ``call_id``.

A file holds an item list, an object with ``input`` and/or ``output`` item lists (a request
and its response, with optional ``instructions``), or a list of such objects.
"""

from __future__ import annotations

from typing import Any

from retake.schema import Cassette, Message, ToolCallRequest

from ._build import SessionBuilder, Skipped, session_name
from ._openai_chat import content_of, parse_arguments

NAME = "openai-responses"
_ROLES = ("system", "developer", "user", "assistant")


def _text(value: Any) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    """Content parts of a message item (``input_text``, ``output_text``, ...) as text + parts."""
    if isinstance(value, list):
        texts = [
            p["text"]
            for p in value
            if isinstance(p, dict) and p.get("type") in ("input_text", "output_text", "text")
        ]
        others = tuple(
            p
            for p in value
            if isinstance(p, dict) and p.get("type") not in ("input_text", "output_text", "text")
        )
        return ("\n".join(t for t in texts if isinstance(t, str)) if texts else None), others
    return content_of(value)


def read_items(raw: Any, builder: SessionBuilder, where: str) -> list[tuple[str, Message]]:
    if not isinstance(raw, list):
        builder.skip(where, f"expected a list of items, found {type(raw).__name__}")
        return []
    out: list[tuple[str, Message]] = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            builder.skip(here, f"an item must be an object, found {type(item).__name__}")
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                builder.skip(here, f"unknown role {role!r} (expected one of {list(_ROLES)})")
                continue
            text, parts = _text(item.get("content"))
            out.append((here, Message(role=role, content=text, parts=parts)))
        elif kind in ("function_call", "custom_tool_call"):
            call = ToolCallRequest(
                id=str(item.get("call_id") or item.get("id") or ""),
                name=str(item.get("name") or ""),
                arguments=parse_arguments(item.get("arguments", item.get("input"))),
            )
            last = out[-1][1] if out else None
            if last is not None and last.role == "assistant" and not last.parts:
                out[-1] = (
                    out[-1][0],
                    last.model_copy(update={"tool_calls": (*last.tool_calls, call)}),
                )
            else:
                out.append((here, Message(role="assistant", tool_calls=(call,))))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            text, parts = _text(item.get("output"))
            call_id = item.get("call_id")
            out.append(
                (
                    here,
                    Message(
                        role="tool",
                        content=text,
                        parts=parts,
                        tool_call_id=call_id if isinstance(call_id, str) else None,
                    ),
                )
            )
        else:
            builder.skip(here, f"a {kind!r} item has no event kind in a cassette; left out")
    return out


def _sessions(data: Any) -> list[tuple[str, list[Any], dict[str, Any]]]:
    def one(obj: dict[str, Any], where: str) -> tuple[str, list[Any], dict[str, Any]]:
        items: list[Any] = []
        if isinstance(obj.get("instructions"), str):
            items.append({"type": "message", "role": "system", "content": obj["instructions"]})
        for key in ("input", "items", "output"):
            value = obj.get(key)
            if isinstance(value, str):
                items.append({"type": "message", "role": "user", "content": value})
            elif isinstance(value, list):
                items += value
        return where, items, obj

    if isinstance(data, dict):
        return [one(data, "input")]
    if (
        isinstance(data, list)
        and data
        and all(
            isinstance(d, dict) and "type" not in d and ("input" in d or "output" in d)
            for d in data
        )
    ):
        return [one(d, f"[{i}]") for i, d in enumerate(data)]
    return [("items", data if isinstance(data, list) else [], {})]


def import_data(data: Any, file: str, skipped: list[Skipped]) -> list[Cassette]:
    sessions = _sessions(data)
    cassettes: list[Cassette] = []
    for index, (where, items, extra) in enumerate(sessions):
        builder = SessionBuilder(file)
        model = extra.get("model") if isinstance(extra.get("model"), str) else None
        builder.conversation(read_items(items, builder, where), provider=NAME, model=model)
        builder.final_output()
        skipped += builder.skipped
        cassettes.append(
            builder.finish(
                session_id=session_name(file, index if len(sessions) > 1 else None),
                source=NAME,
                agent=NAME,
                lacks=("permission", "duration", "time", "http"),
                tags={"model": model} if model else {},
            )
        )
    return cassettes
