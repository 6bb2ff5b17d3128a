"""The bundled demo: a support-desk agent on the official openai SDK, talking real HTTP to a
scripted OpenAI-compatible model server on 127.0.0.1 that it starts by itself.

Entrypoints: ``retake.demo:release_1`` (the recorded baseline) and ``retake.demo:release_2``
(the release under test, with benign changes and regressions listed in its docstring).
"""

from ._agent import RELEASE_1, RELEASE_2, Release, release_1, release_2, run
from ._server import model_server, shared_url
from ._world import TOOLS

__all__ = [
    "RELEASE_1",
    "RELEASE_2",
    "TOOLS",
    "Release",
    "model_server",
    "release_1",
    "release_2",
    "run",
    "shared_url",
]
