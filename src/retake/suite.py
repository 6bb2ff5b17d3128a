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

from pydantic import ValidationError

from retake import expect, mutate, runner
from retake._yamlfile import load_model
from retake.errors import InputFileError, RetakeError
from retake.redact import RedactionKey, RedactionPolicy
from retake.schema import (
    BUNDLE_VERSION,
    AdherenceShift,
    ControlEvidence,
    Crosswalk,
    DecisionShift,
    Diagnostics,
    EvidenceBundle,
    IncidentShift,
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


CROSSWALK = runner.CROSSWALK


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
    found = runner.scenario_files(suite)
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
    redaction: RedactionPolicy | None = None,
) -> EvidenceBundle:
    """Run every scenario of ``suite`` against the release and build the evidence bundle.

    What the bundle quotes from the release's traces (answers, errors, timelines,
    divergence values, verdict details, unmatched arguments) is redacted with ``redaction``
    (default: the built-in policy, keyed by ``$RETAKE_REDACTION_KEY`` when it is set): the
    release under test may send credentials or personal data the recordings never held, and
    a bundle is an artifact others read."""
    started = time.perf_counter()
    entrypoint = runner.load_entrypoint(agent)
    key = runner.results_key(redaction)  # once: a key file that cannot be read stops here
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
        jobs += [
            (path, trial, _for_evidence(config, redaction, key))
            for path, trial, config in scenario_jobs
        ]
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
        diagnostics=diagnostics(
            (plan.path.stem, plan.results) for plan in planned if not plan.loaded.scenario.mutations
        ),
        passed=passed,
        seconds=round(time.perf_counter() - started, 3),
    )


def _for_evidence(
    config: runner.ReplayConfig, redaction: RedactionPolicy | None, key: RedactionKey
) -> runner.ReplayConfig:
    return replace(
        config,
        timelines=True,
        compare=True,
        redact_results=True,
        redaction=redaction,
        results_key=key,
    )


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


SIGNIFICANCE = 0.05


def diagnostics(runs: Iterable[tuple[str, list[SessionReplay]]]) -> Diagnostics:
    """Adherence, decision and incident shifts over every trial, recordings against the
    release, with Fisher's exact test where a shift is claimed. Give it the runs of scenarios
    without mutations: a mutated run differs from its recording by design."""
    recorded: expect.Signals = {}
    release: expect.Signals = {}
    worse: dict[str, list[str]] = {}
    for name, results in runs:
        for result in results:
            if not result.signals:
                continue
            recorded = expect.add(recorded, result.signals["recorded"])
            release = expect.add(release, result.signals["candidate"])
            before = result.signals["recorded"].get("incidents", {})
            for signature, n in result.signals["candidate"].get("incidents", {}).items():
                if n > before.get(signature, 0) and name not in worse.get(signature, []):
                    worse.setdefault(signature, []).append(name)
    return Diagnostics(
        adherence=_adherence(recorded.get("adherence", {}), release.get("adherence", {})),
        decisions=_decisions(recorded.get("decisions", {}), release.get("decisions", {})),
        incidents=tuple(
            IncidentShift(
                signature=signature,
                recorded=recorded.get("incidents", {}).get(signature, 0),
                release=release.get("incidents", {}).get(signature, 0),
                scenarios=tuple(worse.get(signature, [])),
            )
            for signature in sorted(
                set(recorded.get("incidents", {})) | set(release.get("incidents", {}))
            )
        ),
    )


def _split(counts: dict[str, int], parts: int) -> dict[tuple[str, ...], int]:
    return {tuple(key.split("|", parts - 1)): n for key, n in counts.items()}


def _adherence(recorded: dict[str, int], release: dict[str, int]) -> tuple[AdherenceShift, ...]:
    before, after = _split(recorded, 2), _split(release, 2)
    shifts = []
    for tool in sorted({k[0] for k in (*before, *after)}):
        r = {k[1]: n for k, n in before.items() if k[0] == tool}
        c = {k[1]: n for k, n in after.items() if k[0] == tool}
        rbc, ctr = "refuse_before_call", "call_then_reject"
        p_value = expect.fisher_exact(r.get(rbc, 0), r.get(ctr, 0), c.get(rbc, 0), c.get(ctr, 0))
        shift = ""
        if c.get(ctr, 0) > r.get(ctr, 0):
            shift = (
                f"refuse-before-call -> call-then-reject: {r.get(rbc, 0)}/{r.get(ctr, 0)} in the "
                f"recordings, {c.get(rbc, 0)}/{c.get(ctr, 0)} in the release"
            )
        elif c.get(rbc, 0) > r.get(rbc, 0) and c.get(ctr, 0) < r.get(ctr, 0):
            shift = "call-then-reject -> refuse-before-call"
        shifts.append(
            AdherenceShift(
                tool=tool,
                recorded=r,
                release=c,
                p_value=round(p_value, 6),
                significant=p_value < SIGNIFICANCE,
                shift=shift,
            )
        )
    return tuple(shifts)


def _decisions(recorded: dict[str, int], release: dict[str, int]) -> tuple[DecisionShift, ...]:
    before, after = _split(recorded, 3), _split(release, 3)
    shifts = []
    for tool, state in sorted({k[:2] for k in (*before, *after)}):
        r = {k[2]: n for k, n in before.items() if k[:2] == (tool, state)}
        c = {k[2]: n for k, n in after.items() if k[:2] == (tool, state)}
        top = max(r, key=lambda move: r[move]) if r else max(c, key=lambda move: c[move])
        p_value = expect.fisher_exact(
            r.get(top, 0),
            sum(r.values()) - r.get(top, 0),
            c.get(top, 0),
            sum(c.values()) - c.get(top, 0),
        )
        shifts.append(
            DecisionShift(
                tool=tool,
                state=state,
                recorded=r,
                release=c,
                p_value=round(p_value, 6),
                significant=p_value < SIGNIFICANCE,
            )
        )
    return tuple(shifts)


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
    """The evidence bundle at ``path``. One that is not JSON, not shaped as a bundle, or of a
    bundle format this retake does not know is an ``InputFileError`` that says which."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"no evidence bundle at {str(path)!r}.", path=path) from None
    invalid = f"{str(path)!r} is not a valid evidence bundle"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InputFileError(f"{invalid}: it is not JSON ({exc}).", path=path) from exc
    version = data.get("bundle_version") if isinstance(data, dict) else None
    # checked here, strictly: a newer bundle's new fields would fail validation less clearly,
    # and validation would take the text "99" for the number
    if version is not None and (type(version) is not int or not 1 <= version <= BUNDLE_VERSION):
        if type(version) is not int:
            why = f"it must be a number (this retake reads bundle_version {BUNDLE_VERSION})"
        elif version > BUNDLE_VERSION:
            why = (
                f"a newer retake wrote it (this one reads bundle_version {BUNDLE_VERSION}): "
                "verify it with that one, or upgrade retake"
            )
        else:
            why = f"no retake wrote that (this one reads bundle_version {BUNDLE_VERSION})"
        raise InputFileError(f"{str(path)!r} has bundle_version={version!r}; {why}.", path=path)
    try:
        return EvidenceBundle.model_validate_json(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise InputFileError(
            f"{invalid}: field {field}: {error['msg']}. Give verify the JSON file that "
            "`retake check --bundle` wrote.",
            path=path,
        ) from exc


def verify(
    bundle: EvidenceBundle, *, key: bytes | None = None, base: Path | None = None
) -> list[str]:
    """What no longer matches: changed or missing files, a bad or missing signature."""
    problems: list[str] = []
    if not bundle.files:  # a check run hashes at least its scenario files
        problems.append(
            "the bundle names no files, so there is nothing to re-hash and it evidences "
            "nothing (`retake check` names every file it used)"
        )
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
    "diagnostics",
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
