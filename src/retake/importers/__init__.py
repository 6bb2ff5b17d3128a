"""Importers: transcripts, trajectories, vcrpy cassettes and traces that already exist become
cassettes, one per session, without touching the agent.

Formats (``FORMATS``): ``openai-chat``, ``openai-responses``, ``anthropic`` (transcripts),
``tau-bench`` (trajectories), ``vcr`` (vcrpy YAML cassettes), ``otel`` (OpenTelemetry GenAI
spans from the OTLP JSON file exporter; ``to_otel`` writes a cassette as such spans).

An importer reads; it does not redact or store. ``retake.pipeline.import_paths`` composes it
with redaction and the store, and hands the vcr importer the provider adapters.

What a source lacks is never invented: the header's ``tags["lacks"]`` lists it, with the
words of ``LACKS`` (``permission``, ``duration``, ``time``, ``http``, ``recorded_at``). The
header's ``source`` names the format and ``tags["source_file"]`` the file. An item that cannot
become an event (a tool result whose call id matches nothing, an unknown role, a line of
broken JSON) is left out and reported as a ``Skipped`` line naming the file and the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retake.errors import InputFileError
from retake.schema import Cassette

from . import _anthropic, _openai_chat, _openai_responses, _otel, _taubench, _vcr
from ._build import LACKS, Skipped
from ._detect import FORMATS, SUFFIXES, detect, read
from ._otel import to_otel
from ._vcr import ParseExchange
from ._vcr import request_body as vcr_request_body
from ._vcr import response_parts as vcr_response_parts

__all__ = [
    "FORMATS",
    "LACKS",
    "SUFFIXES",
    "Imported",
    "ParseExchange",
    "Skipped",
    "detect_format",
    "from_otel",
    "import_data",
    "import_file",
    "to_otel",
    "vcr_request_body",
    "vcr_response_parts",
]


@dataclass(frozen=True)
class Imported:
    """What one source file gave."""

    file: Path
    format: str
    """The format it was read as."""
    cassettes: tuple[Cassette, ...]
    """One per session, unredacted."""
    skipped: tuple[Skipped, ...]
    """Items left out, with the reason."""
    size: int
    """Bytes read."""


def detect_format(path: Path | str) -> str:
    """The format of a source file, from its content."""
    path = Path(path)
    data, _, _ = read(path)
    return detect(data, path)


def import_data(
    data: Any,
    file: str,
    format: str,
    *,
    parse_exchange: ParseExchange | None = None,
    skipped: list[Skipped] | None = None,
) -> list[Cassette]:
    """Cassettes from decoded source content in a known format; items left out are appended
    to ``skipped``. ``parse_exchange`` (the provider adapters) is needed for ``vcr``."""
    out = skipped if skipped is not None else []
    if format == "vcr":
        if parse_exchange is None:
            raise InputFileError(
                f"importing the vcrpy cassette {file!r} needs the provider adapters; use "
                "retake.pipeline.import_paths, or pass parse_exchange=."
            )
        if not _vcr.is_vcr(data):
            raise InputFileError(f"{file!r} is not a vcrpy cassette (no 'interactions' list).")
        return _vcr.import_data(data, file, out, parse_exchange)
    if format == "otel" and not _otel.is_otlp(data):
        raise InputFileError(f"{file!r} is not an OTLP JSON trace (no 'resourceSpans').")
    readers = {
        "openai-chat": _openai_chat.import_data,
        "openai-responses": _openai_responses.import_data,
        "anthropic": _anthropic.import_data,
        "tau-bench": _taubench.import_data,
        "otel": _otel.import_data,
    }
    if format not in readers:
        raise InputFileError(
            f"format={format!r} is not an import format; use one of {', '.join(FORMATS)}."
        )
    return readers[format](data, file, out)


def import_file(
    path: Path | str, *, format: str = "auto", parse_exchange: ParseExchange | None = None
) -> Imported:
    """Read one source file into cassettes; ``InputFileError`` when it cannot be read at all,
    or gives nothing but sessions without events (``null``, ``{}``, ``[]``, a file of another
    format). A session with no event is left out, as a ``Skipped`` line."""
    path = Path(path)
    data, skipped, size = read(path)
    chosen = detect(data, path) if format == "auto" else format
    try:
        cassettes = import_data(
            data, str(path), chosen, parse_exchange=parse_exchange, skipped=skipped
        )
    except InputFileError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError, RecursionError) as exc:
        raise InputFileError(
            f"{str(path)!r} could not be read as {chosen}: {type(exc).__name__}: {exc}. Check "
            "the file, or pass another --format.",
            path=path,
        ) from exc
    if not any(cassette.events for cassette in cassettes):
        why = (
            f" ({skipped[0].item}: {skipped[0].reason.removesuffix('; left out')})"
            if skipped
            else ""
        )
        raise InputFileError(
            f"{str(path)!r} holds no session to import as {chosen}{why}: it is empty, or not "
            f"in the {chosen} format. Check the file, or pass another --format.",
            path=path,
        )
    for cassette in cassettes:
        if not cassette.events:
            skipped.append(
                Skipped(str(path), f"session {cassette.header.session_id}", "no events; left out")
            )
    kept = tuple(cassette for cassette in cassettes if cassette.events)
    return Imported(path, chosen, kept, tuple(skipped), size)


def from_otel(document: Any, file: str = "<otel>") -> list[Cassette]:
    """Cassettes from an OTLP JSON document (one per trace); the inverse of ``to_otel``."""
    return _otel.import_data(document, file, [])
