"""Verdicts: whether a candidate trace kept an expectation, and the events that decided it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import Model


class Verdict(Model):
    """One expectation checked on one candidate trace."""

    expectation: str
    """The expectation's name (``never_call``, ``refuse_before_call``, ...)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Its settings, as written in the scenario."""
    passed: bool
    """Whether the trace kept it."""
    detail: str
    """Why, in a sentence a reviewer can check against the trace."""
    evidence: tuple[int, ...] = ()
    """The steps (event ``seq``) of the candidate trace that decided it."""
