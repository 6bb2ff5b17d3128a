"""Views for people: terminal rendering with rich, and plain data for other tools."""

from ._bundle import junit_xml, markdown, terminal
from ._diff_view import diff_view
from ._html import render_html
from ._timeline import abridge, event_summary, timeline_table

__all__ = [
    "abridge",
    "diff_view",
    "event_summary",
    "junit_xml",
    "markdown",
    "render_html",
    "terminal",
    "timeline_table",
]
