"""retake: record LLM-agent sessions as redacted cassettes, replay them against a new release,
and see step by step where its behaviour diverges.

This module is the one public door; implementation modules are private.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from retake.capture import (
        AsyncTransport,
        AsyncTransport2,
        ToolError,
        Transport,
        Transport2,
        note,
        permission,
        recording_http,
        tool,
        tool_call_id,
        user_turn,
    )
    from retake.errors import (
        CassetteError,
        CassetteExists,
        CassetteLimitExceeded,
        CassetteNotFound,
        CorruptCassette,
        LeakDetected,
        NotACassette,
        RedactionError,
        RetakeError,
        TruncatedCassette,
        UnsupportedFormatVersion,
        WriterError,
    )
    from retake.pipeline import Recorder, record
    from retake.runner import ReplayConfig, ReplayOutcome, ReplayRun, replay
    from retake.schema import (
        FORMAT_VERSION,
        Cassette,
        CassetteHeader,
        ErrorEvent,
        Event,
        EvidenceBundle,
        Message,
        ModelEvent,
        ModelRequest,
        ModelResponse,
        NoteEvent,
        OutputEvent,
        PermissionContext,
        PermissionEvent,
        RedactionManifest,
        SessionReplay,
        Task,
        ToolCallEvent,
        ToolCallRequest,
        ToolFailure,
        ToolResultEvent,
        ToolSpec,
        Usage,
        UserEvent,
    )
    from retake.store import CassetteWriter, load, repair, save
    from retake.suite import check

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION",
    "AsyncTransport",
    "AsyncTransport2",
    "Cassette",
    "CassetteError",
    "CassetteExists",
    "CassetteHeader",
    "CassetteLimitExceeded",
    "CassetteNotFound",
    "CassetteWriter",
    "CorruptCassette",
    "ErrorEvent",
    "Event",
    "EvidenceBundle",
    "LeakDetected",
    "Message",
    "ModelEvent",
    "ModelRequest",
    "ModelResponse",
    "NotACassette",
    "NoteEvent",
    "OutputEvent",
    "PermissionContext",
    "PermissionEvent",
    "Recorder",
    "RedactionError",
    "RedactionManifest",
    "ReplayConfig",
    "ReplayOutcome",
    "ReplayRun",
    "RetakeError",
    "SessionReplay",
    "Task",
    "ToolCallEvent",
    "ToolCallRequest",
    "ToolError",
    "ToolFailure",
    "ToolResultEvent",
    "ToolSpec",
    "Transport",
    "Transport2",
    "TruncatedCassette",
    "UnsupportedFormatVersion",
    "Usage",
    "UserEvent",
    "WriterError",
    "__version__",
    "check",
    "load",
    "note",
    "permission",
    "record",
    "recording_http",
    "repair",
    "replay",
    "save",
    "tool",
    "tool_call_id",
    "user_turn",
]

_EXPORTS: dict[str, str] = {
    "AsyncTransport": "retake.capture",
    "AsyncTransport2": "retake.capture",
    "Cassette": "retake.schema",
    "CassetteError": "retake.errors",
    "CassetteExists": "retake.errors",
    "CassetteHeader": "retake.schema",
    "CassetteLimitExceeded": "retake.errors",
    "CassetteNotFound": "retake.errors",
    "CassetteWriter": "retake.store",
    "CorruptCassette": "retake.errors",
    "ErrorEvent": "retake.schema",
    "Event": "retake.schema",
    "EvidenceBundle": "retake.schema",
    "FORMAT_VERSION": "retake.schema",
    "LeakDetected": "retake.errors",
    "Message": "retake.schema",
    "ModelEvent": "retake.schema",
    "ModelRequest": "retake.schema",
    "ModelResponse": "retake.schema",
    "NotACassette": "retake.errors",
    "NoteEvent": "retake.schema",
    "OutputEvent": "retake.schema",
    "PermissionContext": "retake.schema",
    "PermissionEvent": "retake.schema",
    "Recorder": "retake.pipeline",
    "RedactionError": "retake.errors",
    "RedactionManifest": "retake.schema",
    "ReplayConfig": "retake.runner",
    "ReplayOutcome": "retake.runner",
    "ReplayRun": "retake.runner",
    "RetakeError": "retake.errors",
    "SessionReplay": "retake.schema",
    "Task": "retake.schema",
    "ToolCallEvent": "retake.schema",
    "ToolCallRequest": "retake.schema",
    "ToolError": "retake.capture",
    "ToolFailure": "retake.schema",
    "ToolResultEvent": "retake.schema",
    "ToolSpec": "retake.schema",
    "Transport": "retake.capture",
    "Transport2": "retake.capture",
    "TruncatedCassette": "retake.errors",
    "UnsupportedFormatVersion": "retake.errors",
    "Usage": "retake.schema",
    "UserEvent": "retake.schema",
    "WriterError": "retake.errors",
    "check": "retake.suite",
    "load": "retake.store",
    "note": "retake.capture",
    "permission": "retake.capture",
    "record": "retake.pipeline",
    "recording_http": "retake.capture",
    "repair": "retake.store",
    "replay": "retake.runner",
    "save": "retake.store",
    "tool": "retake.capture",
    "tool_call_id": "retake.capture",
    "user_turn": "retake.capture",
}
"""Where each public name lives. They are imported on first use, so ``import retake`` (and
pytest, which loads the plugin in every run) does not pay for every stage up front."""


_SUBMODULES = frozenset(
    {
        "capture",
        "diff",
        "errors",
        "expect",
        "importers",
        "mutate",
        "pipeline",
        "player",
        "redact",
        "report",
        "runner",
        "schema",
        "store",
        "suite",
    }
)
"""The stages and layers a bare ``import retake`` reaches, as when it loaded them all."""


if not _typing.TYPE_CHECKING:  # type checkers read the imports above, and flag unknown names

    def __getattr__(name: str) -> _typing.Any:
        module = _EXPORTS.get(name)
        if module is not None:
            value = getattr(_importlib.import_module(module), name)
            globals()[name] = value
            return value
        if name in _SUBMODULES:  # ``import retake`` then ``retake.redact.Redactor``
            return _importlib.import_module(f"retake.{name}")
        raise AttributeError(f"module 'retake' has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})
