"""A divergence report in the terminal: the two traces side by side per step, divergent
fields highlighted, noise dimmed, and (with ``explain``) why each pair was made."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from retake.schema import Cassette, DiffReport, Divergence, Event

from ._timeline import event_summary

_SEVERITY_STYLE = {
    "critical": "bold white on red",
    "error": "bold red",
    "warning": "yellow",
    "info": "cyan",
}


_CHANGED = "bold black on yellow"
"""How a divergent field's name and value are marked in the two side columns."""


def _side(event: Event | None, width: int, marks: Sequence[str] = ()) -> Text:
    if event is None:
        return Text("—", style="dim")
    tool, detail, status = event_summary(event, width)
    head = f"{event.seq:>3} {event.kind}" + (f" {tool}" if tool else "")
    text = Text(head, style="bold")
    if status:
        text.append(f" [{status}]")
    if detail:
        shown = Text("\n" + detail, style="default")
        shown.highlight_words(marks, _CHANGED)
        text.append_text(shown)
    return text


def _marks(found: Sequence[Divergence], side: str) -> list[str]:
    """What to mark on one side: the changed fields' names and their values there."""
    words: set[str] = set()
    for d in found:
        for change in d.changes:
            leaf = change.path.rsplit(".", 1)[-1].split("[", 1)[0]
            if leaf:
                words.add(f'"{leaf}"')
            value = change.recorded if side == "recorded" else change.candidate
            if isinstance(value, str) and len(value) >= 2:
                words.add(value.removesuffix("\u2026"))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                words.add(str(value))
    return sorted(words, key=len, reverse=True)


def diff_view(
    report: DiffReport,
    recorded: Cassette,
    candidate: Cassette,
    *,
    explain: Sequence[str] | None = None,
    width: int = 60,
    all_steps: bool = False,
) -> RenderableType:
    """The report as a rich renderable; ``explain`` adds one pairing reason per pair, and
    ``all_steps`` shows the steps without divergences too."""
    by_cand: dict[int, list[Divergence]] = {}
    by_rec: dict[int, list[Divergence]] = {}
    for d in report.divergences:
        if d.candidate is not None:
            by_cand.setdefault(d.candidate, []).append(d)
        elif d.recorded is not None:
            by_rec.setdefault(d.recorded, []).append(d)
    noisy: dict[tuple[int | None, int | None], list[str]] = {}
    for s in report.suppressed:
        why = f"{s.path}: " if s.path else ""
        noisy.setdefault((s.recorded, s.candidate), []).append(f"{why}{s.rule}, {s.reason}")
    table = Table(title="recorded vs candidate, step by step", expand=True, show_lines=True)
    table.add_column("recorded", ratio=2)
    table.add_column("candidate", ratio=2)
    table.add_column("divergence", ratio=3)
    order = sorted(
        range(len(report.pairs)),
        key=lambda i: (
            report.pairs[i][1] if report.pairs[i][1] is not None else _after(report, i),
            report.pairs[i][0] or 0,
        ),
    )
    for i in order:
        r, c, _ = report.pairs[i]
        found = (by_cand.get(c, []) if c is not None else []) + (
            by_rec.get(r, []) if r is not None and c is None else []
        )
        is_noise = (r, c) in noisy
        if not (found or all_steps or is_noise or explain):
            continue
        cell = Text()
        for d in found:
            cell.append(f"{d.severity} ", style=_SEVERITY_STYLE[d.severity])
            cell.append(f"{d.kind}: {d.summary}\n")
            for change in d.changes:
                if change.summary not in d.summary:
                    cell.append(f"  {change.summary}\n", style="magenta")
        if is_noise:
            for reason in noisy[(r, c)]:
                cell.append(f"noise (suppressed): {reason}\n", style="dim")
        if explain:
            cell.append(f"\n{explain[i]}", style="dim italic")
        cell.rstrip()
        a = None if r is None else recorded.events[r]
        b = None if c is None else candidate.events[c]
        style = "dim" if is_noise and not found else None
        table.add_row(
            _side(a, width, _marks(found, "recorded")),
            _side(b, width, _marks(found, "candidate")),
            cell,
            style=style,
        )
    return Group(_header(report), table, _footer(report))


def _after(report: DiffReport, i: int) -> float:
    """Place an event only in the recording just after its predecessor's candidate step."""
    for j in range(i - 1, -1, -1):
        c = report.pairs[j][1]
        if c is not None:
            return c + 0.5
    return -0.5


def _header(report: DiffReport) -> Text:
    text = Text()
    text.append(f"recorded  {report.recorded.session_id} ({report.recorded.release})\n")
    text.append(f"candidate {report.candidate.session_id} ({report.candidate.release})\n")
    wiring = report.of_kind("wiring_drift")
    for d in wiring:
        text.append(f"wiring drift: {d.summary}\n", style=_SEVERITY_STYLE[d.severity])
    return text


def _footer(report: DiffReport) -> Text:
    counts: dict[str, int] = {}
    for d in report.divergences:
        counts[d.severity] = counts.get(d.severity, 0) + 1
    text = Text()
    if not report.divergences:
        text.append("no divergences", style="bold green")
    else:
        for severity in ("critical", "error", "warning", "info"):
            if counts.get(severity):
                text.append(f"{counts[severity]} {severity}  ", style=_SEVERITY_STYLE[severity])
    if report.suppressed:
        rules: dict[str, int] = {}
        for s in report.suppressed:
            rules[s.rule] = rules.get(s.rule, 0) + 1
        listed = ", ".join(f"{n} by {rule}" for rule, n in sorted(rules.items()))
        text.append(f"\nsuppressed as noise: {listed}", style="dim")
    if report.ignored:
        listed = ", ".join(f"{rule} ({n})" for rule, n in sorted(report.ignored.items()))
        text.append(f"\nignored by rule: {listed}", style="dim")
    return text
