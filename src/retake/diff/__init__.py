"""Divergence: where, at which loop step, a candidate trace behaves differently from the
recorded one, and how much it matters.

``diff(recorded, candidate, *, noise=None, canaries=(), wiring=None, config=None)`` aligns the
two traces (``_align``), compares aligned events (``_compare``) under named noise rules
(``_rules``) and an optional learned noise model (``_noise``, from ``learn_noise``), and grades
what is left with the taxonomy (``_taxonomy``). ``explain`` says why each pair was made.

JSON schema of ``DiffReport`` (``schema_version`` 1; ``report.model_dump_json()``)
-------------------------------------------------------------------------------------

::

    {
      "schema_version": 1,
      "recorded":  {"session_id": str, "release": str, "events": int},
      "candidate": {"session_id": str, "release": str, "events": int},
      "divergences": [                      # in the candidate's step order, wiring first
        {"kind": <kind>, "severity": "info" | "warning" | "error" | "critical",
         "recorded": int | null, "candidate": int | null,      # steps (seq)
         "tool": str | null, "summary": str,
         "changes": [{"path": str, "change": "changed" | "added" | "removed",
                      "recorded": any, "candidate": any,       # long strings abridged
                      "similarity": float | null, "summary": str}]}
      ],
      "suppressed": [                       # differences that did not count, and why
        {"kind": "field" | <kind>, "recorded": int | null, "candidate": int | null,
         "path": str | null, "rule": str, "reason": str}
      ],
      "ignored": {<rule>: int},             # timestamps, durations, ids, usage, http,
                                            # replay_notes: differing values never reported
      "pairs": [[int | null, int | null, "call_id" | "tool_arguments" | "sequence" | null]],
      "moved": [int],                       # recorded steps paired against the order
      "noise_trials": int                   # 0 without a noise model
    }

``<kind>`` is one of: tool_added, tool_removed, tool_replaced, arguments_changed,
order_changed, permission_changed, called_then_rejected, refused_before_call,
write_after_denial, retries_changed, result_changed, output_changed, error_raised,
canary_leaked, model_response_changed, model_request_drift, wiring_drift, input_changed,
step_added, step_removed, step_changed. Suppression rules: ``text_similarity``,
``number_tolerance``, ``path:<glob>``, ``regex:<pattern>``, ``learned``. Fields are only ever
added within a version; a removal or a change of meaning bumps ``schema_version``.
"""

from retake.errors import DiffError

from ._compare import similarity
from ._engine import diff, explain, explain_pair, learn_noise
from ._rules import IGNORED_RULES, DiffConfig

__all__ = [
    "IGNORED_RULES",
    "DiffConfig",
    "DiffError",
    "diff",
    "explain",
    "explain_pair",
    "learn_noise",
    "similarity",
]
