"""``retake check``: run a suite of scenarios against a release and decide, with evidence.

Composes the runner (replay, diff, expectations per trial) into the evidence bundle, signs it
if asked, and verifies bundles against the files they name. With ``retake.pipeline`` and
``retake.runner`` this module is the composition layer; no stage imports it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from retake import mutate, runner
from retake._yamlfile import load_model
from retake.errors import InputFileError, RetakeError
from retake.schema import (
    ControlEvidence,
    Crosswalk,
    EvidenceBundle,
    ScenarioEvidence,
    SessionReplay,
    TrialEvidence,
    WiringChange,
)


@dataclass(frozen=True)
class SuiteSettings:
    """``[tool.retake]`` of pyproject.toml, or ``retake.toml``; flags override them."""

    suite: str = "scenarios"
    agent: str = "retake.demo:release_2"
    release: str | None = None
    model: str = "scripted"
    workers: int = 1
    timeout: float = 60.0
    bundle: str = "retake-evidence.json"

    @classmethod
    def find(cls, start: Path | None = None) -> SuiteSettings:
        """The settings of the nearest retake.toml or pyproject.toml with [tool.retake]."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            own = folder / "retake.toml"
            if own.is_file():
                return cls._from(own, _read_toml(own), own.name)
            project = folder / "pyproject.toml"
            if project.is_file():
                data = _read_toml(project).get("tool", {}).get("retake")
                if isinstance(data, dict):
                    return cls._from(project, data, "[tool.retake]")
        return cls()

    @classmethod
    def _from(cls, path: Path, data: dict[str, Any], where: str) -> SuiteSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputFileError(
                f"{path}: {where} has unknown setting {unknown[0]!r}; known: "
                f"{', '.join(sorted(known))}.",
                path=path,
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise InputFileError(f"{path}: {where}: {exc}", path=path) from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise InputFileError(f"{path} is not valid TOML: {exc}", path=path) from exc


CROSSWALK = "crosswalk.yaml"


def load_crosswalk(path: Path, scenario_names: set[str]) -> Crosswalk:
    """Read a crosswalk; a control naming a scenario the suite lacks is an input error."""
    crosswalk, lines = load_model(path, Crosswalk, "crosswalk", with_lines=True)
    for c, control in enumerate(crosswalk.controls):
        for s, name in enumerate(control.scenarios):
            if Path(name).stem not in scenario_names:
                line = lines.get(("controls", c, "scenarios", s), "?")
                raise InputFileError(
                    f"crosswalk {str(path)!r}, line {line}, control {control.id!r}: no scenario "
                    f"{name!r} in the suite; name a scenario file (without .yaml) that exists.",
                    path=path,
                )
    return crosswalk


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scenario_files(suite: Path) -> list[Path]:
    if suite.is_file():
        return [suite]
    if not suite.is_dir():
        raise InputFileError(f"no suite at {str(suite)!r}: give a folder of scenario files.")
    found = sorted(p for p in suite.rglob("*") if p.suffix in runner.SCENARIO_SUFFIXES)
    found = [p for p in found if p.name != CROSSWALK]
    if not found:
        raise InputFileError(f"the suite {str(suite)!r} holds no scenario files (*.yaml).")
    return found


@dataclass
class _Planned:
    path: Path
    loaded: mutate.LoadedScenario
    results: list[SessionReplay] = field(default_factory=list)


def check(
    suite: Path,
    *,
    agent: str,
    release: str | None = None,
    model: str = "scripted",
    workers: int = 1,
    timeout: float | None = 60.0,
    on_result: Callable[[SessionReplay], None] | None = None,
) -> EvidenceBundle:
    """Run every scenario of ``suite`` against the release and build the evidence bundle."""
    started = time.perf_counter()
    entrypoint = runner.load_entrypoint(agent)
    planned = [_Planned(path, mutate.load_scenario(path)) for path in scenario_files(suite)]
    jobs: list[runner.Job] = []
    owners: list[_Planned] = []
    for plan in planned:
        scenario_jobs = list(
            runner.scenario_jobs(
                [plan.path],
                agent,
                model=model,  # type: ignore[arg-type]
                timeout=timeout,
            )
        )
        jobs += [(path, trial, _with_timelines(config)) for path, trial, config in scenario_jobs]
        owners += [plan] * len(scenario_jobs)
    run = runner.run_jobs(jobs, workers=workers, on_result=on_result)
    for plan, result in zip(owners, run.sessions, strict=True):
        plan.results.append(result)
    scenarios = tuple(_scenario_evidence(plan) for plan in planned)
    crosswalk_path = (suite if suite.is_dir() else suite.parent) / CROSSWALK
    crosswalk = (
        load_crosswalk(crosswalk_path, {p.path.stem for p in planned})
        if crosswalk_path.is_file()
        else None
    )
    files: dict[str, str] = {}
    if crosswalk is not None:
        files[str(crosswalk_path)] = sha256_file(crosswalk_path)
    for plan in planned:
        files[str(plan.path)] = sha256_file(plan.path)
        files[str(plan.loaded.cassette_path)] = sha256_file(plan.loaded.cassette_path)
    wiring: dict[tuple[str, str], WiringChange] = {}
    for result in run.sessions:
        for change in result.wiring:
            wiring.setdefault((change.kind, change.tool), change)
    passed = all(s.pass_k and s.gating_critical == 0 for s in scenarios)
    return EvidenceBundle(
        retake_version=_version(),
        release=release or str(getattr(entrypoint, "release_id", agent)),
        agent=agent,
        model=model,
        created_at=datetime.now(UTC),
        files=dict(sorted(files.items())),
        wiring=tuple(wiring.values()),
        scenarios=scenarios,
        controls=_controls(scenarios, crosswalk),
        passed=passed,
        seconds=round(time.perf_counter() - started, 3),
    )


def _with_timelines(config: runner.ReplayConfig) -> runner.ReplayConfig:
    return replace(config, timelines=True, compare=True)


def _scenario_evidence(plan: _Planned) -> ScenarioEvidence:
    scenario = plan.loaded.scenario
    mutated = bool(scenario.mutations)
    trials = []
    for result in plan.results:
        critical = sum(1 for d in result.divergences if d.severity == "critical")
        passed = (
            result.status == "completed"
            and all(v.passed for v in result.verdicts)
            and (mutated or critical == 0)
        )
        trials.append(
            TrialEvidence(
                trial=result.trial,
                status=result.status,
                passed=passed,
                answer=result.answer,
                error=result.error,
                verdicts=result.verdicts,
                divergences=result.divergences,
                unmatched=result.unmatched,
                request_drift=result.request_drift,
                canaries=result.canaries,
                recorded=result.recorded_steps,
                candidate=result.candidate_steps,
                seconds=result.seconds,
            )
        )
    critical = sum(1 for t in trials for d in t.divergences if d.severity == "critical")
    passing = [t.passed for t in trials]
    return ScenarioEvidence(
        scenario=str(plan.path),
        description=scenario.description,
        cassette=str(plan.loaded.cassette_path),
        seed=scenario.seed,
        mutations=tuple(plan.results[0].mutations) if plan.results else (),
        controls=scenario.controls,
        trials=tuple(trials),
        pass_k=bool(passing) and all(passing),
        pass_rate=sum(passing) / len(passing) if passing else 0.0,
        critical=critical,
        gating_critical=0 if mutated else critical,
    )


def _controls(
    scenarios: Iterable[ScenarioEvidence], crosswalk: Crosswalk | None
) -> tuple[ControlEvidence, ...]:
    """Each control: evidenced when every scenario naming it held, failed when one did not,
    without evidence when none names it (shown, never hidden)."""
    scenarios = list(scenarios)
    by_name = {Path(s.scenario).stem: s for s in scenarios}
    named: dict[str, list[ScenarioEvidence]] = {}
    for scenario in scenarios:
        for control_id in scenario.controls:
            named.setdefault(control_id, []).append(scenario)
    declared = {c.id: c for c in crosswalk.controls} if crosswalk else {}
    for declared_control in declared.values():
        for name in declared_control.scenarios:
            listed = by_name[Path(name).stem]
            if listed not in named.setdefault(declared_control.id, []):
                named[declared_control.id].append(listed)
    result = []
    for control_id in [*declared, *sorted(set(named) - set(declared))]:
        evidence = named.get(control_id, [])
        spec = declared.get(control_id)
        status: Literal["evidenced", "failed", "without evidence"]
        if not evidence:
            status = "without evidence"
        elif all(e.pass_k and not e.gating_critical for e in evidence):
            status = "evidenced"
        else:
            status = "failed"
        references = (
            tuple(f"{r.id}: {r.text}" if r.text else r.id for r in spec.references) if spec else ()
        )
        result.append(
            ControlEvidence(
                id=control_id,
                statement=spec.statement if spec else "",
                references=references,
                status=status,
                scenarios=tuple(e.scenario for e in evidence),
            )
        )
    return tuple(result)


def _version() -> str:
    from retake import __version__

    return __version__


# --- signing and verifying ------------------------------------------------------------------


def _canonical(bundle: EvidenceBundle) -> bytes:
    data = bundle.model_dump(mode="json", exclude={"signature"})
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def sign(bundle: EvidenceBundle, key: bytes) -> EvidenceBundle:
    """The bundle with an HMAC-SHA256 signature over everything else in it."""
    signature = hmac.new(key, _canonical(bundle), hashlib.sha256).hexdigest()
    return bundle.model_copy(update={"signature": signature})


def write_bundle(bundle: EvidenceBundle, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bundle.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_bundle(path: Path) -> EvidenceBundle:
    try:
        return EvidenceBundle.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise InputFileError(f"no evidence bundle at {str(path)!r}.", path=path) from None
    except ValueError as exc:
        raise InputFileError(
            f"{str(path)!r} is not a valid evidence bundle: {str(exc).splitlines()[0]}",
            path=path,
        ) from exc


def verify(
    bundle: EvidenceBundle, *, key: bytes | None = None, base: Path | None = None
) -> list[str]:
    """What no longer matches: changed or missing files, a bad or missing signature."""
    problems: list[str] = []
    for name, expected in bundle.files.items():
        path = Path(name) if base is None or Path(name).is_absolute() else base / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != expected:
            problems.append(f"{name}: changed since the run (sha256 differs)")
    if key is not None:
        if bundle.signature is None:
            problems.append("the bundle is not signed")
        else:
            expected_signature = hmac.new(key, _canonical(bundle), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected_signature, bundle.signature):
                problems.append("the signature does not match: the bundle was altered")
    return problems


def read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise RetakeError(f"cannot read the signing key {str(path)!r}: {exc}") from exc
    if len(key) < 16:
        raise RetakeError(f"the signing key {str(path)!r} is shorter than 16 bytes; use more.")
    return key


__all__ = [
    "InputFileError",
    "SuiteSettings",
    "check",
    "load_crosswalk",
    "mutate",
    "read_bundle",
    "read_key",
    "scenario_files",
    "sha256_file",
    "sign",
    "verify",
    "write_bundle",
]
