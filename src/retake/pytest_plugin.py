"""retake's pytest plugin: scenario files as test items, and a ``retake`` fixture.

``pytest scenarios/ --retake-agent retake.demo:release_2`` collects every scenario file as one
test item per trial, replays it against the release, and fails an item with the scenario's
report (failed expectations, gating critical divergences). ``-k``, ``-x`` and ``--junitxml``
work as for any test. Without ``--retake-agent`` no YAML file is collected, so the plugin stays
out of the way of ordinary test suites; the ``retake`` fixture is always there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# pytest loads this plugin in every run of every project retake is installed in: retake itself
# is imported only once a scenario is collected or the fixture is used.
if TYPE_CHECKING:
    from retake import runner
    from retake.schema import Cassette, SessionReplay


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("retake", "replaying scenarios against a release")
    group.addoption(
        "--retake-agent",
        metavar="MODULE:FUNCTION",
        help="collect scenario files (*.yaml) and replay them against this release",
    )
    group.addoption(
        "--retake-model",
        default="scripted",
        choices=("recorded", "scripted", "live"),
        help="the model mode for scenarios that do not set one (default: scripted)",
    )


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.File | None:
    agent = parent.config.getoption("--retake-agent")
    if not agent:
        return None
    from retake import runner

    if file_path.suffix in runner.SCENARIO_SUFFIXES and file_path.name != runner.CROSSWALK:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFailed(Exception):
    """A scenario's expectations did not hold (the message is the report)."""


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from retake import runner
        from retake.errors import RetakeError

        agent = self.config.getoption("--retake-agent")
        model = self.config.getoption("--retake-model")
        try:
            jobs = list(runner.scenario_jobs([self.path], agent, model=model))
        except RetakeError as exc:
            raise self.CollectError(str(exc)) from exc
        mutated = bool(jobs and jobs[0][2].mutations)
        for path, trial, config in jobs:
            yield ScenarioItem.from_parent(
                self, name=f"trial{trial}", job=(path, trial, config), mutated=mutated
            )


class ScenarioItem(pytest.Item):
    def __init__(self, *, job: runner.Job, mutated: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.mutated = mutated

    def runtest(self) -> None:
        from retake import runner

        path, trial, config = self.job
        config = runner.replace(config, compare=True)
        result = runner.replay_path(path, config, trial=trial)
        problems = failures(result, mutated=self.mutated)
        if problems:
            raise ScenarioFailed("\n".join(problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return f"scenario {self.path.name} did not hold:\n{excinfo.value}"
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.path.name} [{self.name}]"


def failures(result: SessionReplay, *, mutated: bool) -> list[str]:
    """Why a replayed scenario did not hold, one line each (empty: it held)."""
    problems = []
    if result.status != "completed":
        problems.append(f"the replay {result.status}: {result.error}")
    problems += [f"{v.expectation}: {v.detail}" for v in result.verdicts if not v.passed]
    if not mutated:
        problems += [
            f"critical divergence [{d.kind}] {d.summary}"
            for d in result.divergences
            if d.severity == "critical"
        ]
    return problems


class RetakeFixture:
    """The Python replay API inside ordinary tests."""

    def replay(
        self,
        cassette: Cassette | Path | str,
        *,
        agent: str,
        model: str = "recorded",
        mutations: list[dict[str, Any]] | None = None,
        expectations: list[dict[str, Any]] | None = None,
        seed: int = 0,
    ) -> runner.ReplayOutcome:
        """Replay a cassette (or its path) against a release; mutations and expectations as
        a scenario file writes them."""
        from retake import mutate, runner, store
        from retake.schema import Cassette

        loaded = cassette if isinstance(cassette, Cassette) else store.load(cassette)
        scenario = mutate.Scenario.model_validate(
            {"cassette": "-", "mutations": mutations or [], "seed": seed}
        )
        config = runner.ReplayConfig(
            agent=agent,
            model=model,  # type: ignore[arg-type]
            mutations=scenario.mutations,
            seed=seed,
            expectations=tuple(expectations or ()),
            compare=True,
        )
        return runner.replay_cassette(loaded, config)


@pytest.fixture
def retake() -> RetakeFixture:
    """Replay cassettes against a release from a test: ``retake.replay(path, agent=...)``."""
    return RetakeFixture()
