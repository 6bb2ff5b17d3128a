"""Loading YAML input files into pydantic models with errors a person can act on.

Every error names the file, the line, the field, and, for a misspelt key, the nearest valid
name ("unknown field 'permision_context'; did you mean 'permission_context'?").
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import yaml
from pydantic import BaseModel, ValidationError

from retake.errors import InputFileError

M = TypeVar("M", bound=BaseModel)

MAX_EXPANDED_NODES = 1_000_000
"""The most YAML nodes a document may hold once its aliases are followed: a few anchors
reused are fine, a "billion laughs" document (each alias doubling the one before) is not."""


class YamlTooLarge(yaml.MarkedYAMLError):
    """A document whose aliases expand past ``MAX_EXPANDED_NODES``, or that nests past
    Python's recursion limit."""


def _expanded(node: yaml.Node, sizes: dict[int, int]) -> int:
    """The nodes under ``node`` with every alias followed, counted once per reference."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # an alias back to an ancestor: counted once, not followed again
    total = 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            total += _expanded(key, sizes) + _expanded(value, sizes)
            if total > MAX_EXPANDED_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded(item, sizes)
            if total > MAX_EXPANDED_NODES:
                break
    sizes[id(node)] = total
    return total


def safe_load(text: str) -> Any:
    """``yaml.safe_load``, refusing (with a ``yaml.YAMLError``) a document whose aliases
    expand it more than tenfold and past ``MAX_EXPANDED_NODES`` (every walk over the value
    would follow each reference), or that nests past Python's recursion limit."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}
        expanded = _expanded(node, sizes)
        if expanded > MAX_EXPANDED_NODES and expanded > 10 * len(sizes):
            raise YamlTooLarge(
                problem=f"its aliases (*name) expand to more than {MAX_EXPANDED_NODES:,} values",
                problem_mark=node.start_mark,
            )
        return loader.construct_document(node)
    except RecursionError:
        raise YamlTooLarge(problem="it nests deeper than retake reads") from None
    finally:
        loader.dispose()


def _lines(node: yaml.Node, path: tuple[Any, ...], found: dict[tuple[Any, ...], int]) -> None:
    found[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value
            found[(*path, name)] = key.start_mark.line + 1
            _lines(value, (*path, name), found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), found)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Optional, tuples, unions, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or getattr(annotation, "__origin__", ()):
        found.extend(_models_in(arg))
    metadata = getattr(annotation, "__metadata__", None)
    if metadata is not None:
        found.extend(_models_in(getattr(annotation, "__origin__", None)))
    return found


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``loc`` (the parent of an unknown key), if it is a model.

    A part of ``loc`` may be a field, a list index, or the tag pydantic puts in the location
    of a discriminated union member (the ``kind`` of a mutation)."""
    current: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        tagged = [
            m
            for m in current
            if m.model_fields.get("kind") is not None and m.model_fields["kind"].default == part
        ]
        if tagged:
            current = tagged
            continue
        nxt: list[type[BaseModel]] = []
        for m in current:
            field = m.model_fields.get(str(part))
            if field is not None:
                nxt.extend(_models_in(field.annotation))
        if not nxt:
            return []
        current = nxt
    return [name for m in current[:1] for name in m.model_fields if name != "kind"]


@overload
def load_model(path: Path, model: type[M], what: str) -> M: ...


@overload
def load_model(
    path: Path, model: type[M], what: str, *, with_lines: Literal[True]
) -> tuple[M, dict[tuple[Any, ...], int]]: ...


def load_model(
    path: Path, model: type[M], what: str, *, with_lines: bool = False
) -> M | tuple[M, dict[tuple[Any, ...], int]]:
    """Read ``path`` as YAML and validate it as ``model``; errors are ``InputFileError``.

    ``with_lines`` also returns the line of every key and item, by its path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"no {what} at {str(path)!r}; check the path.", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read {what} {str(path)!r}: {exc}.", path=path) from exc
    try:
        data = safe_load(text)  # first: it refuses what composing would choke on
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputFileError(
            f"{what} {str(path)!r}{where} is not valid YAML: {problem}. Fix the syntax there.",
            path=path,
        ) from exc
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    try:
        loaded = model.model_validate(data)
        return (loaded, lines) if with_lines else loaded
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
        field = ".".join(str(p) for p in loc) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            valid = _fields_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
            message = f"unknown field {loc[-1]!r}"
            if close:
                message += f"; did you mean {close[0]!r}?"
            elif valid:
                message += f"; valid fields here: {', '.join(valid)}"
        at = f", line {line}" if line is not None else ""
        raise InputFileError(
            f"{what} {str(path)!r}{at}, field {field}: {message}", path=path
        ) from exc
