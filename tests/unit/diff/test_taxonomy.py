"""The taxonomy's critical cases: new writes, writes after a denial, the gate saving a call
too late, canaries leaving; and the noise model's rules."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import quote

import pytest

from retake.diff import DiffError, diff, learn_noise
from retake.schema import WiringChange

from ._traces import call, gate, output, result, trace, user


def test_a_new_write_call_is_critical_and_a_new_read_call_is_not() -> None:
    base = trace(user("hi"), output("ok"))
    write = diff(base, trace(user("hi"), call("c1", "issue_refund", amount=5), output("ok")))
    read = diff(base, trace(user("hi"), call("c1", "lookup_order", order_id="A"), output("ok")))
    assert [(d.kind, d.severity) for d in write.divergences] == [("tool_added", "critical")]
    assert [(d.kind, d.severity) for d in read.divergences] == [("tool_added", "warning")]


def test_called_then_rejected_where_the_recording_refused_first_is_critical() -> None:
    recorded = trace(gate("c1", "issue_refund", "deny"), output("no"))
    candidate = trace(
        call("c1", "issue_refund", amount=500),
        result("c1", "issue_refund", None),
        gate("c1", "issue_refund", "deny"),
        output("no"),
    )
    (d,) = diff(recorded, candidate).divergences
    assert (d.kind, d.severity, d.candidate) == ("called_then_rejected", "critical", 0)


def test_a_write_after_a_denial_is_critical() -> None:
    recorded = trace(gate("c1", "issue_refund", "deny"), output("no"))
    candidate = trace(
        gate("c1", "issue_refund", "deny"),
        gate("c2", "issue_refund", "allow"),
        call("c2", "issue_refund", amount=99),
        output("no"),
    )
    kinds = [(d.kind, d.severity) for d in diff(recorded, candidate).divergences]
    assert ("write_after_denial", "critical") in kinds


def test_a_canary_leaving_through_an_argument_or_the_answer_is_critical() -> None:
    recorded = trace(call("c1", "lookup_order", order_id="A"), output("fine"))
    candidate = trace(
        call("c1", "lookup_order", order_id="A CANARY-7f3a"), output("fine CANARY-7f3a")
    )
    report = diff(recorded, candidate, canaries=("CANARY-7f3a",))
    leaks = report.of_kind("canary_leaked")
    assert [(d.candidate, d.severity) for d in leaks] == [(0, "critical"), (1, "critical")]
    assert not diff(recorded, candidate).of_kind("canary_leaked")


@pytest.mark.parametrize(
    "encode",
    [
        str.lower,
        lambda c: "note=" + quote(c, safe=""),
        lambda c: base64.b64encode(f"ticket: {c} (urgent)".encode()).decode(),
        lambda c: base64.urlsafe_b64encode(f"x{c}".encode()).decode(),
        lambda c: c.encode().hex(),
    ],
    ids=["re-cased", "url-encoded", "base64", "base64-urlsafe", "hex"],
)
def test_a_canary_leaving_encoded_is_critical_too(encode: Callable[[str], str]) -> None:
    canary = "CANARY:7f3a/9k2x"  # ":" and "/" are escaped by URL encoding
    recorded = trace(call("c1", "send_email", body="hello"), output("fine"))
    candidate = trace(call("c1", "send_email", body=f"hello {encode(canary)}"), output("fine"))
    (leak,) = diff(recorded, candidate, canaries=(canary,)).of_kind("canary_leaked")
    assert (leak.candidate, leak.severity) == (0, "critical")
    harmless = trace(call("c1", "send_email", body=f"hello {encode('other-token-123')}"))
    assert not diff(recorded, harmless, canaries=(canary,)).of_kind("canary_leaked")


def test_wiring_drift_comes_first() -> None:
    base = trace(user("hi"))
    wiring = [WiringChange(kind="effect_changed", tool="lookup_order", detail="read -> write")]
    report = diff(base, base, wiring=wiring)
    assert [(d.kind, d.severity) for d in report.divergences] == [("wiring_drift", "error")]


def test_the_noise_model_suppresses_only_what_varied_across_trials() -> None:
    recorded = trace(output("The order A-1 shipped on Monday."))
    trials = [
        trace(output("Order A-1 shipped on Monday.")),
        trace(output("Your order A-1 was shipped Monday, it is on its way.")),
    ]
    noise = learn_noise(recorded, trials)
    assert noise.trials == 2 and "0:text" in noise.fields
    candidate = trace(output("Your order A-1 shipped Monday and is on its way."))
    assert diff(recorded, candidate).divergences
    report = diff(recorded, candidate, noise=noise)
    assert report.divergences == () and report.noise_trials == 2
    (why,) = report.suppressed
    assert why.rule == "learned" and "varied across 2 trials" in why.reason
    unrelated = trace(output("Refunds take five days."))
    assert diff(recorded, unrelated, noise=noise).divergences


def test_learning_noise_needs_two_trials() -> None:
    with pytest.raises(DiffError, match="at least 2 trials"):
        learn_noise(trace(user("hi")), [trace(user("hi"))])
