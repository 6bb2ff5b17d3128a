"""The crosswalk: named safety controls and the scenarios that evidence them."""

from __future__ import annotations

from pydantic import Field

from ._base import Model


class Reference(Model):
    """An external requirement a control answers (free text with an id)."""

    id: str
    """The reference's id: ``NIST AI RMF MEASURE 2.7``, ``EU AI Act Art. 14``, ..."""
    text: str = ""
    """What it asks, in a few words."""


class Control(Model):
    """A safety claim about the release, and its evidence."""

    id: str = Field(min_length=1)
    """The id scenarios name in ``controls:``."""
    statement: str = Field(min_length=1)
    """The claim: ``refunds above the limit need a manager``."""
    references: tuple[Reference, ...] = ()
    """The external requirements it answers."""
    scenarios: tuple[str, ...] = ()
    """Scenario files (names without ``.yaml``, in the suite) that evidence it, besides those
    that name it in their own ``controls:``."""


class Crosswalk(Model):
    """``crosswalk.yaml`` beside a suite."""

    controls: tuple[Control, ...] = Field(min_length=1)
    """Every control the release is held to."""
