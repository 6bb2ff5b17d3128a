"""Replay: the player answers a release's calls from a cassette, fails closed on anything
unrecorded, and refuses network; matching explains every miss."""

from retake._session import Mutation, ToolAnswer, ToolQuestion

from ._guard import network_guard
from ._matching import DEFAULT_MATCHERS, CallIndex, Match, MatcherName, Miss, canonical
from ._player import ModelMode, Player, Unmatched, request_drift
from ._wiring import wiring_drift

__all__ = [
    "DEFAULT_MATCHERS",
    "CallIndex",
    "Match",
    "MatcherName",
    "Miss",
    "ModelMode",
    "Mutation",
    "Player",
    "ToolAnswer",
    "ToolQuestion",
    "Unmatched",
    "canonical",
    "network_guard",
    "request_drift",
    "wiring_drift",
]
