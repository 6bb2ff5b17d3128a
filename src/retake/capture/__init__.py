"""The recording boundaries: the tool decorator, the permission, note and user-turn calls,
the httpx transports, and the session protocol they all speak."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from retake._session import HttpAnswer, HttpCall, Session, ToolError, ToolInfo, failure_of

from ._boundary import (
    activate,
    active,
    current_call_id,
    note,
    permission,
    tool_call_id,
    user_turn,
)
from ._model_io import parse_model_request, render_model_event
from ._recording import RecordingSession, Snapshot, build_event
from ._snapshot import freeze, thaw
from ._tool import spec_of, spec_of_info, tool
from ._transport import AsyncTransport, AsyncTransport2, Transport, Transport2, decode_body


@contextmanager
def recording_http(**vcr_options: Any) -> Iterator[None]:
    """Capture the HTTP of any library through vcrpy while the block runs.

    Model calls become ``model`` events of the session active where each request is made;
    in a replay with the recorded model, vcrpy plays the recorded answers and nothing is sent.
    ``vcr_options`` go to ``vcr.VCR`` (``ignore_hosts``, ``ignore_localhost``, ...).
    """
    from ._vcr import recording_http as through_vcr  # vcrpy loads only when it is asked for

    with through_vcr(**vcr_options):
        yield


__all__ = [
    "AsyncTransport",
    "AsyncTransport2",
    "HttpAnswer",
    "HttpCall",
    "RecordingSession",
    "Session",
    "Snapshot",
    "ToolError",
    "ToolInfo",
    "Transport",
    "Transport2",
    "activate",
    "active",
    "build_event",
    "current_call_id",
    "decode_body",
    "failure_of",
    "freeze",
    "note",
    "parse_model_request",
    "permission",
    "recording_http",
    "render_model_event",
    "spec_of",
    "spec_of_info",
    "thaw",
    "tool",
    "tool_call_id",
    "user_turn",
]
