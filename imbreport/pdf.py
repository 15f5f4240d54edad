"""HTML → PDF with WeasyPrint, safely: only ``data:`` URLs are ever fetched, no attachments.

This module owns the PDF step and nothing else: the report's HTML (built by ``render.py`` from
``templates/report.html``, with ``templates/print.css`` for the page layout) goes in, PDF bytes
come out.

- **Fetching.** The HTML carries its figures inline (SVG, or PNG ``data:`` URIs), so the PDF needs
  nothing from outside. ``DataOnlyFetcher`` serves ``data:`` URLs and refuses every other scheme
  (``file:``, ``http:``, ``ftp:`` …) before anything is opened. A refusal stops the rendering: our
  templates never ask for such a URL, so one showing up is a bug, not something to skip quietly.
- **Paper.** ``print.css`` says ``size: A4`` (the default, also for printing the HTML from a
  browser). The paper chosen on the command line is added as a *user* stylesheet, which loses to
  author rules in the cascade unless marked ``!important`` — so it is.
- **Metadata.** Title, creator ``imbreport <version>``, no author, no attachments, no
  presentational hints; dates only from ``SOURCE_DATE_EPOCH`` (otherwise none, so the bytes are
  reproducible).

Needs WeasyPrint 68 or later (the ``URLFetcher`` class, and the fix for CVE-2025-68616).
"""

from __future__ import annotations

import base64
import contextlib
import re

from imbreport.errors import ConfigError
from imbreport.model import Report
from imbreport.reproducible import source_date

PAPER_SIZES = {"a4": "A4", "letter": "letter"}
# Named page in print.css for wide content (the leaderboard); it gets the same paper, turned.
WIDE_PAGE = "wide"


def data_only_fetcher_class():
    """The ``DataOnlyFetcher`` class (built lazily so importing imbreport stays WeasyPrint-free)."""
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        """A WeasyPrint URL fetcher that serves ``data:`` URLs and refuses everything else.

        Every requested URL is recorded in ``requested`` (tests assert on it).
        """

        def __init__(self):
            super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)
            self.requested: list[str] = []

        def fetch(self, url, headers=None):
            self.requested.append(str(url))
            if not str(url).lower().startswith("data:"):
                raise ValueError(f"imbreport renders PDFs from data: URLs only; refused {url[:80]}")
            return super().fetch(url, headers)

    return DataOnlyFetcher


def page_size_css(paper: str = "a4") -> str:
    """The stylesheet that sets the paper, winning over ``print.css`` (``!important``)."""
    key = str(paper).lower()
    if key not in PAPER_SIZES:
        raise ConfigError(
            f"Unknown paper size '{paper}'. Use one of: {', '.join(sorted(PAPER_SIZES))}."
        )
    size = PAPER_SIZES[key]
    return (
        f"@page {{ size: {size} !important; }}\n"
        f"@page {WIDE_PAGE} {{ size: {size} landscape !important; }}\n"
    )


def html_to_pdf(html: str, report: Report, paper: str = "a4", fetcher=None) -> bytes:
    """Render the report's HTML to PDF bytes on ``paper`` (``a4`` or ``letter``)."""
    return layout_pdf(html, pdf_labels(report), paper, fetcher)


def pdf_labels(report: Report) -> dict[str, str]:
    """What the PDF's metadata says about the report (its title and the generator)."""
    return {
        "title": f"Class-imbalance report: {report.results.dataset.source_name}",
        "generator": f"imbreport {report.tool_version}",
    }


def layout_pdf(html: str, labels: dict[str, str], paper: str = "a4", fetcher=None) -> bytes:
    """The PDF bytes of ``html`` on ``paper``, with ``labels`` (``pdf_labels``) as metadata."""
    fetcher = fetcher or data_only_fetcher_class()()
    stylesheet = page_size_css(paper)
    with _refusals_as_errors():
        document = _render(svg_as_images(html), stylesheet, fetcher)
        _set_metadata(document.metadata, labels)
        return document.write_pdf(attachments=[], pdf_identifier=b"imbreport")


def warm_up() -> None:
    """Import WeasyPrint and lay out a line of text, so that the fonts are found and loaded
    (a process's first layout pays for that) before a report is waiting for its PDF."""
    layout_pdf("<p>imbreport</p>", {"title": "", "generator": ""})


_INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def svg_as_images(html: str) -> str:
    """Each inline ``<svg>`` figure as an ``<img>`` with a ``data:`` URL of the same SVG.

    WeasyPrint draws both alike (the same PDF, text kept as text), but an inline SVG's thousands
    of elements also go through the CSS cascade: as images the PDF renders about 25 % faster.
    The SVGs were checked for active content when they were put into the HTML; data strings
    cannot match here, as they are escaped (``&lt;svg``).
    """

    def as_image(match: re.Match) -> str:
        encoded = base64.b64encode(match.group(0).encode("utf-8")).decode("ascii")
        return f'<img alt="" src="data:image/svg+xml;base64,{encoded}">'

    return _INLINE_SVG.sub(as_image, html)


def _render(html: str, stylesheet: str, fetcher):
    from weasyprint import CSS, HTML

    return HTML(string=html, base_url="data:,", url_fetcher=fetcher).render(
        stylesheets=[CSS(string=stylesheet, url_fetcher=fetcher)],
        presentational_hints=False,
    )


@contextlib.contextmanager
def _refusals_as_errors():
    """A refused URL stops WeasyPrint with a ``BaseException``; make it an ordinary error (a bug)."""
    from weasyprint.urls import FatalURLFetchingError

    try:
        yield
    except FatalURLFetchingError as exc:
        raise RuntimeError(f"PDF rendering stopped: {exc.__cause__ or exc}") from exc


def _set_metadata(metadata, labels: dict[str, str]) -> None:
    metadata.title = labels["title"]
    metadata.generator = labels["generator"]
    metadata.authors = []
    metadata.description = None
    metadata.keywords = []
    metadata.attachments = []
    metadata.custom = {}
    metadata.created = metadata.modified = pdf_date()


def pdf_date() -> str | None:
    """``SOURCE_DATE_EPOCH`` as a W3C date-time, or ``None`` (no date in the PDF)."""
    moment = source_date()
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
