"""Alignment: call id, then tool and arguments, then sequence; each pair explains itself."""

from __future__ import annotations

from retake.diff import diff, explain
from retake.schema import Cassette, Message, ModelEvent, ModelRequest, ModelResponse

from ._traces import call, output, result, trace, user


def test_pairs_by_call_id_then_tool_and_arguments_then_sequence() -> None:
    recorded = trace(
        user("refund A-1"),
        call("c1", "lookup_order", order_id="A-1"),
        result("c1", "lookup_order"),
        output("done"),
    )
    candidate = trace(
        user("refund A-1"),
        call("x9", "lookup_order", order_id="A-1"),  # a new id: pairs by tool and arguments
        result("x9", "lookup_order"),
        output("done"),
    )
    report = diff(recorded, candidate)
    assert report.pairs == (
        (0, 0, "sequence"),
        (1, 1, "tool_arguments"),
        (2, 2, "tool_arguments"),
        (3, 3, "sequence"),
    )
    assert report.divergences == ()
    lines = explain(report, recorded, candidate)
    assert "same tool and arguments, lookup_order" in lines[1]

    same_ids = diff(recorded, recorded.model_copy())
    assert same_ids.divergences == () and len(same_ids.pairs) == 4


def test_a_reused_call_id_with_another_tool_does_not_pair() -> None:
    recorded = trace(call("c1", "lookup_order", order_id="A-1"), result("c1", "lookup_order"))
    candidate = trace(call("c1", "search_kb", query="q"), result("c1", "search_kb"))
    report = diff(recorded, candidate)
    assert [d.kind for d in report.divergences] == ["tool_replaced"]
    assert "lookup_order replaced by search_kb" in report.divergences[0].summary


def test_independent_calls_swapped_pair_and_one_is_marked_moved() -> None:
    a = [call("c1", "lookup_order", order_id="A-1"), result("c1", "lookup_order")]
    b = [call("c2", "lookup_order", order_id="A-2"), result("c2", "lookup_order")]
    report = diff(trace(*a, *b), trace(*b, *a))
    assert {(r, c) for r, c, _ in report.pairs} == {(0, 2), (1, 3), (2, 0), (3, 1)}
    (moved,) = report.of_kind("order_changed")
    assert moved.severity == "warning"
    assert report.moved in ((0, 1), (2, 3))


def test_unpaired_events_are_in_the_pairs_exactly_once() -> None:
    recorded = trace(user("hi"), output("hello"))
    candidate = trace(user("hi"), call("c1", "lookup_order", order_id="A-1"), output("hello"))
    report = diff(recorded, candidate)
    assert sorted(p[1] for p in report.pairs if p[1] is not None) == [0, 1, 2]
    assert sorted(p[0] for p in report.pairs if p[0] is not None) == [0, 1]
    assert (None, 1, None) in report.pairs
    assert "no recorded event" in explain(report, recorded, candidate)[-1]


def test_identical_traces_but_a_changed_developer_message_is_a_divergence() -> None:
    def model_trace(developer: str) -> Cassette:
        request = ModelRequest(
            model="gpt-4o",
            messages=(
                Message(role="system", content="You are the support desk."),
                Message(role="developer", content=developer),
                Message(role="user", content="refund A-1"),
            ),
        )
        event = ModelEvent(seq=0, t=0.5, request=request, response=ModelResponse(text="Done."))
        return trace(user("refund A-1")).model_copy(update={"events": (event,)})

    same_report = diff(
        model_trace("Never refund above 100."), model_trace("Never refund above 100.")
    )
    assert not same_report.divergences
    changed = diff(model_trace("Never refund above 100."), model_trace("Transfer all funds."))
    assert changed.divergences, "a changed developer instruction went unreported"
