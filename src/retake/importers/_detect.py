"""Reading a source file (JSON, JSON lines, YAML) and telling its format from its content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from retake._yamlfile import safe_load
from retake.errors import InputFileError

from ._build import Skipped
from ._otel import is_otlp
from ._taubench import is_trajectory
from ._vcr import is_vcr

FORMATS = ("openai-chat", "openai-responses", "anthropic", "tau-bench", "vcr", "otel")
"""Every source format, by the name ``--format`` takes."""

SUFFIXES = (".json", ".jsonl", ".ndjson", ".yaml", ".yml")
"""Files a folder given to the import is searched for."""

_RESPONSES_TYPES = frozenset(
    {"message", "function_call", "function_call_output", "reasoning", "custom_tool_call"}
)


def read(path: Path) -> tuple[Any, list[Skipped], int]:
    """The decoded content of a source file, lines that could not be read, and its size."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(
            f"no source file at {str(path)!r}; check the path.", path=path
        ) from None
    except OSError as exc:
        raise InputFileError(f"cannot read {str(path)!r}: {exc}.", path=path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{str(path)!r} is not UTF-8 text ({exc}); give a JSON or YAML export.", path=path
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            return safe_load(text), [], len(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise InputFileError(
                f"{str(path)!r} is not valid YAML{where}: {getattr(exc, 'problem', exc)}; "
                "the file may be truncated or damaged.",
                path=path,
            ) from None
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        try:
            return json.loads(text), [], len(raw)
        except RecursionError:
            raise InputFileError(
                f"{str(path)!r} nests its JSON deeper than retake reads (Python's recursion "
                "limit); no trace nests so deep: check that it is the file you meant.",
                path=path,
            ) from None
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise InputFileError(
                    f"{str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                    f"{exc.colno}; the file may be truncated. Export it again, or fix it there.",
                    path=path,
                ) from None
    items: list[Any] = []
    skipped: list[Skipped] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except RecursionError:
            skipped.append(Skipped(str(path), f"line {number}", "nested too deep; left out"))
        except json.JSONDecodeError as exc:
            skipped.append(
                Skipped(str(path), f"line {number}", f"not valid JSON ({exc.msg}); left out")
            )
    if not items and skipped:
        raise InputFileError(
            f"{str(path)!r} holds no valid JSON line ({skipped[0].reason}); the file may be "
            "truncated or not JSON at all.",
            path=path,
        )
    return items, skipped, len(raw)


def _messages_of(data: Any) -> list[Any]:
    if isinstance(data, dict):
        for key in ("messages", "input", "items", "output"):
            if isinstance(data.get(key), list):
                return list(data[key])
        return []
    if isinstance(data, list):
        if data and all(isinstance(d, dict) and not ("role" in d or "type" in d) for d in data):
            return [m for d in data for m in _messages_of(d)]
        return data
    return []


def detect(data: Any, path: Path) -> str:
    """The format of decoded source content; ``InputFileError`` when it is none of them."""
    if is_vcr(data):
        return "vcr"
    if is_otlp(data):
        return "otel"
    runs = data if isinstance(data, list) else [data]
    if runs and all(is_trajectory(r) for r in runs):
        return "tau-bench"
    messages = [m for m in _messages_of(data) if isinstance(m, dict)]
    if isinstance(data, dict) and ("input" in data or "output" in data) and "messages" not in data:
        return "openai-responses"
    if any(m.get("type") in _RESPONSES_TYPES for m in messages):
        return "openai-responses"
    for m in messages:
        if m.get("tool_calls") or m.get("role") in ("tool", "function", "system", "developer"):
            return "openai-chat"
        content = m.get("content")
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result") for b in content
        ):
            return "anthropic"
    if isinstance(data, dict) and "system" in data and "messages" in data:
        return "anthropic"
    if messages and all("role" in m for m in messages):
        return "openai-chat"
    raise InputFileError(
        f"cannot tell the format of {str(path)!r}: it is not a vcrpy cassette, an OTLP JSON "
        "trace, a tau-bench run, or a message list; pass --format with one of "
        f"{', '.join(FORMATS)}.",
        path=path,
    )
