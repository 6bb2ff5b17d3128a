"""The one place where stages meet: capture -> redact -> store, for recording.

Stages never import each other; this module composes them.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from retake import capture, redact, store
from retake._values import strings
from retake.errors import RetakeError
from retake.schema import Cassette, CassetteHeader, Event, Task, ToolSpec

T = TypeVar("T")
_log = logging.getLogger("retake")


def load_entrypoint(spec: str) -> Callable[[Task], Any]:
    """Import ``module:function``, the release's entrypoint."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise RetakeError(
            f"entrypoint={spec!r} is not of the form module:function (for example "
            "retake.demo:release_1)."
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise RetakeError(
            f"cannot import module {module_name!r} of entrypoint {spec!r}: {exc}. Is the "
            "agent's package installed, or its folder on PYTHONPATH?"
        ) from exc
    except Exception as exc:  # the agent's own import failed: its bug, told plainly
        raise RetakeError(
            f"importing module {module_name!r} of entrypoint {spec!r} raised "
            f"{type(exc).__name__}: {exc}. Fix the agent's module (try `python -c 'import "
            f"{module_name}'`); no session ran."
        ) from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise RetakeError(f"module {module_name!r} has no attribute {attribute!r}.")
        target = getattr(target, part)
    if not callable(target):
        raise RetakeError(f"entrypoint {spec!r} is not callable.")
    return target  # type: ignore[no-any-return]


class Recorder:
    """Records agent sessions as redacted cassettes in ``directory``.

    ``recorder.session(task)`` is a context manager (and ``recorder`` a decorator of
    ``agent(task)``). Sessions live in context variables, so threads and asyncio tasks record
    side by side. The agent's thread only freezes values and queues them; building events,
    redaction, encoding and file I/O happen on each session's writer thread, and a cassette in
    which the leak scan still finds a secret is never published.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        agent: str,
        release: str,
        redaction: redact.Redactor | redact.RedactionPolicy | None = None,
        sample_rate: float = 1.0,
        tools: Iterable[Callable[..., Any]] = (),
        tags: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate={sample_rate!r}; give a fraction from 0 to 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.agent = agent
        self.release = release
        if isinstance(redaction, redact.Redactor):
            self.redactor = redaction
        else:
            self.redactor = redact.Redactor(redaction)
        self.sample_rate = sample_rate
        self.tools: tuple[ToolSpec, ...] = tuple(capture.spec_of(fn) for fn in tools)
        self.tags = dict(tags or {})
        self.overwrite = overwrite
        self.pending: set[Future[Path]] = set()
        """Finalisations still running on writer threads; ``wait()`` joins them."""
        self.failures: list[BaseException] = []
        """Sessions that could not be published (a leak the scan found, a full disk)."""

    def _header(self, task: Task, session_id: str) -> CassetteHeader:
        header = CassetteHeader(
            session_id=session_id,
            agent=self.agent,
            release=self.release,
            recorded_at=datetime.now(UTC),
            permission_context=task.permission_context,
            tools=self.tools,
            tags={**self.tags, **task.metadata, **({"task": task.id} if task.id else {})},
        )
        data = header.model_dump(mode="python", exclude={"redaction"})
        redacted = self.redactor.redact(data, path="header", labels=("header",))
        return CassetteHeader.model_validate(redacted) if redacted is not data else header

    @contextmanager
    def session(
        self, task: Task | str, *, session_id: str | None = None
    ) -> Iterator[capture.RecordingSession | None]:
        """Record one session of the agent on ``task`` (a Task, or just the user's prompt).

        Yields the recording session (``None`` when sampling skipped this one); call
        ``.output(answer)`` on it to record the answer. An exception leaving the block is
        recorded as an ``error`` event and re-raised.
        """
        if isinstance(task, str):
            task = Task(user_turns=(task,))
        if self.sample_rate < 1.0 and random.random() >= self.sample_rate:
            yield None
            return
        session_id = session_id or uuid.uuid4().hex
        header = self._header(task, session_id)
        tally = redact.Tally()
        redactor = self.redactor

        def prepare(snapshot: capture.Snapshot) -> Event:
            return redact.redact_event(capture.build_event(snapshot), redactor, tally)

        writer = store.CassetteWriter(
            self.directory / f"{session_id}{store.SUFFIX}",
            header,
            prepare=prepare,
            overwrite=self.overwrite,
        )
        session = capture.RecordingSession(writer.append, task, flush=writer.flush)

        def scan(cassette: Cassette) -> None:
            redact.assert_no_leaks(cassette, policy=redactor.policy)

        def amend() -> dict[str, Any]:
            listed = {spec.name for spec in header.tools}
            used = [
                capture.spec_of_info(info)
                for name, info in sorted(session.tools_used.items())
                if name not in listed
            ]
            return {
                "redaction": redactor.manifest(tally).model_dump(mode="json"),
                "tools": [spec.model_dump(mode="json") for spec in (*header.tools, *used)],
            }

        try:
            with capture.activate(session):
                yield session
        except BaseException as exc:
            session.error(exc)
            raise
        finally:
            future = writer.finalise_later(check=scan, amend=amend)
            session.published = future
            self.pending.add(future)
            future.add_done_callback(self._finished)

    def _finished(self, future: Future[Path]) -> None:
        self.pending.discard(future)
        error = future.exception()
        if error is not None:
            self.failures.append(error)
            _log.error("retake could not publish a recorded session: %s", error)

    def __call__(self, agent: Callable[[Task], T]) -> Callable[[Task], T]:
        """Decorate ``agent(task)`` so every call is recorded, answer included."""

        @wraps(agent)
        def recorded(task: Task) -> T:
            with self.session(task) as session:
                answer = agent(task)
                if session is not None:
                    session.output(answer)
                return answer

        return recorded

    def wait(self) -> None:
        """Wait until every session so far is finalised; raise the first failure, if any."""
        for future in list(self.pending):
            with contextlib.suppress(BaseException):
                future.result()
        if self.failures:
            error = self.failures[0]
            self.failures.clear()
            raise error


@dataclass(frozen=True)
class TaskRecording:
    """How recording one task went."""

    task: Task
    path: Path | None
    """The cassette, or ``None`` when it could not be stored."""
    answered: bool
    """False when the agent raised (the cassette then ends with an ``error`` event)."""
    detail: str
    """The answer, the agent's error, or why the cassette was not stored."""
    events: int = 0


def record(
    agent: str,
    tasks: Iterable[Task],
    out: Path | str,
    *,
    release: str | None = None,
    redaction: redact.Redactor | redact.RedactionPolicy | None = None,
    overwrite: bool = False,
    on_task: Callable[[TaskRecording], None] | None = None,
) -> list[TaskRecording]:
    """Run the entrypoint ``agent`` (``module:function``) over ``tasks``, one cassette each.

    A task whose agent raises is recorded as such and the run goes on; so does one whose
    cassette cannot be stored (the leak scan refused it), with the reason in its result.
    """
    entrypoint = load_entrypoint(agent)
    recorder = Recorder(
        out,
        agent=agent,
        release=release or str(getattr(entrypoint, "release_id", agent)),
        redaction=redaction,
        tools=getattr(entrypoint, "tools", ()),
        overwrite=overwrite,
    )
    results: list[TaskRecording] = []
    for task in tasks:
        answered, detail = True, ""
        session: capture.RecordingSession | None = None
        try:
            with recorder.session(task, session_id=task.id) as session:
                answer = entrypoint(task)
                if session is not None:
                    session.output(answer)
                detail = answer if isinstance(answer, str) else repr(answer)
        except Exception as exc:
            answered, detail = False, f"{type(exc).__name__}: {exc}"
        path: Path | None = None
        events = 0
        if session is not None and session.published is not None:
            try:
                path = session.published.result()
                events = store.inspect(path).events
            except Exception as exc:
                detail = f"not stored: {exc}"
        result = TaskRecording(task, path, answered, detail, events)
        results.append(result)
        if on_task is not None:
            on_task(result)
    recorder.failures.clear()  # reported per task above
    return results


# --- import: sources that already exist -> redact -> store ------------------------------------

# Imported with the section they serve. The importers never import capture: the provider
# adapters that read vcrpy cassettes' model traffic are handed to them from here.
from retake import importers  # noqa: E402
from retake.capture._providers import parse_exchange as _parse_exchange  # noqa: E402
from retake.capture._providers._sse import (  # noqa: E402
    looks_like_event_stream as _looks_like_event_stream,
)


@dataclass(frozen=True)
class FileImport:
    """How importing one source file went."""

    file: Path
    format: str | None
    """The format it was read as; ``None`` when it could not be read."""
    cassettes: tuple[Path, ...] = ()
    """The cassettes written, one per session."""
    events: dict[str, int] | None = None
    """Events written, by kind."""
    skipped: tuple[importers.Skipped, ...] = ()
    """Items (and sessions) left out, with the reason."""
    error: str | None = None
    """Why the file could not be imported at all."""
    size: int = 0
    """Bytes of source read."""


@dataclass(frozen=True)
class ImportReport:
    """What ``import_paths`` did, file by file."""

    files: tuple[FileImport, ...]

    @property
    def sessions(self) -> int:
        return sum(len(f.cassettes) for f in self.files)

    @property
    def events_by_kind(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for f in self.files:
            for kind, n in (f.events or {}).items():
                total[kind] = total.get(kind, 0) + n
        return dict(sorted(total.items()))

    @property
    def skipped(self) -> list[importers.Skipped]:
        return [s for f in self.files for s in f.skipped]

    @property
    def failed(self) -> list[FileImport]:
        return [f for f in self.files if f.error is not None]


@dataclass(frozen=True)
class StreamScan:
    """What ``scan_streams`` found, and the streamed exchanges it could not read whole."""

    findings: list[redact.Finding]
    unread: list[str]
    """One line per streamed exchange left to the raw scan alone: where, and why."""


def scan_streams(data: Any, *, policy: redact.RedactionPolicy | None = None) -> StreamScan:
    """What a detector finds in the streamed model answers of a vcrpy cassette, read whole.

    A streamed answer arrives in pieces, one delta per event of the stream, and a secret the
    model wrote can be split across two of them, out of reach of a scan of the raw text. Each
    streamed exchange of a provider the adapters know (OpenAI Chat Completions and Responses,
    Anthropic Messages) is read back with its text and tool-call arguments joined, and that
    is scanned; paths name it ``interactions[i].response.stream``. A finding the raw text of
    the same response shows as often already is left out. Not a vcrpy cassette: nothing.
    ``policy`` adds its detectors and rules to the built-in ones (see ``redact.scan``).
    """
    found: list[redact.Finding] = []
    unread: list[str] = []
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        return StreamScan(found, unread)
    for i, interaction in enumerate(interactions):
        where = f"interactions[{i}]"
        if not isinstance(interaction, dict):
            continue
        request, response = interaction.get("request"), interaction.get("response")
        if not isinstance(request, dict) or not isinstance(response, dict):
            continue
        try:
            _, headers, body = importers.vcr_response_parts(response)
            text = body.decode("utf-8", errors="replace")
            if not _looks_like_event_stream(headers.get("content-type"), text):
                continue
            method, url = str(request.get("method", "")), str(request.get("uri", ""))
            parsed = _parse_exchange(
                method, url, importers.vcr_request_body(request), body, headers
            )
            if parsed is None:
                continue
            raw = Counter(
                (f.detector, f.preview)
                for f in redact.scan(response, path=f"{where}.response", policy=policy)
            )
            joined = redact.scan(
                parsed[2].model_dump(mode="python"),
                path=f"{where}.response.stream",
                policy=policy,
            )
        except Exception as exc:  # an optional second look: the raw scan covered the text
            unread.append(f"{where}: the stream could not be read whole ({type(exc).__name__})")
            continue
        for finding in joined:
            seen = (finding.detector, finding.preview)
            if raw[seen]:
                raw[seen] -= 1  # the raw text of this response showed this one already
            else:
                found.append(finding)
    return StreamScan(found, unread)


def find_sources(paths: Iterable[Path | str]) -> list[Path]:
    """Source files named by ``paths``: files as given, folders searched for known suffixes."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in importers.SUFFIXES
            )
        else:
            found.append(path)
    return found


def import_paths(
    paths: Iterable[Path | str],
    out: Path | str,
    *,
    format: str = "auto",
    redaction: redact.Redactor | redact.RedactionPolicy | None = None,
    overwrite: bool = False,
    on_file: Callable[[FileImport], None] | None = None,
) -> ImportReport:
    """Import transcripts, trajectories, vcrpy cassettes or OTel traces as redacted cassettes.

    Each file becomes one cassette per session it holds, redacted like a recording and
    refused, like a recording, when the leak scan still finds something. A file that cannot be
    read is reported with the reason and the run goes on.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    redactor = redaction if isinstance(redaction, redact.Redactor) else redact.Redactor(redaction)
    used: set[str] = set()
    results: list[FileImport] = []
    for source in find_sources(paths):
        try:
            imported = importers.import_file(source, format=format, parse_exchange=_parse_exchange)
        except RetakeError as exc:
            result = FileImport(source, None, error=str(exc))
        else:
            result = _store_imported(imported, out, redactor, used, overwrite)
        results.append(result)
        if on_file is not None:
            on_file(result)
    return ImportReport(tuple(results))


def save_redacted(
    cassette: Cassette, target: Path, redactor: redact.Redactor, *, overwrite: bool = False
) -> Cassette:
    """Write a cassette that was not recorded through a writer (an import, a re-redaction)
    as a recording is written: redacted, and refused by the leak scan if a detector still
    fires on it, in which case nothing is written. Returns what was written."""
    redacted = redact.redact_cassette(cassette, redactor)
    save_scanned(redacted, target, redactor.policy, overwrite=overwrite)
    return redacted


def save_scanned(
    redacted: Cassette,
    target: Path,
    policy: redact.RedactionPolicy | None,
    *,
    overwrite: bool = False,
) -> None:
    """Write a cassette already redacted with ``policy``, unless the leak scan still finds
    something in it."""
    redact.assert_no_leaks(redacted, policy=policy)
    store.save(redacted, target, overwrite=overwrite)


def _store_imported(
    imported: importers.Imported,
    out: Path,
    redactor: redact.Redactor,
    used: set[str],
    overwrite: bool,
) -> FileImport:
    written: list[Path] = []
    events: dict[str, int] = {}
    skipped = list(imported.skipped)
    for cassette in imported.cassettes:
        name, n = cassette.header.session_id, 1
        while name in used:
            n += 1
            name = f"{cassette.header.session_id}-{n}"
        used.add(name)
        if name != cassette.header.session_id:
            header = cassette.header.model_copy(update={"session_id": name})
            cassette = cassette.model_copy(update={"header": header})
        target = out / f"{name}{store.SUFFIX}"
        try:
            redacted = save_redacted(cassette, target, redactor, overwrite=overwrite)
            written.append(target)
        except RetakeError as exc:
            skipped.append(
                importers.Skipped(str(imported.file), f"session {name}", f"not stored: {exc}")
            )
            continue
        for event in redacted.events:
            events[event.kind] = events.get(event.kind, 0) + 1
    return FileImport(
        imported.file, imported.format, tuple(written), events, tuple(skipped), None, imported.size
    )


def results_key(policy: redact.RedactionPolicy | None) -> redact.RedactionKey:
    """The key for what results quote from a candidate (answers, errors, divergence values):
    the policy's when one is configured (a key file that cannot be read is an error here),
    else a fresh one without a warning, since these tokens stand in a report, not in a
    cassette other cassettes are compared to. Made once per run, so a value gets the same
    token in every trial of it."""
    source = (policy or redact.RedactionPolicy()).key
    if source.file is not None or (source.env and os.environ.get(source.env)):
        return redact.RedactionKey.resolve(file=source.file, env=source.env, allow_random=False)
    return redact.RedactionKey.random(warn=False)


class Quoter:
    """Makes what a result quotes from a candidate safe to leave the process, as evidence
    bundles and reports do: with the candidate's redacted copy (``shown``), the values
    redaction changed are replaced wherever a text quotes them whole, field names that mark
    a secret included, and the detectors then run over the text."""

    def __init__(self, candidate: Cassette, shown: Cassette, redactor: redact.Redactor) -> None:
        self.candidate, self.shown = candidate, shown
        self.redactor = redactor
        changed: dict[str, str] = {}
        for raw, red in zip(candidate.events, shown.events, strict=True):
            if raw is not red:
                _changed_strings(raw.model_dump(mode="python"), red.model_dump(), changed)
        for raw_text, red_text in list(changed.items()):  # as JSON and repr() quote them
            for spelled in (json.dumps(raw_text)[1:-1], repr(raw_text)[1:-1]):
                changed.setdefault(spelled, red_text)
        # Longest first, so a value that holds another is replaced whole.
        self._changed = sorted(changed.items(), key=lambda item: -len(item[0]))

    def text(self, text: str | None) -> str | None:
        if not text:
            return text
        for raw, red in self._changed:
            if raw in text:
                text = text.replace(raw, red)
        return self.redactor.redact_text(text)

    def value(self, value: Any) -> Any:
        return self.redactor.redact(value)


_QUOTED_WHOLE = 3
"""Values shorter than this are not replaced inside texts (they would match everywhere)."""


def _changed_strings(raw: Any, red: Any, out: dict[str, str]) -> None:
    """Every string of ``raw`` (values and keys) that redaction changed in ``red``, and what
    it became (a subtree a field rule masked whole: each of its strings, and the mask)."""
    if isinstance(raw, str):
        if raw != red and len(raw) >= _QUOTED_WHOLE:
            out[raw] = red if isinstance(red, str) else "<REDACTED>"
        return
    if isinstance(raw, dict):
        if isinstance(red, dict) and len(red) == len(raw):  # redaction keeps the order
            for (key, item), (red_key, red_item) in zip(raw.items(), red.items(), strict=True):
                _changed_strings(key, red_key, out)
                _changed_strings(item, red_item, out)
            return
    elif isinstance(raw, list | tuple):
        if isinstance(red, list | tuple) and len(red) == len(raw):
            for item, other in zip(raw, red, strict=True):
                _changed_strings(item, other, out)
            return
    else:
        return
    for piece in strings(raw, keys=True):  # masked whole
        if len(piece) >= _QUOTED_WHOLE:
            out[piece] = red if isinstance(red, str) else "<REDACTED>"
