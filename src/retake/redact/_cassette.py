"""Redaction and the leak scan at the level of a whole cassette."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from retake.errors import LeakDetected, RedactionError
from retake.schema import Cassette, Event, EventAdapter, RedactionManifest

from ._findings import Finding
from ._policy import RedactionPolicy
from ._redactor import Redactor, scan
from ._walk import Tally

__all__ = ["assert_no_leaks", "redact_cassette", "redact_event", "scan_cassette"]

_SHOWN = 10


def _header_data(cassette: Cassette) -> dict[str, Any]:
    return cassette.header.model_dump(mode="python", exclude={"redaction"})


def redact_event(event: Event, redactor: Redactor, tally: Tally | None = None) -> Event:
    """``event`` with every sensitive value replaced; ``event`` itself when nothing was."""
    data = event.model_dump(mode="python")
    new = redactor.redact(data, path=f"events[{event.seq}]", tally=tally)
    if new is data:
        return event
    if event.kind == "model" and _streamed(new) and new["response"] != data["response"]:
        # A value the parsed response gave away may be split across the stream's deltas,
        # where no detector sees it whole: the raw stream goes, and replay renders the
        # response from the redacted one instead.
        new["http"] = {**new["http"], "response_body": b""}
        if tally is not None:
            tally.masked_whole.append(
                f"events[{event.seq}].http.response_body (a streamed response that held "
                "sensitive values; replay renders it from the redacted response)"
            )
    try:
        return EventAdapter.validate_python(new)
    except ValidationError as exc:
        raise RedactionError(
            f"event {event.seq} (kind={event.kind!r}) is no longer valid after redaction: "
            f"{exc.errors()[0]['msg']} at {exc.errors()[0]['loc']!r}; a field rule probably "
            "masks a typed field whole, so point it at a free-form field (arguments, output, "
            "data) instead"
        ) from exc


def _streamed(event: dict[str, Any]) -> bool:
    """Whether a model event's raw response body is a server-sent event stream."""
    http = event.get("http")
    if not isinstance(http, dict):
        return False
    headers = http.get("response_headers") or {}
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    body = http.get("response_body") or b""
    return "text/event-stream" in str(kind).lower() or bytes(body[:6]).lstrip().startswith(
        (b"data:", b"event:")
    )


def redact_cassette(cassette: Cassette, redactor: Redactor) -> Cassette:
    """A copy of ``cassette`` with every event and the header redacted, and its manifest set.

    Redacting a redacted cassette with the same key changes nothing, the manifest included.
    """
    tally = Tally()
    header = _header_data(cassette)
    new_header = redactor.redact(header, path="header", labels=("header",), tally=tally)
    events = [redact_event(event, redactor, tally) for event in cassette.events]
    manifest = _merge(cassette.header.redaction, redactor.manifest(tally))
    try:
        header_model = type(cassette.header).model_validate({**new_header, "redaction": manifest})
    except ValidationError as exc:
        raise RedactionError(
            f"the cassette header is no longer valid after redaction: {exc.errors()[0]['msg']} "
            f"at {exc.errors()[0]['loc']!r}; check the field rules that start with 'header'"
        ) from exc
    return cassette.model_copy(update={"header": header_model, "events": tuple(events)})


def _merge(old: RedactionManifest, new: RedactionManifest) -> RedactionManifest:
    if not old.applied:
        return new
    counts = dict(old.counts)
    for name, n in new.counts.items():
        counts[name] = counts.get(name, 0) + n
    masked = tuple(dict.fromkeys(old.masked_whole + new.masked_whole))
    return new.model_copy(update={"counts": dict(sorted(counts.items())), "masked_whole": masked})


def scan_cassette(cassette: Cassette, *, policy: RedactionPolicy | None = None) -> list[Finding]:
    """Every place in ``cassette`` where a detector (or a header/field rule) still fires."""
    findings = scan(_header_data(cassette), path="header", labels=("header",), policy=policy)
    for i, event in enumerate(cassette.events):
        findings.extend(scan(event.model_dump(mode="python"), path=f"events[{i}]", policy=policy))
    return findings


def assert_no_leaks(cassette: Cassette, *, policy: RedactionPolicy | None = None) -> None:
    """Raise :class:`~retake.errors.LeakDetected` when :func:`scan_cassette` finds anything.

    Made to be the store's ``finalise(check=...)``: a cassette that still holds a secret is
    never published.
    """
    findings = scan_cassette(cassette, policy=policy)
    if not findings:
        return
    first = findings[0]
    where = f"event {first.event}" if first.event is not None else "the header"
    lines = [
        f"  {'the header' if f.event is None else f'event {f.event}'}: {f.describe()}"
        for f in findings[:_SHOWN]
    ]
    if len(findings) > _SHOWN:
        lines.append(f"  ... and {len(findings) - _SHOWN} more")
    raise LeakDetected(
        f"refusing to store session {cassette.header.session_id!r}: the leak scan found "
        f"{len(findings)} sensitive value(s) that redaction left in place, first in {where} "
        f"at path={first.path!r} (detector={first.detector!r}):\n"
        + "\n".join(lines)
        + "\nRecord through retake.redact (redact_cassette with a Redactor) so these are "
        "replaced, or add a field rule or header to the redaction policy for them; "
        "`retake scan` shows the same list."
    )
