"""Writing cassettes: a streaming writer that never blocks the agent, and whole-file saves.

The streaming writer appends frames to ``NAME.retake.partial`` from a background thread: the
agent's thread only puts events on a queue. Each batch the thread takes off the queue is
written with one system call, so a process killed at any point leaves a file that loads, with
``allow_truncated``, up to the last batch written. Finalising writes the footer, fsyncs, and
renames the file into place atomically, so a finalised name always holds a complete cassette.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from retake.errors import CassetteExists, WriterError
from retake.schema import Cassette, CassetteHeader, Event

from . import _format
from ._codec import Encoder
from ._reader import loads, read_bytes

Check = Callable[[Cassette], None]
"""Called with the whole cassette before it is finalised; raising refuses to finalise."""
Prepare = Callable[[Any], Event]
"""Turns what ``append`` was given into an event, on the writer thread."""

_STOP = object()

Amend = dict[str, Any] | Callable[[], dict[str, Any]]
"""Header fields to replace at the end, or a function returning them."""


@dataclass(frozen=True)
class _Finish:
    check: Check | None
    amend: Amend | None
    future: Future[Path]


def partial_path(path: Path) -> Path:
    """Where a recording bound for ``path`` is written until it finalises."""
    return path.with_name(path.name + _format.PARTIAL_SUFFIX)


def final_path(partial: Path) -> Path:
    """The finalised name of a ``.partial`` recording."""
    name = partial.name.removesuffix(_format.PARTIAL_SUFFIX)
    if name == partial.name:
        raise ValueError(f"{str(partial)!r} does not end in {_format.PARTIAL_SUFFIX!r}")
    return partial.with_name(name)


class _FrameSink:
    """Frames bytes and keeps the running sha256 that the footer needs."""

    def __init__(self, header: CassetteHeader) -> None:
        self.encoder = Encoder(header.format_version)
        self.events = 0
        self.sha = hashlib.sha256()
        self.pending: list[bytes] = []
        self._add(_format.preamble(header.format_version))
        self._add(
            _format.frame(_format.HEADER, _pack_or_explain(header_data(header), "the header"))
        )

    def _add(self, chunk: bytes) -> None:
        self.sha.update(chunk)
        self.pending.append(chunk)

    def event(self, event: Event) -> None:
        if event.seq != self.events:
            raise WriterError(
                f"event {event.kind!r} has seq={event.seq}, but the cassette expects "
                f"seq={self.events} next; number events 0, 1, 2, ... in the order appended."
            )
        payload = _pack_or_explain(self.encoder.encode(event), f"event {event.seq} ({event.kind})")
        self._add(_format.frame(_format.EVENT, payload))
        self.events += 1

    def amend(self, update: dict[str, Any]) -> None:
        self._add(_format.frame(_format.AMEND, _format.pack(update)))

    def footer(self, **extra: Any) -> bytes:
        payload = _format.pack({"events": self.events, "sha256": self.sha.hexdigest(), **extra})
        return _format.frame(_format.FOOTER, payload)

    def take(self) -> bytes:
        chunk = b"".join(self.pending)
        self.pending.clear()
        return chunk


def header_data(header: CassetteHeader) -> dict[str, Any]:
    """The header as it is packed: Python values (bytes stay bytes, inf stays inf), with the
    one value msgpack has no plain type for, the timestamp, as ISO 8601 text."""
    data = header.model_dump()
    data["recorded_at"] = header.recorded_at.isoformat()
    return data


def _pack_or_explain(value: Any, what: str) -> bytes:
    try:
        return _format.pack(value)
    except (TypeError, ValueError, OverflowError) as exc:  # UnicodeEncodeError is a ValueError
        raise WriterError(
            f"{what} cannot be stored: {exc}. Cassettes hold JSON-like data (maps, lists, "
            "text, numbers that fit in 64 bits, bytes); convert the value before recording it."
        ) from exc


def dumps(cassette: Cassette) -> bytes:
    """The bytes of a finalised cassette file."""
    sink = _FrameSink(cassette.header)
    for event in cassette.events:
        sink.event(event)
    return sink.take() + sink.footer()


def save(cassette: Cassette, path: Path | str, *, overwrite: bool = False) -> Path:
    """Write a whole cassette to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise CassetteExists(_exists_message(path), path=path)
    _write_atomically(dumps(cassette), path, overwrite=overwrite)
    return path


def repair(path: Path | str, *, overwrite: bool = False) -> tuple[Path, int]:
    """Finalise a recording that never finished: keep every intact event, add a footer.

    The surviving frames are kept byte for byte. Returns the finalised path and the number of
    events kept. A complete cassette is left alone.
    """
    path, data = read_bytes(path)
    cassette = loads(data, allow_truncated=True, path=path)  # validates what survives
    if not cassette.truncated:
        return path, len(cassette.events)
    scan = _format.scan(data, path)
    kept = data[: scan.frames[-1].end]
    events = len(cassette.events)
    payload = _format.pack(
        {"events": events, "sha256": hashlib.sha256(kept).hexdigest(), "repaired": True}
    )
    target = final_path(path) if path.name.endswith(_format.PARTIAL_SUFFIX) else path
    if target != path and target.exists() and not overwrite:
        raise CassetteExists(_exists_message(target), path=target)
    # In place too, the rename replaces the torn file whole: a write that dies leaves it intact.
    _write_atomically(
        kept + _format.frame(_format.FOOTER, payload), target, overwrite=overwrite or target == path
    )
    if target != path:
        try:
            path.unlink()
        except OSError as exc:
            raise WriterError(
                f"repaired {str(path)!r} into {str(target)!r}, which holds all {events} events, "
                f"but could not remove {str(path)!r} ({exc.strerror or exc}); remove it yourself."
            ) from exc
        _fsync_dir(target.parent)
    return target, events


class CassetteWriter:
    """Streams one session into a cassette file from a background thread.

    ``append`` only puts the event on a queue: the caller's thread never touches the file.
    Use it as a context manager, or call ``finalise`` (or ``abort``) yourself. Leaving the
    ``with`` block by an exception keeps the ``.partial`` file, as a crash would: it loads with
    ``allow_truncated`` and ``retake repair`` finalises it.
    """

    def __init__(
        self,
        path: Path | str,
        header: CassetteHeader,
        *,
        overwrite: bool = False,
        prepare: Prepare | None = None,
    ) -> None:
        self.path = Path(path)
        self.header = header
        self.partial = partial_path(self.path)
        if self.path.exists() and not overwrite:
            raise CassetteExists(_exists_message(self.path), path=self.path)
        if self.partial.exists():
            raise CassetteExists(
                f"an unfinished recording already exists at {str(self.partial)!r}; finalise "
                f"it with `retake repair {self.partial}` or remove it before recording again.",
                path=self.partial,
            )
        self._overwrite = overwrite
        self._prepare = prepare
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closed = False
        self._sink = _FrameSink(header)
        self._thread = threading.Thread(
            target=self._run, name=f"retake-writer:{self.path.name}", daemon=True
        )
        self._thread.start()

    # -- the caller's side ------------------------------------------------------------------

    def append(self, event: Any) -> None:
        """Queue one event (or, with ``prepare``, what it turns into one). Never blocks."""
        if self._closed:
            raise WriterError(
                f"the writer for {str(self.path)!r} is closed; start a new recording."
            )
        self._queue.put(event)

    def extend(self, events: Iterable[Event]) -> None:
        """Queue several events."""
        for event in events:
            self.append(event)

    def flush(self) -> None:
        """Wait until every queued event is written to the file (not fsynced)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()
        if self._error is not None:
            raise self._failure()

    def finalise(self, *, check: Check | None = None, amend: Amend | None = None) -> Path:
        """Write the footer, fsync, and rename the file into place; return the final path.

        ``amend`` replaces header fields known only at the end (JSON-ready values, such as
        the redaction manifest), or is a function returning them, called on the writer thread
        after the last event. ``check`` then sees the whole cassette (the redaction stage's
        leak scan, say); if it raises, the recording is deleted and the error propagates.
        """
        return self.finalise_later(check=check, amend=amend).result()

    def finalise_later(
        self, *, check: Check | None = None, amend: Amend | None = None
    ) -> Future[Path]:
        """Like ``finalise``, but the writer thread does all of it; returns at once."""
        if self._closed:
            raise WriterError(f"the writer for {str(self.path)!r} is already closed.")
        future: Future[Path] = Future()
        self._closed = True
        self._queue.put(_Finish(check, amend, future))
        return future

    def abort(self) -> None:
        """Stop and delete the recording."""
        self._stop()
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and not self._closed:
            self.finalise()
        else:
            self._stop()

    # -- the writer thread ------------------------------------------------------------------

    def _stop(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def _failure(self) -> WriterError:
        assert self._error is not None
        error = WriterError(
            f"recording to {str(self.partial)!r} failed: {self._error}. Events up to the "
            f"failure are in the file; finalise them with `retake repair {self.partial}`."
        )
        error.__cause__ = self._error
        return error

    def _finish(self, fd: int | None, finish: _Finish) -> None:
        """On the writer thread, after the last event: amend, check, footer, fsync, rename."""
        try:
            if self._error is not None or fd is None:
                raise self._failure()
            amend = finish.amend() if callable(finish.amend) else finish.amend
            if amend:
                merged = {**self.header.model_dump(mode="json"), **amend}
                CassetteHeader.model_validate(merged)  # fail now, not when someone loads it
                self._sink.amend(amend)
                _write_all(fd, self._sink.take())
            if finish.check is not None:
                _, data = read_bytes(self.partial)
                try:
                    whole = loads(data, allow_truncated=True, path=self.partial)
                    finish.check(whole.model_copy(update={"truncated": False}))
                except BaseException:
                    os.close(fd)
                    fd = None
                    self.partial.unlink(missing_ok=True)
                    raise
            _write_all(fd, self._sink.footer())
            os.fsync(fd)
            os.close(fd)
            fd = None
            _publish(self.partial, self.path, overwrite=self._overwrite)
        except BaseException as exc:
            finish.future.set_exception(exc)
        else:
            finish.future.set_result(self.path)
        finally:
            if fd is not None:
                os.close(fd)

    def _run(self) -> None:
        # Never leaves the loop before the stop sentinel: after a failure it keeps taking
        # items off the queue (releasing flush() waiters) and the error is raised at finalise.
        fd: int | None = None
        try:
            fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            _write_all(fd, self._sink.take())
        except OSError as exc:
            self._error = exc
        stopping, finish = False, None
        while not stopping:
            batch = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 4096:
                    batch.append(self._queue.get_nowait())
            waiters = []
            for item in batch:
                if item is _STOP:
                    stopping = True
                elif isinstance(item, _Finish):
                    stopping, finish = True, item
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                elif self._error is None:
                    try:
                        self._sink.event(item if self._prepare is None else self._prepare(item))
                    except Exception as exc:
                        self._error = exc
            chunk = self._sink.take()
            if chunk and fd is not None:
                try:
                    _write_all(fd, chunk)
                except OSError as exc:
                    self._error = self._error or exc
                    os.close(fd)
                    fd = None
            for waiter in waiters:
                waiter.set()
        if finish is not None:
            self._finish(fd, finish)
        elif fd is not None:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_atomically(data: bytes, path: Path, *, overwrite: bool) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, and rename it into place:
    ``path`` holds its old bytes or all the new ones, and a failed write leaves nothing behind."""
    fd, tmp = _create_beside(path)
    try:
        with contextlib.suppress(FileNotFoundError):  # a file replaced keeps its permissions
            os.fchmod(fd, path.stat().st_mode & 0o7777)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, path, overwrite=overwrite)
    finally:
        tmp.unlink(missing_ok=True)


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new temporary file in ``path``'s folder, open for writing, made as the recorder makes
    its files (0644 under the umask). Its name is short (a long cassette name still fits the
    folder's limit) and its own: NAME.retake.partial may hold a crashed recording."""
    for _ in range(100):
        tmp = path.parent / f".retake-{secrets.token_hex(6)}.saving"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {str(path.parent)!r}")


def _publish(tmp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if a cassette appeared there meanwhile
        except FileExistsError:
            raise CassetteExists(_exists_message(path), path=path) from None
        except OSError:  # a filesystem without hard links
            os.replace(tmp, path)
        else:
            tmp.unlink()
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exists_message(path: Path) -> str:
    return (
        f"a cassette already exists at {str(path)!r}; cassettes are immutable once finalised. "
        "Choose another name, or pass overwrite=True (CLI: --overwrite) to replace it."
    )
