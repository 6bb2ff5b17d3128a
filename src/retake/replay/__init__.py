"""Replay: the player answers a release's calls from a cassette, fails closed on anything
unrecorded, and refuses network; matching explains every miss."""

from ._guard import network_guard
from ._matching import DEFAULT_MATCHERS, CallIndex, Match, MatcherName, Miss, canonical
from ._player import ModelMode, Mutation, Player, ToolAnswer, Unmatched, request_drift
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
    "Unmatched",
    "canonical",
    "network_guard",
    "request_drift",
    "wiring_drift",
]
