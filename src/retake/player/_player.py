"""The player: answers the boundaries from a cassette, sans I/O.

It implements the same session protocol as the recorder. Every question a boundary asks is
answered from the recording (through the mutations, in order), and then handed to the
*recording* session it wraps, so the candidate trace is recorded by the normal capture path
and is itself a cassette. The real tool function is never called: a write tool is never
executed in replay, whatever the configuration. A call with no recorded answer gets the
fail-closed answer (a typed error the agent sees, by default) and is marked in the trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

from retake._session import (
    HttpAnswer,
    HttpCall,
    Mutation,
    Session,
    ToolAnswer,
    ToolInfo,
    ToolQuestion,
)
from retake.schema import (
    Cassette,
    Decision,
    ModelEvent,
    ModelRequest,
    RequestDrift,
    ToolFailure,
    UnmatchedCall,
)

from ._matching import DEFAULT_MATCHERS, CallIndex, Match, MatcherName, Miss

ModelMode = Literal["recorded", "scripted", "live"]
Unmatched = Literal["error", "empty"]


RenderResponse = Callable[[ModelEvent], HttpAnswer]


class Player:
    """Answers a release's calls from ``cassette`` and records them into ``recording``."""

    def __init__(
        self,
        cassette: Cassette,
        recording: Session,
        *,
        model: ModelMode = "recorded",
        matchers: Sequence[MatcherName] = DEFAULT_MATCHERS,
        unmatched: Unmatched = "error",
        mutations: Sequence[Mutation] = (),
        render: RenderResponse | None = None,
    ) -> None:
        self.cassette = cassette
        self.recording = recording
        self.model = model
        self.calls = CallIndex.of(cassette, matchers)
        self.unmatched_answer = unmatched
        self.mutations = tuple(mutations)
        self._render = render
        self._model_events = [e for e in cassette.events if isinstance(e, ModelEvent)]
        self._model_calls = 0
        self._steps = 0
        self._nth: dict[str, int] = {}
        self.unmatched: list[UnmatchedCall] = []
        """Live calls that got the fail-closed answer."""
        self.request_drift: list[RequestDrift] = []
        """Model calls past the recording's end. (How requests differ from the recorded ones
        is read off the candidate trace afterwards: see ``request_drift``.)"""

    @property
    def answers_http(self) -> bool:
        """With the recorded model, every model call is answered from the cassette."""
        return self.model == "recorded"

    # -- tools ------------------------------------------------------------------------------

    def _answer(self, tool: ToolInfo, arguments: dict[str, Any]) -> ToolAnswer:
        found = self.calls.match(tool.name, arguments)
        if isinstance(found, Match) and found.matcher != "exact":
            # A looser matcher served an answer recorded for other arguments: say so in the
            # candidate trace, where the user reads the step.
            recorded = found.recorded.call
            self.recording.note(
                f"replay: {tool.name} answered by the {found.matcher!r} matcher with the "
                f"result recorded at step {recorded.seq} ({found.difference(arguments)})",
                level="replay",
                call_id=None,
                data={"matcher": found.matcher, "tool": tool.name, "recorded": recorded.seq},
            )
        answer = self._recorded(found, tool, arguments)
        self._nth[tool.name] = nth = self._nth.get(tool.name, 0) + 1
        position = found.recorded.position if isinstance(found, Match) else None
        question = ToolQuestion(
            tool=tool,
            arguments=arguments,
            nth=nth,
            recorded_seq=found.recorded.call.seq if isinstance(found, Match) else None,
        )
        for mutation in self.mutations:
            changed = mutation.tool(question, answer)
            if changed is not answer:
                self.recording.note(
                    f"mutation {mutation.name}: {mutation.describe()}",
                    level="mutation",
                    call_id=None,
                    data={"mutation": mutation.name, "tool": tool.name, "nth": nth},
                )
                answer = changed
        if not answer.consumes and position is not None:
            self.calls.served.discard(position)  # a retry gets the recorded answer
        return answer

    def _recorded(
        self, found: Match | Miss, tool: ToolInfo, arguments: dict[str, Any]
    ) -> ToolAnswer:
        if isinstance(found, Match):
            result = found.recorded.result
            if result is None:
                return ToolAnswer(
                    failure=ToolFailure(
                        type="error",
                        message="retake: the recording has this call but not its result "
                        "(the session was cut short)",
                    )
                )
            return ToolAnswer(output=result.output, failure=result.failure)
        explanation = found.explain()
        self.unmatched.append(
            UnmatchedCall(
                seq=self._steps,
                tool=tool.name,
                arguments=arguments,
                effect=tool.effect,
                nearest=found.nearest,
                explanation=explanation,
            )
        )
        self.recording.note(
            f"replay: no recorded answer for {tool.name}; it got the fail-closed answer",
            level="replay",
            call_id=None,
            data={"unmatched": tool.name, "effect": tool.effect, "explanation": explanation},
        )
        if self.unmatched_answer == "empty":
            return ToolAnswer(output=None)
        return ToolAnswer(
            failure=ToolFailure(
                type="error",
                message=f"retake replay: no recorded answer for {tool.name}; the call "
                "was not executed",
            )
        )

    def call_tool(
        self, tool: ToolInfo, arguments: dict[str, Any], invoke: Callable[[], Any]
    ) -> Any:
        self._steps += 1
        answer = self._answer(tool, arguments)
        return self.recording.call_tool(tool, arguments, answer.deliver)

    async def acall_tool(
        self, tool: ToolInfo, arguments: dict[str, Any], invoke: Callable[[], Awaitable[Any]]
    ) -> Any:
        self._steps += 1
        answer = self._answer(tool, arguments)

        async def deliver() -> Any:
            return answer.deliver()

        return await self.recording.acall_tool(tool, arguments, deliver)

    # -- what the release decides and says: recorded as it happens ---------------------------

    def permission(
        self,
        tool: str,
        decision: Decision,
        *,
        call_id: str | None,
        rule_id: str | None,
        reason: str,
        policy_version: str | None,
    ) -> None:
        self.recording.permission(
            tool,
            decision,
            call_id=call_id,
            rule_id=rule_id,
            reason=reason,
            policy_version=policy_version,
        )

    def note(self, message: str, *, level: str, call_id: str | None, data: dict[str, Any]) -> None:
        self.recording.note(message, level=level, call_id=call_id, data=data)

    def user_turn(self, ask: Callable[[], str | None] | None) -> str | None:
        return self.recording.user_turn(None)  # the task's turns; never a live user

    # -- the model ---------------------------------------------------------------------------

    def _forced(self, index: int) -> HttpAnswer | None:
        """A mutation's response for model call ``index``, rendered for the provider."""
        recorded = self._model_events[index] if index < len(self._model_events) else None
        for mutation in self.mutations:
            forced = mutation.model(index, recorded.response if recorded else None)
            if forced is None:
                continue
            if self._render is None:
                raise ValueError("forcing a model response needs a renderer")
            base = recorded or (self._model_events[-1] if self._model_events else None)
            event = ModelEvent(
                seq=0,
                provider=(base.provider if base else None) or "openai-chat",
                request=base.request if base else ModelRequest(),
                response=forced,
            )
            self.recording.note(
                f"mutation {mutation.name}: {mutation.describe()}",
                level="mutation",
                call_id=None,
                data={"mutation": mutation.name, "model_call": index},
            )
            return self._render(event)
        return None

    def _recorded_answer(self, call: HttpCall) -> HttpAnswer:
        index = self._model_calls
        self._model_calls += 1
        forced = self._forced(index)
        if forced is not None:
            return forced
        if index >= len(self._model_events):
            self.request_drift.append(
                RequestDrift(
                    call=index,
                    message=None,
                    detail=f"model call {index} has no recorded response (the recording made "
                    f"{len(self._model_events)}); it got an error response",
                )
            )
            body = (
                b'{"error": {"message": "retake replay: no recorded model response", '
                b'"type": "retake_unmatched"}}'
            )
            return HttpAnswer(500, {"content-type": "application/json"}, [body])
        recorded = self._model_events[index]
        parsed = None if recorded.provider is None else (recorded.provider, recorded.response)
        if recorded.http is not None and (recorded.http.response_body or parsed is None):
            http = recorded.http
            return HttpAnswer(
                http.status, dict(http.response_headers), [http.response_body], parsed
            )
        if self._render is None:
            raise ValueError("a recorded model call without HTTP needs a renderer to replay")
        return replace(self._render(recorded), recorded=parsed)

    def http(self, call: HttpCall, send: Callable[[], HttpAnswer]) -> HttpAnswer:
        if self.model != "recorded":
            forced = self._forced(self._model_calls)
            self._model_calls += 1
            return self.recording.http(call, send if forced is None else (lambda: forced))
        answer = self._recorded_answer(call)
        return self.recording.http(call, lambda: answer)

    async def ahttp(self, call: HttpCall, send: Callable[[], Awaitable[HttpAnswer]]) -> HttpAnswer:
        if self.model != "recorded":
            forced = self._forced(self._model_calls)
            self._model_calls += 1
            if forced is None:
                return await self.recording.ahttp(call, send)
            answer = forced
        else:
            answer = self._recorded_answer(call)

        async def recorded() -> HttpAnswer:
            return answer

        return await self.recording.ahttp(call, recorded)


def request_drift(index: int, recorded: ModelRequest, live: ModelRequest) -> RequestDrift | None:
    """How a live model request differs from the recorded one, naming the first message."""
    for position, (old, new) in enumerate(zip(recorded.messages, live.messages, strict=False)):
        if old != new:
            field = next(
                (
                    f
                    for f in ("role", "content", "tool_calls", "tool_call_id", "parts", "name")
                    if getattr(old, f) != getattr(new, f)
                ),
                "content",
            )
            return RequestDrift(
                call=index,
                message=position,
                detail=f"message {position} ({old.role}) differs in {field}",
            )
    if len(recorded.messages) != len(live.messages):
        return RequestDrift(
            call=index,
            message=min(len(recorded.messages), len(live.messages)),
            detail=f"{len(live.messages)} messages sent, {len(recorded.messages)} recorded",
        )
    if recorded.tools != live.tools:
        return RequestDrift(call=index, message=None, detail="the tools offered differ")
    if recorded.params != live.params or recorded.model != live.model:
        return RequestDrift(call=index, message=None, detail="the model or its settings differ")
    return None
