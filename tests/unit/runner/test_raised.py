"""When a release that raised fails a replay: unless its recording ended raising the same."""

from __future__ import annotations

import pytest

from retake.runner import raised_unlike_recording
from retake.schema import SessionReplay
from retake.schema._results import SessionStatus


def result(status: SessionStatus, raised: str | None, recorded: str | None) -> SessionReplay:
    return SessionReplay(
        cassette="c.retake", status=status, raised=raised, recorded_raised=recorded
    )


@pytest.mark.parametrize(
    ("status", "raised", "recorded", "unlike"),
    [
        ("raised", "builtins.KeyError", None, True),  # the recording answered
        ("raised", "builtins.KeyError", "builtins.RuntimeError", True),
        ("raised", "builtins.KeyError", "builtins.KeyError", False),  # an incident, replayed
        ("raised", "shop.errors.Declined", "shop.legacy.Declined", False),  # the class moved
        ("completed", None, "builtins.KeyError", False),  # the fix of an incident
        ("timeout", None, None, False),  # fails the run on its own
    ],
)
def test_a_raise_counts_against_the_release_only_where_the_recording_did_not_raise_it(
    status: SessionStatus, raised: str | None, recorded: str | None, unlike: bool
) -> None:
    assert raised_unlike_recording(result(status, raised, recorded)) is unlike
