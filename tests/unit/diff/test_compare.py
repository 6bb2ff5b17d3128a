"""Comparison: noise rules, tolerances, text similarity, and deepdiff on changed lists."""

from __future__ import annotations

import pytest

from retake.diff import DiffConfig, diff, similarity

from ._traces import call, output, result, trace


def test_times_ids_and_durations_are_ignored_by_named_rules() -> None:
    recorded = trace(call("c1", "lookup_order", order_id="A-1"), result("c1", "lookup_order"))
    candidate = trace(
        call("zz", "lookup_order", order_id="A-1"), result("zz", "lookup_order", duration=3.0)
    )
    candidate = candidate.model_copy(
        update={"events": tuple(e.model_copy(update={"t": 9.0}) for e in candidate.events)}
    )
    report = diff(recorded, candidate)
    assert report.divergences == ()
    assert report.ignored == {"timestamps": 2, "ids": 2, "durations": 1}


def test_reworded_text_is_a_similarity_not_a_character_diff() -> None:
    recorded = trace(output("Your refund of 20 EUR for order A-1 has been issued."))
    close = trace(output("Your refund of 20 EUR for order A-1 has been issued!"))
    far = trace(output("Refund issued: 20 EUR on A-1, you will see it in a few days."))
    assert diff(recorded, close).divergences == ()
    assert diff(recorded, close).suppressed[0].rule == "text_similarity"
    (changed,) = diff(recorded, far).divergences
    assert changed.kind == "output_changed" and changed.severity == "warning"
    (field,) = changed.changes
    assert field.similarity is not None and 0 < field.similarity < 0.9
    assert field.summary == f"text changed ({field.similarity:.2f} similar)"
    assert similarity("abc", "abc") == 1.0 and similarity("abc", "xyz") == 0.0


def test_numbers_compare_with_a_tolerance() -> None:
    recorded = trace(call("c1", "issue_refund", order_id="A-1", amount=20.0))
    assert (
        diff(
            recorded, trace(call("c1", "issue_refund", order_id="A-1", amount=20.0000001))
        ).divergences
        == ()
    )
    (changed,) = diff(
        recorded, trace(call("c1", "issue_refund", order_id="A-1", amount=25.0))
    ).divergences
    assert changed.kind == "arguments_changed" and changed.severity == "error"
    assert changed.changes[0].path == "arguments.amount"


def test_user_paths_and_regexes_suppress_and_say_which_rule() -> None:
    recorded = trace(result("c1", "issue_refund", {"refund_id": "RF-1a2b3c4d", "at": "x"}))
    candidate = trace(result("c1", "issue_refund", {"refund_id": "RF-99887766", "at": "y"}))
    config = DiffConfig(ignore_paths=("tool_result:output.at",), ignore_values=(r"RF-[0-9a-f]{8}",))
    report = diff(recorded, candidate, config=config)
    assert report.divergences == ()
    assert sorted(s.rule for s in report.suppressed) == [
        "path:tool_result:output.at",
        "regex:RF-[0-9a-f]{8}",
    ]


def test_lists_that_change_length_are_diffed_item_by_item() -> None:
    recorded = trace(result("c1", "lookup_order", {"items": [{"sku": "A"}, {"sku": "B"}]}))
    candidate = trace(result("c1", "lookup_order", {"items": [{"sku": "A"}]}))
    (changed,) = diff(recorded, candidate).divergences
    assert changed.kind == "result_changed"
    assert [(c.path, c.change) for c in changed.changes] == [("output.items[1]", "removed")]


def test_an_out_of_range_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match=r"text_threshold=1\.5"):
        DiffConfig(text_threshold=1.5)


def test_a_copied_config_uses_its_own_regexes() -> None:
    config = DiffConfig(ignore_values=(r"RF-[0-9]+",))
    assert config.normalise("refund RF-123") == ("refund \u2026", r"RF-[0-9]+")
    copied = config.model_copy(update={"ignore_values": (r"refund",)})
    assert copied.normalise("refund RF-123") == ("\u2026 RF-123", "refund")
