"""``@retake.tool``: marks a tool function and its effect, and routes calls to the session."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, ParamSpec, TypeVar, overload

from pydantic import TypeAdapter, create_model

from retake._session import ToolInfo
from retake.schema import Effect, ToolSpec

from ._boundary import active, open_sessions

P = ParamSpec("P")
R = TypeVar("R")


def _schema_of(fn: Callable[..., Any]) -> Callable[[], dict[str, Any]]:
    @functools.cache
    def build() -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, param in inspect.signature(fn).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = Any if param.annotation is param.empty else param.annotation
            default = ... if param.default is param.empty else param.default
            fields[name] = (annotation, default)
        try:
            hints = inspect.get_annotations(fn, eval_str=True)
            for name, (_, default) in list(fields.items()):
                if name in hints:
                    fields[name] = (hints[name], default)
            model = create_model(f"{fn.__name__}_arguments", **fields)
            return model.model_json_schema()
        except Exception:  # an annotation pydantic cannot describe: say only what we know
            return TypeAdapter(dict[str, Any]).json_schema()

    return build


def spec_of(fn: Callable[..., Any]) -> ToolSpec:
    """The tool spec of a decorated function, for the cassette header."""
    info: ToolInfo | None = getattr(fn, "__retake_tool__", None)
    if info is None:
        raise TypeError(f"{fn!r} is not a retake tool; decorate it with @retake.tool to record it.")
    return spec_of_info(info)


def spec_of_info(info: ToolInfo) -> ToolSpec:
    """The tool spec a boundary's ``ToolInfo`` describes."""
    return ToolSpec(
        name=info.name, description=info.description, parameters=info.schema(), effect=info.effect
    )


@overload
def tool(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def tool(
    *, effect: Effect = "read", name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    effect: Literal["read", "write"] = "read",
    name: str | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a function (sync or async) as a tool the agent calls.

    ``effect="write"`` marks a tool that changes the world: it is never executed during
    replay, whatever the configuration. With no session active, a call costs a
    context-variable lookup.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if effect not in ("read", "write"):
            raise ValueError(f"effect={effect!r}; a tool's effect is 'read' or 'write'")
        parameters = tuple(
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        info = ToolInfo(
            name=name or fn.__name__,
            effect=effect,
            parameters=parameters,
            schema=_schema_of(fn),
            description=inspect.getdoc(fn) or "",
        )
        wrapper: Callable[..., Any]
        current, anywhere = active, open_sessions  # closure cells: cheaper than globals
        if inspect.iscoroutinefunction(fn):
            async_fn: Callable[..., Awaitable[Any]] = fn

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                session = current() if anywhere[0] else None
                if session is None:
                    return await async_fn(*args, **kwargs)
                arguments = dict(zip(parameters, args, strict=False))
                arguments.update(kwargs)
                return await session.acall_tool(info, arguments, lambda: async_fn(*args, **kwargs))

            wrapper = async_wrapper
        else:

            @functools.wraps(fn)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                session = current() if anywhere[0] else None
                if session is None:
                    return fn(*args, **kwargs)
                arguments = dict(zip(parameters, args, strict=False))
                arguments.update(kwargs)
                return session.call_tool(info, arguments, lambda: fn(*args, **kwargs))

            wrapper = sync_wrapper
        setattr(wrapper, "__retake_tool__", info)  # noqa: B010 (a marker for spec_of)
        return wrapper  # type: ignore[return-value]

    return decorate if fn is None else decorate(fn)
