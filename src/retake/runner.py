"""The runner: replays cassettes against a release, in worker processes, and composes the
stages for it (store -> replay -> capture of the candidate). With ``retake.pipeline`` it is the
only place stages meet.

One session: load the cassette, hand its task to the release's entrypoint with the player
active, record what the release does as the candidate trace, and say what drifted. Many
sessions: worker processes fed from a bounded queue (cassettes are streamed from disk, so
memory holds what the workers hold, not the suite), a per-session timeout that records a
timeout instead of hanging, and a dead worker recorded as a crash and replaced.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retake import capture, diff, expect, mutate, player, redact, report, store
from retake._collector import settled
from retake.errors import InputFileError, RetakeError
from retake.pipeline import Quoter, load_entrypoint, results_key, save_scanned
from retake.schema import (
    Cassette,
    CassetteHeader,
    Divergence,
    ErrorEvent,
    ModelEvent,
    NoteEvent,
    SessionReplay,
    Step,
    Task,
    ToolCallEvent,
    UnmatchedCall,
    UserEvent,
)

__all__ = [
    "CROSSWALK",
    "SCENARIO_SUFFIXES",
    "Job",
    "ReplayConfig",
    "ReplayOutcome",
    "ReplayRun",
    "SessionTimeout",
    "candidate_name",
    "jobs",
    "load_entrypoint",
    "raised_unlike_recording",
    "replace",
    "replay",
    "replay_cassette",
    "replay_path",
    "results_key",
    "run",
    "run_jobs",
    "scenario_files",
    "scenario_jobs",
    "task_of",
]


class SessionTimeout(BaseException):
    """Raised inside the release when its session ran out of time.

    Like ``KeyboardInterrupt``, not an ``Exception``: a release's ``except Exception`` (retry
    loops have them) must not swallow it, and it is raised again every half second until the
    session ends."""


@dataclass(frozen=True)
class ReplayConfig:
    """How to replay: picklable, so worker processes get the same."""

    agent: str
    """The release's entrypoint, ``module:function``."""
    model: player.ModelMode = "recorded"
    matchers: tuple[player.MatcherName, ...] = player.DEFAULT_MATCHERS
    unmatched: player.Unmatched = "error"
    timeout: float | None = 60.0
    """Seconds per session; ``None`` for no limit."""
    allow_truncated: bool = False
    """Replay recordings that never finalised too (the events that survived), as crashed
    sessions are when an incident is reproduced."""
    out: Path | None = None
    """Where to write candidate traces (``None``: keep none on disk). A candidate is redacted
    and leak-scanned like a recording before it is written: the release under test may send
    credentials or personal data the recording never held."""
    redaction: redact.RedactionPolicy | None = None
    """The policy candidates written to ``out`` are redacted with (default: the built-in one,
    keyed by ``$RETAKE_REDACTION_KEY``; give the recording's key so equal values keep equal
    tokens)."""
    mutations: tuple[Any, ...] = ()
    """Mutation specs applied to every session (``retake.mutate``'s catalogue)."""
    seed: int = 0
    """Seeds the mutations' random choices."""
    scenario: str | None = None
    """The scenario file these settings came from, if any."""
    expectations: tuple[dict[str, Any], ...] = ()
    """The scenario's expectations, checked on the candidate."""
    compare: bool = False
    """Diff the candidate against the recording (always, when there are expectations)."""
    timelines: bool = False
    """Return both traces as timelines, for reports."""
    results_key: redact.RedactionKey | None = None
    """The key the redacted results use (default: from ``redaction``, else a fresh one)."""
    redact_results: bool = False
    """Redact what the result quotes from the candidate (its answer, error, timeline,
    divergence values and summaries, verdict details, unmatched arguments) with
    ``redaction``, for results that leave the process, as evidence bundles and reports do.
    The diff and the expectations still read the candidate as it is, so a canary a detector
    would rewrite is still caught."""


@dataclass
class ReplayOutcome:
    """One replayed session: what was found, and the candidate trace itself."""

    result: SessionReplay
    candidate: Cassette | None = None


def task_of(cassette: Cassette) -> Task:
    """The task the recorded session ran: its user turns, permission context and tags."""
    turns = tuple(e.text for e in cassette.events if isinstance(e, UserEvent))
    tags = dict(cassette.header.tags)
    return Task(
        user_turns=turns or ("",),
        permission_context=cassette.header.permission_context,
        metadata=tags,
        id=str(tags.get("task")) if tags.get("task") is not None else None,
    )


_AGAIN = 0.5
"""Seconds between further timeouts, for a release that caught the first."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise SessionTimeout in this (main) thread after ``seconds``."""
    usable = (
        seconds is not None
        and seconds > 0
        and threading.current_thread() is threading.main_thread()
        and hasattr(signal, "setitimer")
    )
    if not usable:
        yield
        return

    ended = False

    def expire(signum: int, frame: Any) -> None:
        if not ended:
            raise SessionTimeout(f"the session ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, _AGAIN)  # type: ignore[arg-type]
    try:
        yield
    finally:
        # The timer repeats: it must be disarmed even if it fires while this block runs.
        while True:
            try:
                ended = True
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except SessionTimeout:
                continue


_entrypoints: dict[str, Callable[[Task], Any]] = {}


def _entrypoint(spec: str) -> Callable[[Task], Any]:
    if spec not in _entrypoints:
        _entrypoints[spec] = load_entrypoint(spec)
    return _entrypoints[spec]


def replay_cassette(
    cassette: Cassette, config: ReplayConfig, *, trial: int = 0, source: str = ""
) -> ReplayOutcome:
    """Replay one loaded cassette in this process."""
    started = time.perf_counter()
    entrypoint = _entrypoint(config.agent)
    mutations = mutate.build(config.mutations, config.seed)
    task = task_of(cassette)
    for mutation in mutations:
        task = mutation.task(task)
    release_tools = [capture.spec_of(fn) for fn in getattr(entrypoint, "tools", ())]
    wiring = player.wiring_drift(cassette.header.tools, release_tools) if release_tools else []
    snapshots: list[capture.Snapshot] = []
    recording = capture.RecordingSession(snapshots.append, task)
    for mutation in mutations:
        if mutation.spec.family in ("permissions", "turns"):
            recording.note(
                f"mutation {mutation.name}: {mutation.describe()}",
                level="mutation",
                call_id=None,
                data={"mutation": mutation.name},
            )
    answering = player.Player(
        cassette,
        recording,
        model=config.model,
        matchers=config.matchers,
        unmatched=config.unmatched,
        mutations=mutations,
        render=capture.render_model_event,
    )
    status: Any = "completed"
    answer: str | None = None
    error: str | None = None
    raised: str | None = None
    guard = (
        player.network_guard(allow_loopback=config.model == "scripted")
        if config.model != "live"
        else _nothing()
    )
    with capture.activate(answering), guard:
        try:
            with _deadline(config.timeout):
                reply = entrypoint(task)
            recording.output(reply)
            answer = reply if isinstance(reply, str) else repr(reply)
        except SessionTimeout as exc:
            status, error = "timeout", str(exc)
            recording.error(exc)
        except SystemExit as exc:  # the release called sys.exit(): this session ends, the run not
            status, error = "raised", f"the release called sys.exit({exc.code!r})"
            raised = _qualified(exc)
            recording.error(exc)
        except Exception as exc:
            status, error = "raised", f"{type(exc).__name__}: {exc}"
            raised = _qualified(exc)
            recording.error(exc)
    events = [capture.build_event(s) for s in snapshots]
    drift = list(answering.request_drift)
    recorded_models = [e for e in cassette.events if isinstance(e, ModelEvent)]
    live_models = [e for e in events if isinstance(e, ModelEvent)]
    for index, (old, new) in enumerate(zip(recorded_models, live_models, strict=False)):
        if new.provider is not None and (
            found := player.request_drift(index, old.request, new.request)
        ):
            drift.append(found)
    header = CassetteHeader(
        session_id=f"{cassette.header.session_id}.replay-{trial}",
        agent=config.agent,
        release=str(getattr(entrypoint, "release_id", config.agent)),
        recorded_at=datetime.now(UTC),
        permission_context=task.permission_context,
        tools=tuple(release_tools) or cassette.header.tools,
        redaction=cassette.header.redaction,
        source="replay",
        tags={
            **cassette.header.tags,
            "replay_of": cassette.header.session_id,
            "trial": trial,
            "model": config.model,
            "mutations": [m.describe() for m in mutations],
        },
    )
    candidate = Cassette(header=header, events=tuple(events))
    unmatched = _locate_unmatched(answering.unmatched, candidate)
    shown: Cassette | None = None
    unredacted = ""
    if config.out is not None or config.redact_results:
        try:
            redactor = (
                redact.Redactor(config.redaction)
                if config.out is not None
                else redact.Redactor(
                    config.redaction, key=config.results_key or results_key(config.redaction)
                )
            )
            shown = redact.redact_cassette(candidate, redactor)
        except (RetakeError, RecursionError) as exc:
            unredacted = str(exc) or type(exc).__name__
    written: str | None = None
    if config.out is not None:
        target = config.out / candidate_name(source or header.session_id, config.scenario, trial)
        try:
            if shown is None:
                raise RetakeError(f"it could not be redacted: {unredacted}")
            config.out.mkdir(parents=True, exist_ok=True)
            save_scanned(shown, target, redactor.policy, overwrite=True)
            written = str(target)
        except RetakeError as exc:
            note = f"the candidate trace was not written: {exc}"
            error = note if error is None else f"{error}; {note}"
    quoter = None
    if config.redact_results and shown is not None:
        try:
            quoter = Quoter(candidate, shown, redactor)
        except (RetakeError, RecursionError) as exc:
            unredacted = str(exc) or type(exc).__name__
    report = None
    verdicts: list[Any] = []
    canaries = tuple(m.canary for m in mutations if m.canary)
    if config.compare or config.expectations:
        report = diff.diff(
            cassette,
            candidate,
            canaries=canaries,
            wiring=wiring,
            shown=shown if quoter is not None else None,
        )
    if config.expectations:
        trace = expect.Trace(candidate, cassette, canaries, report.divergences if report else ())
        verdicts = expect.check(config.expectations, trace)
    ended = _ended_raising(cassette)
    result = SessionReplay(
        cassette=source,
        session_id=cassette.header.session_id,
        trial=trial,
        status=status,
        answer=answer,
        error=error,
        raised=raised,
        recorded_raised=None if ended is None else ended.type,
        recorded_error=None if ended is None else ended.message,
        wiring=tuple(wiring),
        unmatched=unmatched,
        request_drift=tuple(drift),
        mutations=tuple(m.describe() for m in mutations),
        canaries=canaries,
        scenario=config.scenario,
        verdicts=tuple(verdicts),
        divergences=report.divergences if report else (),
        signals=(
            {"recorded": expect.signals(cassette), "candidate": expect.signals(candidate)}
            if config.timelines
            else {}
        ),
        recorded_steps=_timeline(cassette) if config.timelines else (),
        candidate_steps=_timeline(candidate) if config.timelines else (),
        candidate=written,
        events=len(events),
        seconds=round(time.perf_counter() - started, 6),
    )
    if config.redact_results:
        result = (
            _withheld(result, unredacted)
            if quoter is None
            else _quoted(result, quoter, timelines=config.timelines)
        )
    return ReplayOutcome(result, candidate)


def candidate_name(cassette: str, scenario: str | None, trial: int) -> str:
    """The file a replay's candidate is written to in ``--out``: named for the scenario when
    there is one (several scenarios share a cassette), else for the cassette."""
    stem = Path(scenario).stem if scenario else Path(cassette).name.removesuffix(store.SUFFIX)
    return f"{stem}.trial-{trial}{store.SUFFIX}"


def _quoted(result: SessionReplay, quoter: Quoter, *, timelines: bool) -> SessionReplay:
    """The result with what it quotes from the candidate redacted (the divergences were
    diffed with the redacted copy shown)."""
    shown = quoter.shown
    answer = result.answer
    if answer is not None:
        said = next((e for e in quoter.candidate.events if e.kind == "output"), None)
        answer = (
            shown.events[said.seq].text  # type: ignore[union-attr]
            if said is not None and said.text == answer
            else quoter.text(answer)
        )
    unmatched = []
    for call in result.unmatched:
        made = shown.events[call.seq] if call.seq < len(shown.events) else None
        arguments = (
            made.arguments
            if isinstance(made, ToolCallEvent) and made.tool == call.tool
            else quoter.value(call.arguments)
        )
        nearest = tuple(
            c.model_copy(update={"failed": quoter.text(c.failed)}) for c in call.nearest
        )
        live, _, rest = (call.explanation or "").partition("\n")
        if live.startswith("live call"):  # the player's first line: said again, redacted
            live = f"live call   {call.tool}({player.canonical(arguments)})"
        explanation = "\n".join(x for x in (live, quoter.text(rest)) if x)
        unmatched.append(
            call.model_copy(
                update={"arguments": arguments, "nearest": nearest, "explanation": explanation}
            )
        )
    return result.model_copy(
        update={
            "answer": answer,
            "error": quoter.text(result.error),
            "unmatched": tuple(unmatched),
            "request_drift": tuple(
                d.model_copy(update={"detail": quoter.text(d.detail) or ""})
                for d in result.request_drift
            ),
            "verdicts": tuple(
                v.model_copy(update={"detail": quoter.text(v.detail) or ""})
                for v in result.verdicts
            ),
            "divergences": tuple(_quoted_divergence(d, quoter) for d in result.divergences),
            "candidate_steps": _timeline(shown) if timelines else (),
        }
    )


def _quoted_divergence(divergence: Divergence, quoter: Quoter) -> Divergence:
    """Paths and summaries name the candidate's keys too (the values come redacted from the
    diff already)."""
    changes = tuple(
        c.model_copy(update={"path": quoter.text(c.path), "summary": quoter.text(c.summary)})
        for c in divergence.changes
    )
    return divergence.model_copy(
        update={"summary": quoter.text(divergence.summary), "changes": changes}
    )


def _withheld(result: SessionReplay, why: str) -> SessionReplay:
    """The result without anything it would quote from a candidate that could not be
    redacted: its kinds, steps, severities and verdicts stay, its texts and values go."""
    gone = f"withheld: the candidate trace could not be redacted ({why})"
    return result.model_copy(
        update={
            "answer": None if result.answer is None else gone,
            "error": None if result.error is None else gone,
            "unmatched": tuple(
                c.model_copy(update={"arguments": {}, "nearest": (), "explanation": gone})
                for c in result.unmatched
            ),
            "request_drift": tuple(
                d.model_copy(update={"detail": gone}) for d in result.request_drift
            ),
            "verdicts": tuple(v.model_copy(update={"detail": gone}) for v in result.verdicts),
            "divergences": tuple(
                d.model_copy(update={"summary": f"{d.kind}; {gone}", "changes": ()})
                for d in result.divergences
            ),
            "candidate_steps": (),
        }
    )


def _qualified(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


def _ended_raising(cassette: Cassette) -> ErrorEvent | None:
    """The error a recorded session ended with, if it did."""
    last = cassette.events[-1] if cassette.events else None
    return last if isinstance(last, ErrorEvent) else None


def raised_unlike_recording(result: SessionReplay) -> bool:
    """Whether the release raised although its recording did not end raising the same
    exception class. A release that raises as the recorded session did (an incident replayed
    before it is fixed) is not a failure of the replay; the class is compared by name, so an
    exception moved to another module still counts as the same."""
    if result.status != "raised":
        return False
    if result.recorded_raised is None:
        return True
    return result.recorded_raised.rpartition(".")[2] != (result.raised or "").rpartition(".")[2]


def _locate_unmatched(
    unmatched: list[UnmatchedCall], candidate: Cassette
) -> tuple[UnmatchedCall, ...]:
    """Each unmatched call with the step of its tool call in the candidate trace (the player
    decides before the call is recorded, so it cannot know the step itself)."""
    steps: list[int] = []
    waiting = False
    for event in candidate.events:
        if isinstance(event, NoteEvent) and event.level == "replay" and "unmatched" in event.data:
            waiting = True
        elif waiting and isinstance(event, ToolCallEvent):
            steps.append(event.seq)
            waiting = False
    return tuple(
        call.model_copy(update={"seq": step}) if step is not None else call
        for call, step in itertools.zip_longest(unmatched, steps[: len(unmatched)])
        if call is not None
    )


def _timeline(cassette: Cassette) -> tuple[Step, ...]:
    rows = []
    for event in cassette.events:
        tool, detail, status = report.event_summary(event, 120)
        rows.append(Step(seq=event.seq, kind=event.kind, tool=tool, detail=detail, status=status))
    return tuple(rows)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def replay_path(path: Path | str, config: ReplayConfig, *, trial: int = 0) -> SessionReplay:
    """Replay one cassette file; a file that cannot be loaded is an ``invalid`` result."""
    try:
        cassette = store.load(path, allow_truncated=config.allow_truncated)
    except RetakeError as exc:
        return SessionReplay(cassette=str(path), trial=trial, status="invalid", error=str(exc))
    return replay_cassette(cassette, config, trial=trial, source=str(path)).result


# --- many sessions ----------------------------------------------------------------------------


Job = tuple[str, int, ReplayConfig]
"""One session to run: a cassette, a trial, and how."""


def _worker(inbox: Any, outbox: Any, current: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    with settled() as settle:
        while True:
            item = inbox.get()
            if item is None:
                return
            index, path, trial, config = item
            # Shared memory, written before the session starts: if this process dies at any
            # point from here on, the parent knows which session it was running.
            current.value = index
            result = replay_path(path, config, trial=trial)
            outbox.put((index, result.model_dump(mode="json")))
            if result.status != "invalid":  # the agent ran, so it is imported
                settle()


@dataclass
class _Slot:
    process: Any
    current: Any
    """The index of the last session the worker took (shared memory; -1 before any)."""
    since: float = 0.0
    seen: int = -1


@dataclass
class ReplayRun:
    """Every session replayed, in the order given."""

    sessions: list[SessionReplay] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for s in self.sessions if s.status == status)


def jobs(paths: Iterable[Path | str], trials: int = 1) -> Iterator[tuple[str, int]]:
    """Every (cassette, trial) to run: files as given, directories searched, lazily."""
    for given in paths:
        path = Path(given)
        found: Iterable[Path] = (
            sorted(p for p in path.rglob(f"*{store.SUFFIX}") if p.is_file())
            if path.is_dir()
            else [path]
        )
        for cassette in found:
            for trial in range(trials):
                yield str(cassette), trial


def run(
    paths: Iterable[Path | str],
    config: ReplayConfig,
    *,
    trials: int = 1,
    workers: int = 1,
    on_result: Callable[[SessionReplay], None] | None = None,
) -> ReplayRun:
    """Replay every cassette under ``paths`` ``trials`` times, in ``workers`` processes.

    With one worker, sessions run in this process. Results come back in the order given.
    """
    todo = ((path, trial, config) for path, trial in jobs(paths, trials))
    return run_jobs(todo, workers=workers, on_result=on_result)


SCENARIO_SUFFIXES = (".yaml", ".yml")


CROSSWALK = "crosswalk.yaml"
"""The file of a suite folder that maps controls to its scenarios; not a scenario itself."""


def scenario_files(path: Path) -> list[Path]:
    """The scenario files ``path`` names: the file itself, or every one in the folder and its
    subfolders (the crosswalk aside)."""
    if not path.is_dir():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.suffix in SCENARIO_SUFFIXES and p.is_file() and p.name != CROSSWALK
    )


def scenario_jobs(
    paths: Iterable[Path | str],
    agent: str,
    *,
    model: player.ModelMode = "recorded",
    timeout: float | None = 60.0,
    out: Path | None = None,
    redaction: redact.RedactionPolicy | None = None,
    allow_truncated: bool = False,
) -> Iterator[Job]:
    """Every (cassette, trial, settings) of the scenario files under ``paths``, checked
    against their cassettes as they are read (an error names file, line and field)."""
    for given in paths:
        for scenario_file in scenario_files(Path(given)):
            loaded = mutate.load_scenario(scenario_file)
            loaded.check(store.load(loaded.cassette_path, allow_truncated=allow_truncated))
            try:
                expect.parse(loaded.scenario.expectations)
            except ValueError as exc:
                where = str(exc).split(":")[0].removeprefix("expectations.")
                index = where.partition(".")[0]  # expectations.0 or expectations.0.tool
                line = loaded.lines.get(
                    ("expectations", int(index)) if index.isdigit() else (), "?"
                )
                raise InputFileError(
                    f"scenario {str(scenario_file)!r}, line {line}, field {exc}", path=scenario_file
                ) from exc
            scenario = loaded.scenario
            config = ReplayConfig(
                agent=agent,
                model=scenario.model or model,
                timeout=timeout,
                out=out,
                redaction=redaction,
                allow_truncated=allow_truncated,
                mutations=scenario.mutations,
                seed=scenario.seed,
                scenario=str(scenario_file),
                expectations=scenario.expectations,
            )
            for trial in range(scenario.trials):
                yield str(loaded.cassette_path), trial, config


def run_jobs(
    todo: Iterable[Job],
    *,
    workers: int = 1,
    on_result: Callable[[SessionReplay], None] | None = None,
) -> ReplayRun:
    """Run sessions, each with its own settings (a suite's scenarios), in ``workers``
    processes; results come back in the order given."""
    if workers <= 1:
        results: list[SessionReplay] = []
        with settled() as settle:
            for path, trial, config in todo:
                results.append(replay_path(path, config, trial=trial))
                if results[-1].status != "invalid":  # the agent ran, so it is imported
                    settle()
                if on_result is not None:
                    on_result(results[-1])
        return ReplayRun(results)
    return _Pool(workers, on_result).run(iter(todo))


class _Pool:
    """Worker processes fed from a bounded queue; a dead or overdue worker's session is
    recorded as crashed or timed out, and the worker replaced."""

    def __init__(
        self,
        workers: int,
        on_result: Callable[[SessionReplay], None] | None,
    ) -> None:
        self.workers = workers
        self.on_result = on_result
        # Workers fork from this process while it runs no other thread (the CLI's case): they
        # start at once, with retake and the agent already imported. Forking a process that
        # has threads running (the recorder's writers, the demo's model server, the queues'
        # feeders) can leave a lock held for ever in the child, so from then on workers fork
        # from a fork server that imports retake and the agent once.
        self.context = mp.get_context("forkserver")
        self.inbox: Any = self.context.Queue(maxsize=workers * 4)
        self.outbox: Any = self.context.Queue()
        self.slots: list[_Slot] = []
        self.jobs: dict[int, Job] = {}
        self.results: dict[int, SessionReplay] = {}

    def _start(self) -> None:
        current = self.context.Value("q", -1, lock=False)
        alone = threading.active_count() == 1 and "fork" in mp.get_all_start_methods()
        context = mp.get_context("fork") if alone else self.context
        process = context.Process(
            target=_worker, args=(self.inbox, self.outbox, current), daemon=True
        )
        process.start()
        self.slots.append(_Slot(process, current))

    def _record(self, index: int, result: SessionReplay) -> None:
        if index in self.results:
            return
        self.results[index] = result
        if self.on_result is not None:
            self.on_result(result)

    def run(self, todo: Iterator[Job]) -> ReplayRun:
        first = next(todo, None)
        if first is None:
            return ReplayRun()
        todo = itertools.chain([first], todo)
        agent = first[2].agent
        self.context.set_forkserver_preload(["retake.runner", agent.partition(":")[0]])
        # Imported here once, so workers forked from this process have it, and an agent that
        # cannot load stops the run before any worker starts, as it does in one process.
        _entrypoint(agent)
        for _ in range(self.workers):
            self._start()
        pending = enumerate(todo)
        held: tuple[int, Job] | None = None
        exhausted = False
        try:
            while not (exhausted and len(self.results) == len(self.jobs)):
                # Top the inbox up without waiting (never the whole suite: it is bounded).
                while not exhausted:
                    if held is None:
                        held = next(pending, None)
                        if held is None:
                            exhausted = True
                            for _ in self.slots:
                                self.inbox.put(None)
                            break
                    index, job = held
                    try:
                        self.inbox.put_nowait((index, *job))
                    except queue.Full:
                        break
                    self.jobs[index] = job
                    held = None
                # Then take every result that is in, waiting a little only when none is.
                try:
                    index, payload = self.outbox.get(timeout=0.05)
                except queue.Empty:
                    self._reap(exhausted)
                    continue
                self._record(index, SessionReplay.model_validate(payload))
                with contextlib.suppress(queue.Empty):
                    while True:
                        index, payload = self.outbox.get_nowait()
                        self._record(index, SessionReplay.model_validate(payload))
        finally:
            for slot in self.slots:
                if slot.process.is_alive():
                    slot.process.terminate()
                slot.process.join(timeout=5)
        return ReplayRun([self.results[i] for i in sorted(self.results)])

    def _reap(self, exhausted: bool) -> None:
        now = time.monotonic()
        for slot in list(self.slots):
            index = int(slot.current.value)
            if index != slot.seen:
                slot.seen, slot.since = index, now
            busy = index >= 0 and index not in self.results
            timeout = self.jobs[index][2].timeout if busy else None
            overdue = busy and timeout is not None and now - slot.since > timeout * 2 + 30
            if slot.process.is_alive() and not overdue:
                continue
            if overdue:
                slot.process.kill()
            slot.process.join(timeout=5)
            self.slots.remove(slot)
            if busy:
                path, trial, _ = self.jobs[index]
                self._record(
                    index,
                    SessionReplay(
                        cassette=path,
                        trial=trial,
                        status="timeout" if overdue else "crashed",
                        error=(
                            "the session did not finish and its worker was stopped"
                            if overdue
                            else f"the worker process died (exit code {slot.process.exitcode})"
                        ),
                    ),
                )
            if busy or not exhausted:  # a worker that ended on the stop sentinel stays gone
                self._start()
                if exhausted:
                    self.inbox.put(None)


def replay(
    paths: Sequence[Path | str] | Path | str,
    *,
    agent: str,
    model: player.ModelMode = "recorded",
    trials: int = 1,
    workers: int = 1,
    timeout: float | None = 60.0,
    out: Path | str | None = None,
    redaction: redact.RedactionPolicy | None = None,
    matchers: Sequence[player.MatcherName] = player.DEFAULT_MATCHERS,
    unmatched: player.Unmatched = "error",
) -> ReplayRun:
    """Replay cassettes (files or directories) against the release ``agent``. Candidates
    written to ``out`` are redacted with ``redaction`` first; ``matchers`` and ``unmatched``
    decide how tool calls find their recorded answers (see ``ReplayConfig``)."""
    given = [paths] if isinstance(paths, str | Path) else list(paths)
    config = ReplayConfig(
        agent=agent,
        model=model,
        timeout=timeout,
        out=Path(out) if out is not None else None,
        redaction=redaction,
        matchers=tuple(matchers),
        unmatched=unmatched,
    )
    return run(given, config, trials=trials, workers=workers)
