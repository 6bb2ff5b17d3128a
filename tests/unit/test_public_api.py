"""The public door: ``retake.__all__`` is pinned, so a change to it is a deliberate one."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

import retake

PUBLIC = [
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


def test_all_is_pinned() -> None:
    """Adding or removing a public name is an API change: update PUBLIC on purpose."""
    assert retake.__all__ == PUBLIC
    assert len(set(PUBLIC)) == len(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_is_importable(name: str) -> None:
    module = importlib.import_module("retake")
    assert hasattr(module, name)


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from retake import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(PUBLIC)


def test_every_public_exception_is_a_retake_error() -> None:
    exceptions = [
        obj
        for obj in (getattr(retake, name) for name in PUBLIC)
        if isinstance(obj, type) and issubclass(obj, BaseException)
    ]
    # ToolError is data the agent sees (a tool's typed failure), not a harness error
    harness = [exc for exc in exceptions if exc is not retake.ToolError]
    assert len(harness) == 12
    assert all(issubclass(exc, retake.RetakeError) for exc in harness)
    assert not issubclass(retake.ToolError, retake.RetakeError)


def test_errors_subclass_the_builtin_that_fits() -> None:
    assert issubclass(retake.CassetteNotFound, FileNotFoundError)
    assert issubclass(retake.CassetteExists, FileExistsError)
    assert issubclass(retake.CorruptCassette, ValueError)
    assert issubclass(retake.CassetteLimitExceeded, retake.CorruptCassette)
    assert issubclass(retake.WriterError, RuntimeError)


def fresh(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (the modules it loads are its own)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def test_importing_retake_or_its_pytest_plugin_loads_no_stage() -> None:
    # pytest loads the plugin in every run of every project retake is installed in, and the
    # stages take about a second to import: they load when a public name is first used.
    code = (
        "import sys, retake, retake.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('retake.')))\n"
        "retake.Cassette\n"
        "print('retake.schema' in sys.modules)\n"
    )
    assert fresh(code).split("\n")[:2] == ["['retake.pytest_plugin']", "True"]


def test_the_command_line_starts_without_loading_a_stage() -> None:
    # `retake --help` and the light commands would otherwise import every stage first.
    code = (
        "import sys, retake.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith(('retake.', 'pydantic'))))"
    )
    loaded = [m for m in ast.literal_eval(fresh(code)) if not m.startswith("retake.cli")]
    assert loaded == ["retake.errors"]  # pydantic neither: it alone takes a tenth of a second


def test_the_choices_the_command_line_spells_out_are_the_stages_own() -> None:
    from retake import mutate, player
    from retake.cli import _mutate, _replay

    assert get_args(player.MatcherName) == _replay.MATCHERS
    assert _replay.DEFAULT_MATCHERS == player.DEFAULT_MATCHERS
    assert _mutate.FAMILIES == mutate.FAMILIES


def test_every_public_name_is_both_typed_and_exported() -> None:
    # Each name is imported for type checkers and mapped to its module for the lazy lookup;
    # a name missing from either would be Any to users' type checkers, or not found.
    tree = ast.parse(Path(retake.__file__).read_text())
    typed = {
        (node.module, alias.name)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == {(module, name) for name, module in retake._EXPORTS.items()}
    assert set(retake._EXPORTS) | {"__version__"} == set(PUBLIC)


def test_stage_packages_are_reachable_from_the_package() -> None:
    code = "import retake\nprint(retake.redact.Redactor.__name__, retake.store.SUFFIX)"
    assert fresh(code).split() == ["Redactor", ".retake"]


def test_unknown_names_are_attribute_errors_and_import_nothing() -> None:
    code = (
        "import sys, retake\n"
        "before = set(sys.modules)\n"
        "print([hasattr(retake, n) for n in ('a.b', 'cli', 'pytest_plugin', 'x', '_y')])\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('retake')))\n"
    )
    assert fresh(code).splitlines() == ["[False, False, False, False, False]", "[]"]
    assert not set(retake._EXPORTS) & set(retake._SUBMODULES)


def test_every_stage_is_reachable_from_a_bare_import() -> None:
    on_disk = {m.name for m in pkgutil.iter_modules(retake.__path__) if not m.name.startswith("_")}
    assert on_disk - {"cli", "demo", "pytest_plugin"} == retake._SUBMODULES
