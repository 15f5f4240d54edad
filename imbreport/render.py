"""Rendering a ``Report`` to HTML, PDF, JSON and Markdown, and writing files atomically.

Jinja2 with ``autoescape=True`` always: every string from the data is escaped. The only markup
inserted unescaped is the SVG that matplotlib generated (checked by ``_svg_markup``). The PDF is the
same HTML rendered by WeasyPrint with a URL fetcher that accepts only ``data:`` URLs.
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources

from imbreport.errors import ConfigError
from imbreport.files import write_atomic
from imbreport.model import Report

FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".json": "json", ".md": "md"}


def output_format(path: str) -> str:
    """The format for an output path, from its extension; ``-`` is JSON on stdout."""
    if path == "-":
        return "json"
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ConfigError(
            f"Unknown output extension '{ext or path}' for '{path}'. Use .html, .pdf, .json or .md "
            "(or '-' for JSON on stdout)."
        )
    return FORMATS[ext]


def templates_folder():
    """The installed ``imbreport.templates`` package, or ``templates/`` of a source checkout
    (when Python imports ``imbreport`` straight from the repository, e.g. ``python -c`` there)."""
    try:
        return resources.files("imbreport.templates")
    except ModuleNotFoundError:
        from pathlib import Path

        return Path(__file__).resolve().parent.parent / "templates"


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    folder = templates_folder()
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["svg"] = _svg_markup
    env.filters["md"] = markdown_escape
    env.filters["md_code"] = markdown_code
    return env


_FORBIDDEN_IN_SVG = re.compile(
    r"<\s*(script|foreignObject|iframe|a)\b|\bon\w+\s*=|href\s*=\s*\"(?!#|data:image/png;base64,)",
    re.I,
)


def _svg_markup(svg: str):
    """Mark matplotlib's SVG as safe after checking it carries nothing active or external."""
    from markupsafe import Markup

    tags = " ".join(re.findall(r"<[^>]*>", svg))  # text nodes are escaped data, not markup
    if not svg.lstrip().startswith("<svg") or _FORBIDDEN_IN_SVG.search(tags):
        raise ValueError("Refusing to inline an SVG with active or external content.")
    return Markup(svg)


#: What would start a Markdown block: a heading, a list item, a rule or setext underline, a fence,
#: a link reference definition.
_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?:\s|$)|[-+*](?:\s|$)|\d{1,9}[.)](?:\s|$)|[-*_=\s]{3,}$|~~~|\[)"
)


def markdown_escape(value) -> str:
    """Make a data string safe inline in GitHub-flavoured Markdown, and nothing more.

    HTML-special characters become entities (no raw HTML, no ``<autolink>``); ``|`` and backticks
    are backslash-escaped (tables, code spans), as are ``$`` and ``*`` (no maths or emphasis) and
    ``](`` (no link or image made of data) and a
    leading block marker (heading, list, quote, rule); backslashes are doubled so data cannot undo
    an escape; newlines become spaces; @mentions, #123 references and URLs are broken with an
    invisible word joiner (the summary is posted as a pull-request comment). Ordinary punctuation such as ``(``, ``[`` and ``_`` stays
    as it is. Not for use inside backtick code spans, where entities would show literally.
    """
    text = "" if value is None else str(value)
    text = re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
    text = _CONTROL.sub("?", text)  # no terminal escapes for whoever runs `cat summary.md`
    text = text.replace("\\", "\\\\")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("|", "\\|").replace("`", "\\`").replace("](", "]\\(")
    text = text.replace("$", "\\$").replace("*", "\\*")  # no maths, no emphasis from data
    return _escape_block_start(_unlinked(text))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: What GitHub turns into a notification or a link in a comment: @mentions (and e-mail
#: addresses), #123 and GH-123 references, URLs and www. addresses.
_LINKING = re.compile(r"(@)(?=\w)|(#)(?=\d)|(GH)(?=-\d)|(:)(?=//)|(www)(?=\.)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def _unlinked(text: str) -> str:
    """``text`` with an invisible word joiner after each marker GitHub would link or notify on,
    so data shows as typed but mentions no one and links nowhere."""
    return _LINKING.sub(lambda match: match.group(0) + WORD_JOINER, text)


def markdown_code(value) -> str:
    """``value`` as an inline code span: shown and copied exactly as typed (a command to rerun),
    and inert, since GitHub makes no link, mention or markup inside code. The fence is one
    backtick longer than any run of backticks in the text; line breaks and control characters
    become spaces and ``?``."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub("?", re.sub(r"[\r\n]+", " ", text))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def _escape_block_start(text: str) -> str:
    """A backslash before the marker (after the digits of an ordered-list number)."""
    if not _BLOCK_START.match(text):
        return text
    digits = len(text) - len(text.lstrip("0123456789"))
    return text[:digits] + "\\" + text[digits:]


class Renderer:
    """Renders one report to any of the formats, drawing its figures and its HTML at most once
    (``-o report.html -o report.pdf`` lays out the same HTML). The HTML does not depend on the
    paper size: the PDF stage sets the page."""

    def __init__(self, report: Report, process=None):
        self.report = report
        self.process = process  # a ``render_process.RenderProcess`` to do the work, or None
        self._html: str | None = None

    def html(self) -> str:
        if self._html is None and self.process is not None:
            self._html = self.process.html(self.report)
        if self._html is None:
            from imbreport.plots import all_figures
            from imbreport.view import build_view

            # two processes where the cores allow: the figures are half the HTML's time
            view = build_view(self.report, all_figures(self.report, processes=_cores()))
            self._html = _environment().get_template("report.html").render(v=view)
        return self._html

    def render(self, fmt: str, paper: str | None = None) -> bytes:
        if fmt == "html":
            return self.html().encode("utf-8")
        if fmt == "json":
            return render_json(self.report).encode("utf-8")
        if fmt == "md":
            return render_markdown(self.report).encode("utf-8")
        if fmt == "pdf":
            from imbreport.pdf import layout_pdf, pdf_labels

            html, labels = self.html(), pdf_labels(self.report)
            paper = paper or self.report.config.output.paper
            if self.process is not None:
                laid_out = self.process.pdf(html, labels, paper)
                if laid_out is not None:
                    return laid_out
            return layout_pdf(html, labels, paper)
        raise ConfigError(f"Unknown format '{fmt}'.")


def _cores() -> int:
    return min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def render_html(report: Report) -> str:
    return Renderer(report).html()


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_markdown(report: Report) -> str:
    from imbreport.view import build_view

    view = build_view(report, {})
    env = _environment()
    env.autoescape = False  # Markdown: data strings go through the ``md`` filter instead
    return env.get_template("summary.md").render(v=view)


def render_pdf(report: Report, paper: str | None = None) -> bytes:
    return Renderer(report).render("pdf", paper)


def render(report: Report, fmt: str, paper: str | None = None) -> bytes:
    return Renderer(report).render(fmt, paper)


def write_report(report: Report, path: str, paper: str | None = None) -> None:
    """Render ``report`` in the format its extension names and write it atomically."""
    write_atomic(path, render(report, output_format(path), paper))
