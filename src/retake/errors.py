"""Every error retake raises on purpose.

Harness failures are exceptions; failures the agent sees (a tool that timed out, a call the
gate denied) are data in the cassette, never exceptions from here.

Each error subclasses the builtin that fits, so ``except FileNotFoundError`` still works, and
each message says what happened, names the offending value, and says what to do::

    RetakeError
    ├── CassetteError                     a cassette file cannot be used as asked
    │   ├── CassetteNotFound              (FileNotFoundError) no file at that path
    │   ├── CassetteExists                (FileExistsError) refusing to overwrite a cassette
    │   ├── NotACassette                  (ValueError) the file is not a retake cassette at all
    │   ├── UnsupportedFormatVersion      (ValueError) written by a newer retake
    │   ├── CorruptCassette               (ValueError) damaged bytes, bad checksum, invalid data
    │   │   └── CassetteLimitExceeded     a declared size or nesting past the decoder's limits
    │   └── TruncatedCassette             (ValueError) the recording never finalised
    ├── InputFileError                    (ValueError) a tasks, scenario or config file is wrong
    ├── ProviderFormatError               (ValueError) a model body is not shaped as its API
    ├── DiffError                         (ValueError) two traces cannot be compared as asked
    ├── WriterError                       (RuntimeError) the cassette writer cannot go on
    └── RedactionError                    redaction could not make a value safe to store
        └── LeakDetected                  (ValueError) the write-time scan still finds a secret

``retake.cli`` maps each of these to an exit code and one readable paragraph. The one warning
retake gives, ``EphemeralKeyWarning`` (no redaction key configured), lives here too.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CassetteError",
    "CassetteExists",
    "CassetteLimitExceeded",
    "CassetteNotFound",
    "CorruptCassette",
    "DiffError",
    "InputFileError",
    "LeakDetected",
    "NotACassette",
    "ProviderFormatError",
    "RedactionError",
    "RetakeError",
    "TruncatedCassette",
    "UnsupportedFormatVersion",
    "WriterError",
]


class RetakeError(Exception):
    """The root of every error retake raises on purpose."""


class CassetteError(RetakeError):
    """A cassette file cannot be used as asked. ``path`` names the file."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class CassetteNotFound(CassetteError, FileNotFoundError):
    """There is no file at the path given."""


class CassetteExists(CassetteError, FileExistsError):
    """A finalised cassette already exists where a new one would be written."""


class NotACassette(CassetteError, ValueError):
    """The file does not start with retake's magic bytes: it is some other kind of file."""


class UnsupportedFormatVersion(CassetteError, ValueError):
    """The cassette was written in a format version this retake does not know."""


class CorruptCassette(CassetteError, ValueError):
    """The bytes are damaged: a frame checksum, the footer hash or the schema does not hold."""


class CassetteLimitExceeded(CorruptCassette):
    """A frame declares a size, or nests deeper, than the decoder allows."""


class TruncatedCassette(CassetteError, ValueError):
    """The recording never finalised (the process died, or is still writing).

    ``events`` is how many events survived intact.
    """

    def __init__(self, message: str, *, path: Path | str | None = None, events: int = 0) -> None:
        super().__init__(message, path=path)
        self.events = events


class InputFileError(RetakeError, ValueError):
    """A tasks, scenario or configuration file is missing or invalid; the message names the
    file, the line and the field."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ProviderFormatError(RetakeError, ValueError):
    """A model request or response body does not have the shape its provider's API gives it.

    ``provider`` names the adapter that refused it, e.g. ``openai-chat``.
    """

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider


class DiffError(RetakeError, ValueError):
    """Two traces cannot be compared as asked."""


class WriterError(RetakeError, RuntimeError):
    """The cassette writer failed (disk full, file removed) or was used after closing."""


class RedactionError(RetakeError):
    """Redaction could not make a value safe to store."""


class LeakDetected(RedactionError, ValueError):
    """The write-time scan found a secret or personal value that redaction left in place."""


class EphemeralKeyWarning(UserWarning):
    """No redaction key was configured, so a random one is used for this session only."""
