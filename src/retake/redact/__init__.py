"""Redaction: detectors, keyed format-preserving pseudonymisation, and the write-time leak scan.

Nothing recorded reaches disk unredacted: the recorder passes every value through a
:class:`Redactor`, and the store refuses to finalise a cassette in which :func:`scan_cassette`
still finds something (``writer.finalise(check=assert_no_leaks)``).
"""

from retake.errors import EphemeralKeyWarning

from ._cassette import assert_no_leaks, redact_cassette, redact_event, scan_cassette
from ._detectors import BUILTIN_DETECTORS, Category, Detector, detector_names
from ._findings import Finding
from ._policy import (
    DEFAULT_HEADER_DENYLIST,
    DEFAULT_SECRET_FIELDS,
    RULE_SET_VERSION,
    FieldRule,
    KeySource,
    RedactionPolicy,
    UserPattern,
)
from ._pseudo import RedactionKey
from ._redactor import Redactor, scan
from ._walk import Tally

__all__ = [
    "BUILTIN_DETECTORS",
    "DEFAULT_HEADER_DENYLIST",
    "DEFAULT_SECRET_FIELDS",
    "RULE_SET_VERSION",
    "Category",
    "Detector",
    "EphemeralKeyWarning",
    "FieldRule",
    "Finding",
    "KeySource",
    "RedactionKey",
    "RedactionPolicy",
    "Redactor",
    "Tally",
    "UserPattern",
    "assert_no_leaks",
    "detector_names",
    "redact_cassette",
    "redact_event",
    "scan",
    "scan_cassette",
]
