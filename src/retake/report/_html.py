"""The evidence bundle as one self-contained HTML page, for a reviewer's browser.

The page loads nothing: its CSS and its few lines of script are inline, and its
Content-Security-Policy (``default-src 'none'`` plus the hashes of that CSS and script) stops
anything else, so a bundle can be opened from a CI artifact or a mail attachment without
reaching the network. Every value from the bundle is escaped: recorded data is untrusted.

Anchors are stable, so a review comment can link to a step: ``#s{i}`` is the scenario at index
``i`` of the bundle; ``#s{i}-c{seq}`` and ``#s{i}-r{seq}`` its candidate and recorded steps;
``#s{i}-d{j}`` its ``j``-th divergence. Trials after the first use the prefix ``s{i}t{k}``
(``#s{i}t{k}-c{seq}``). Rows named by a divergence or cited by a failed verdict carry the class
``divergent``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterable
from typing import Any

from retake.schema import (
    SEVERITIES,
    ControlEvidence,
    Divergence,
    EvidenceBundle,
    ScenarioEvidence,
    Step,
    TrialEvidence,
    Verdict,
)

_CSS = """
:root{--fail:#b91c1c;--fail-bg:#fee2e2;--pass:#15803d;--pass-bg:#dcfce7;--warn:#92400e;
--warn-bg:#fef3c7;--muted:#57606a;--line:#d0d7de;--info-bg:#eef4ff;--err-bg:#ffedd5}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1280px;padding:16px 20px 48px;color:#1f2328;background:#fff;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:16px;margin:0}
h4{font-size:14px;margin:14px 0 6px}
a{color:#0550ae}code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
font-size:12px}
pre{margin:0;white-space:pre-wrap;word-break:break-word}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
.nowrap{white-space:nowrap}
td.num,th.num{text-align:right}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;
white-space:nowrap}
.pass{color:var(--pass);background:var(--pass-bg)}.fail{color:var(--fail);background:var(--fail-bg)}
.nodata{color:var(--warn);background:var(--warn-bg)}
.sev-critical.badge{color:#fff;background:var(--fail)}.sev-error.badge{color:#9a3412;
background:var(--err-bg)}.sev-warning.badge{color:var(--warn);background:var(--warn-bg)}
.sev-info.badge{color:var(--muted);background:#eef1f4}
.decision{display:flex;gap:16px;align-items:center;border:2px solid;border-radius:8px;
padding:12px 16px;margin:8px 0 4px}
.decision.pass{border-color:var(--pass)}.decision.fail{border-color:var(--fail)}
.decision .word{font-size:26px;font-weight:800;letter-spacing:.04em}
.meta{display:flex;flex-wrap:wrap;gap:4px 18px;color:var(--muted);margin:6px 0}
.scenario{border:1px solid var(--line);border-radius:8px;margin:14px 0;padding:0}
.scenario>summary{padding:10px 12px;cursor:pointer;display:flex;gap:10px;align-items:center}
.scenario>.body{padding:0 12px 12px}
.scenario.failed{border-left:5px solid var(--fail)}
.scenario.passed{border-left:5px solid var(--pass)}
.verdicts li{margin:3px 0}.verdicts{padding-left:18px;margin:4px 0}
.timeline{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.timeline table{font-size:12.5px;table-layout:fixed}
.timeline col.seq{width:34px}.timeline col.kind{width:82px}.timeline col.tool{width:104px}
.timeline col.status{width:80px}
.timeline td{word-break:break-word}
tr.divergent.sev-info{background:var(--info-bg)}tr.divergent.sev-warning{background:#fef9c3}
tr.divergent.sev-error{background:var(--err-bg)}tr.divergent.sev-critical{background:var(--fail-bg)}
tr.cited td:first-child{box-shadow:inset 4px 0 0 var(--fail);font-weight:700}
tr.cited:not(.sev-critical):not(.sev-error){background:var(--fail-bg)}
tr:target,details:target{outline:2px solid #0969da;outline-offset:-2px}
.marks{margin-top:2px}.marks a{text-decoration:none;margin-right:4px}
details.div{border:1px solid var(--line);border-radius:6px;margin:4px 0;padding:4px 8px}
details.div>summary{cursor:pointer}details.div table{margin:6px 0;font-size:12.5px}
.toolbar{float:right}.toolbar button{font:inherit;font-size:12px;margin-left:6px}
"""

_JS = """
(function () {
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (!el) { return; }
    for (var node = el; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    el.scrollIntoView({block: "center"});
  }
  function setAll(open) {
    document.querySelectorAll("details").forEach(function (d) { d.open = open; });
  }
  var toolbar = document.getElementById("toolbar");
  toolbar.hidden = false;
  document.getElementById("expand").addEventListener("click", function () { setAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { setAll(false); });
  window.addEventListener("hashchange", reveal);
  reveal();
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


_CSP = (
    f"default-src 'none'; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    """A value from the bundle, escaped for text and attribute positions alike."""
    return html.escape(str(value), quote=True)


def _value(value: Any) -> str:
    """A field value as readable text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _badge(text: str, cls: str) -> str:
    return f'<span class="badge {cls}">{_e(text)}</span>'


def _pass_fail(passed: bool) -> str:
    return _badge("pass", "pass") if passed else _badge("fail", "fail")


def _worst(severities: Iterable[str]) -> str:
    return max(severities, key=SEVERITIES.index)


def _failed_expectations(scenario: ScenarioEvidence) -> int:
    """Expectations that failed in at least one trial (every trial checks the same list)."""
    failed = {i for t in scenario.trials for i, v in enumerate(t.verdicts) if not v.passed}
    return len(failed)


def _steps(prefix: str, side: str, seqs: Iterable[int]) -> str:
    return ", ".join(f'<a href="#{prefix}-{side}{s}">{s}</a>' for s in seqs)


def _header(bundle: EvidenceBundle) -> str:
    failed = sum(not s.pass_k for s in bundle.scenarios)
    word, cls = ("PASS", "pass") if bundle.passed else ("FAIL", "fail")
    why = (
        "every expectation held and no gating critical divergence appeared"
        if bundle.passed
        else f"{failed} of {len(bundle.scenarios)} scenarios failed"
    )
    meta = [
        ("agent", bundle.agent),
        ("model", bundle.model),
        ("finished", bundle.created_at.isoformat()),
        ("took", f"{bundle.seconds:.1f} s"),
        ("retake", bundle.retake_version),
        ("bundle format", bundle.bundle_version),
        ("signed", "yes (HMAC-SHA256)" if bundle.signature else "no"),
    ]
    parts = [
        f'<div class="decision {cls}"><span class="word {cls} badge">{word}</span>',
        f"<div><h1>Release {_e(bundle.release)}</h1><div>{_e(why)}</div></div></div>",
        '<div class="meta">',
        *(f"<span>{_e(k)}: <b>{_e(v)}</b></span>" for k, v in meta),
        "</div>",
    ]
    if bundle.wiring:
        parts.append("<h2>Wiring drift</h2><ul>")
        parts += [
            f"<li><b>{_e(w.kind)}</b> <code>{_e(w.tool)}</code>: {_e(w.detail)}</li>"
            for w in bundle.wiring
        ]
        parts.append("</ul>")
    return "\n".join(parts)


def _summary(order: list[int], bundle: EvidenceBundle) -> str:
    rows = []
    for i in order:
        s = bundle.scenarios[i]
        n = len(s.trials)
        passed = sum(t.passed for t in s.trials)
        if s.critical == 0:
            critical = "0"
        elif s.gating_critical == s.critical:
            critical = f"{s.critical} (gating)"
        else:
            critical = f"{s.critical} ({s.gating_critical} gating; mutated)"
        rows.append(
            f'<tr><td><a href="#s{i}">{_e(s.scenario)}</a></td><td>{_pass_fail(s.pass_k)}</td>'
            f'<td>{"yes" if s.pass_k else "no"} <span class="muted">(k={n})</span></td>'
            f'<td class="num">{s.pass_rate:.0%} <span class="muted">({passed}/{n})</span></td>'
            f'<td class="num">{_failed_expectations(s)}</td><td class="num">{_e(critical)}</td>'
            f"<td>{_e(', '.join(s.controls))}</td></tr>"
        )
    if not rows:
        return "<h2>Scenarios</h2><p>No scenarios ran.</p>"
    head = (
        "<tr><th>Scenario</th><th>Result</th><th>pass^k</th><th class=num>Pass rate</th>"
        "<th class=num>Failed expectations</th><th class=num>Critical divergences</th>"
        "<th>Controls</th></tr>"
    )
    return f"<h2>Scenarios</h2><table>{head}{''.join(rows)}</table>"


_CONTROL_ORDER = {"failed": 0, "without evidence": 1, "evidenced": 2}
_CONTROL_CLASS = {"failed": "fail", "without evidence": "nodata", "evidenced": "pass"}


def _controls(bundle: EvidenceBundle, index: dict[str, int]) -> str:
    if not bundle.controls:
        return "<h2>Controls</h2><p>No controls: the suite has no crosswalk.</p>"
    rows = []
    controls: list[ControlEvidence] = sorted(
        bundle.controls, key=lambda c: _CONTROL_ORDER[c.status]
    )
    for c in controls:
        links = ", ".join(
            f'<a href="#s{index[name]}">{_e(name)}</a>' if name in index else _e(name)
            for name in c.scenarios
        )
        rows.append(
            f"<tr><td>{_badge(c.status, _CONTROL_CLASS[c.status])}</td>"
            f"<td class=nowrap><b>{_e(c.id)}</b></td><td>{_e(c.statement)}</td>"
            f"<td>{_e('; '.join(c.references))}</td>"
            f"<td>{links or '<span class=muted>no scenario names it</span>'}</td></tr>"
        )
    head = (
        "<tr><th>Status</th><th>Control</th><th>Statement</th><th>References</th>"
        "<th>Scenarios</th></tr>"
    )
    return f"<h2>Controls</h2><table>{head}{''.join(rows)}</table>"


def _verdict(v: Verdict, prefix: str) -> str:
    params = json.dumps(v.params, ensure_ascii=False, default=str) if v.params else ""
    params = f" <code>{_e(params)}</code>" if params else ""
    cites = f" — candidate steps {_steps(prefix, 'c', v.evidence)}" if v.evidence else ""
    return (
        f"<li>{_pass_fail(v.passed)} <b>{_e(v.expectation)}</b>{params}: {_e(v.detail)}{cites}</li>"
    )


def _timeline(
    title: str,
    steps: tuple[Step, ...],
    prefix: str,
    side: str,
    marks: dict[int, list[int]],
    divergences: tuple[Divergence, ...],
    cited: set[int],
) -> str:
    rows = []
    for st in steps:
        classes = []
        named = marks.get(st.seq, [])
        if named or st.seq in cited:
            classes.append("divergent")
        if named:
            classes.append("sev-" + _worst(divergences[j].severity for j in named))
        if st.seq in cited:
            classes.append("cited")
        links = "".join(
            f'<a href="#{prefix}-d{j}">{_badge(d.kind, "sev-" + d.severity)}</a>'
            for j, d in ((j, divergences[j]) for j in named)
        )
        if st.seq in cited:
            links += _badge("cited by a failed expectation", "fail")
        rows.append(
            f'<tr id="{prefix}-{side}{st.seq}" class="{" ".join(classes)}"><td>{st.seq}</td>'
            f"<td>{_e(st.kind)}</td><td>{_e(st.tool)}</td><td><span class=mono>{_e(st.detail)}"
            f"</span>{f'<div class=marks>{links}</div>' if links else ''}</td>"
            f"<td>{_e(st.status)}</td></tr>"
        )
    cols = (
        '<colgroup><col class="seq"><col class="kind"><col class="tool"><col><col class="status">'
    )
    head = "<tr><th>#</th><th>Kind</th><th>Tool</th><th>Event</th><th>Status</th></tr>"
    body = "".join(rows) or '<tr><td colspan="5" class="muted">no steps</td></tr>'
    return f"<div><h4>{_e(title)}</h4><table>{cols}</colgroup>{head}{body}</table></div>"


def _divergence(d: Divergence, j: int, prefix: str) -> str:
    where = []
    if d.recorded is not None:
        where.append(f"recorded step {_steps(prefix, 'r', [d.recorded])}")
    if d.candidate is not None:
        where.append(f"candidate step {_steps(prefix, 'c', [d.candidate])}")
    tool = f" <code>{_e(d.tool)}</code>" if d.tool else ""
    if d.changes:
        rows = "".join(
            f"<tr><td><code>{_e(c.path)}</code></td><td>{_e(c.change)}</td>"
            f"<td><pre>{_e(_value(c.recorded))}</pre></td>"
            f"<td><pre>{_e(_value(c.candidate))}</pre></td><td>{_e(c.summary)}</td></tr>"
            for c in d.changes
        )
        body = (
            "<table><tr><th>Field</th><th>Change</th><th>Recorded</th><th>Candidate</th>"
            f"<th>In words</th></tr>{rows}</table>"
        )
    else:
        body = '<p class="muted">No field-level detail: it concerns the step as a whole.</p>'
    return (
        f'<details class="div sev-{_e(d.severity)}" id="{prefix}-d{j}"><summary>'
        f"{_badge(d.severity, 'sev-' + d.severity)} <b>{_e(d.kind)}</b>{tool} "
        f"<span class=muted>{' → '.join(where)}</span> — {_e(d.summary)}</summary>{body}</details>"
    )


def _trial(t: TrialEvidence, prefix: str) -> str:
    rec_marks: dict[int, list[int]] = {}
    cand_marks: dict[int, list[int]] = {}
    for j, d in enumerate(t.divergences):
        if d.recorded is not None:
            rec_marks.setdefault(d.recorded, []).append(j)
        if d.candidate is not None:
            cand_marks.setdefault(d.candidate, []).append(j)
    cited = {seq for v in t.verdicts if not v.passed for seq in v.evidence}
    verdicts = sorted(t.verdicts, key=lambda v: v.passed)
    order = sorted(
        range(len(t.divergences)), key=lambda j: -SEVERITIES.index(t.divergences[j].severity)
    )
    parts = [f"<p>Replay <b>{_e(t.status)}</b> in {t.seconds:.2f} s.</p>"]
    if t.error:
        parts.append(f"<h4>Error</h4><pre>{_e(t.error)}</pre>")
    parts.append("<h4>Expectations</h4>")
    if verdicts:
        parts.append(f'<ul class="verdicts">{"".join(_verdict(v, prefix) for v in verdicts)}</ul>')
    else:
        parts.append('<p class="muted">No expectations checked.</p>')
    if t.answer is not None:
        parts.append(f"<h4>Answer</h4><pre>{_e(t.answer)}</pre>")
    if t.canaries:
        parts.append(f"<p>Canaries injected: <code>{_e(', '.join(t.canaries))}</code></p>")
    for u in t.unmatched:
        parts.append(
            f"<details class=div><summary>No recorded answer for <code>{_e(u.tool)}</code> "
            f"({_e(u.effect)}): it got the fail-closed answer</summary>"
            f"<pre>{_e(u.explanation)}</pre></details>"
        )
    parts.append('<div class="timeline">')
    parts.append(_timeline("Recorded", t.recorded, prefix, "r", rec_marks, t.divergences, set()))
    parts.append(_timeline("Candidate", t.candidate, prefix, "c", cand_marks, t.divergences, cited))
    parts.append("</div>")
    parts.append(f"<h4>Divergences ({len(t.divergences)})</h4>")
    parts += [_divergence(t.divergences[j], j, prefix) for j in order]
    return "\n".join(parts)


def _scenario(s: ScenarioEvidence, i: int) -> str:
    state = "passed" if s.pass_k else "failed"
    parts = [
        f'<details class="scenario {state}" id="s{i}"{"" if s.pass_k else " open"}><summary>',
        f"{_pass_fail(s.pass_k)} <h3>{_e(s.scenario)}</h3>",
        f'<span class="muted">{_e(s.description)}</span></summary><div class="body">',
        (
            f'<p class="muted">Cassette <code>{_e(s.cassette)}</code>, seed {s.seed}; '
            f"controls: {_e(', '.join(s.controls) or 'none')}</p>"
        ),
    ]
    if s.mutations:
        parts.append("<p>Mutations: " + "; ".join(f"<code>{_e(m)}</code>" for m in s.mutations))
        parts.append("</p>")
    for k, t in enumerate(s.trials):
        prefix = f"s{i}" if k == 0 else f"s{i}t{k}"
        if len(s.trials) == 1:
            parts.append(_trial(t, prefix))
        else:
            parts.append(
                f'<details class="div"{"" if t.passed else " open"}><summary>Trial {t.trial} '
                f"{_pass_fail(t.passed)}</summary>{_trial(t, prefix)}</details>"
            )
    parts.append("</div></details>")
    return "\n".join(parts)


def _files(bundle: EvidenceBundle) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(path)}</code></td><td class=mono>{_e(digest)}</td></tr>"
        for path, digest in sorted(bundle.files.items())
    )
    return (
        f"<h2>Files</h2><details class=div><summary>{len(bundle.files)} files, by sha256 "
        "(<code>retake verify</code> re-hashes them)</summary>"
        f"<table><tr><th>Path</th><th>sha256</th></tr>{rows}</table></details>"
    )


def _counts(counts: dict[str, int]) -> str:
    return _e(", ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(counts.items())) or "none")


def _diagnostics(bundle: EvidenceBundle) -> str:
    d = bundle.diagnostics
    if not (d.adherence or d.incidents):
        return ""
    rows = [
        f"<tr><td>{_e(a.tool)}</td><td>{_counts(a.recorded)}</td><td>{_counts(a.release)}</td>"
        f"<td>{_e(f'{a.p_value:.3g}')}{' (significant)' if a.significant else ''}</td>"
        f"<td>{_e(a.shift)}</td></tr>"
        for a in d.adherence
    ]
    incidents = [
        f"<tr><td>{_e(i.signature.replace('_', ' '))}</td><td>{i.recorded}</td>"
        f"<td>{i.release}</td><td>{_e(', '.join(i.scenarios))}</td></tr>"
        for i in d.incidents
    ]
    parts = [
        (
            "<h2>Diagnostics</h2><p>Over the trials of scenarios without mutations: does the "
            "release lean on its gates more than the recordings did (Fisher's exact test), and "
            "which incidents became likelier.</p>"
        ),
        (
            "<table><tr><th>Tool</th><th>Recordings</th><th>Release</th><th>p</th><th>Shift</th>"
            f"</tr>{''.join(rows)}</table>"
        ),
    ]
    if incidents:
        parts.append(
            "<table><tr><th>Incident</th><th>Recordings</th><th>Release</th>"
            f"<th>More often in</th></tr>{''.join(incidents)}</table>"
        )
    return "".join(parts)


def render_html(bundle: EvidenceBundle) -> str:
    """The evidence bundle as one self-contained HTML page.

    The decision and the release, a table of scenarios, the controls (those without evidence
    included), then each scenario: its verdicts (failed first, citing the steps that decided
    them), the recorded and candidate timelines side by side with divergent steps highlighted,
    and each divergence's field-level detail in an expandable element. Failing scenarios come
    first and open; anchors are described in this module's docstring.
    """
    order = sorted(range(len(bundle.scenarios)), key=lambda i: bundle.scenarios[i].pass_k)
    index = {s.scenario: i for i, s in enumerate(bundle.scenarios)}
    toolbar = (
        '<span class="toolbar" id="toolbar" hidden><button type="button" id="expand">'
        'Expand all</button><button type="button" id="collapse">Collapse all</button></span>'
    )
    body = [
        _header(bundle),
        _summary(order, bundle),
        _controls(bundle, index),
        _diagnostics(bundle),
        f"<h2>{toolbar}Scenario details</h2>",
        *(_scenario(bundle.scenarios[i], i) for i in order),
        _files(bundle),
    ]
    title = f"retake: release {bundle.release} — {'PASS' if bundle.passed else 'FAIL'}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{_JS}</script>\n</body></html>\n"
    )
