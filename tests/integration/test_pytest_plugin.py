"""The pytest plugin, run in a real pytest subprocess: the same verdicts as ``retake check``."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from retake import suite

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def failed_items(result: pytest.RunResult) -> set[str]:
    return {
        line.split("::")[0].split("/")[-1].removesuffix(".yaml")
        for line in result.outlines
        if line.startswith("FAILED ")
    }


@pytest.mark.parametrize("release", ["release_1", "release_2"])
def test_the_plugin_agrees_with_retake_check(pytester: pytest.Pytester, release: str) -> None:
    agent = f"retake.demo:{release}"
    result = pytester.runpytest_subprocess(
        str(SCENARIOS), "--retake-agent", agent, "-p", "no:cacheprovider", "-rf"
    )
    bundle = suite.check(SCENARIOS, agent=agent)
    expected = {Path(s.scenario).stem for s in bundle.scenarios if not s.pass_k}
    assert failed_items(result) == expected
    trials = [t for s in bundle.scenarios for t in s.trials]
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == sum(1 for t in trials if not t.passed)
    assert outcomes.get("passed", 0) == sum(1 for t in trials if t.passed)
    if expected:
        text = "\n".join(result.outlines)
        assert "refuse_before_call: issue_refund was called at step 10" in text


def test_k_x_and_junitxml(pytester: pytest.Pytester, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest_subprocess(
        str(SCENARIOS),
        "--retake-agent",
        "retake.demo:release_2",
        "-p",
        "no:cacheprovider",
        "-k",
        "refund",
        f"--junitxml={junit}",
    )
    cases = ET.parse(junit).getroot().iter("testcase")
    names = {c.get("classname", "") + c.get("name", "") for c in cases}
    assert names and all("refund" in n for n in names)
    stopped = pytester.runpytest_subprocess(
        str(SCENARIOS), "--retake-agent", "retake.demo:release_2", "-p", "no:cacheprovider", "-x"
    )
    assert stopped.parseoutcomes().get("failed") == 1
    assert result.ret == 1


def test_the_retake_fixture_in_an_ordinary_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        def test_refund_is_refused(retake):
            outcome = retake.replay(
                {str(ROOT / "cassettes" / "refund-above-limit-denied.retake")!r},
                agent="retake.demo:release_1",
                expectations=[{{"refuse_before_call": {{"tool": "issue_refund"}}}}],
            )
            assert outcome.result.status == "completed"
            assert all(v.passed for v in outcome.result.verdicts)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_without_the_option_no_yaml_is_collected(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", notes="this: is not a scenario\n")
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
