"""HTML → PDF with WeasyPrint, safely: only ``data:`` URLs are ever fetched, no attachments.

The report's HTML already carries its figures inline, so the PDF needs nothing from outside.
A fetcher that refuses every other scheme makes sure that a hostile string that somehow became a
URL can never read a local file or reach the network. Metadata: title, creator
``imbreport <version>``; dates only from ``SOURCE_DATE_EPOCH``.
"""

from __future__ import annotations

import datetime
import os

from imbreport.model import Report


def data_only_fetcher_class():
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        """A WeasyPrint URL fetcher that serves ``data:`` URLs and refuses everything else."""

        def __init__(self):
            super().__init__(allowed_protocols={"data"}, allow_redirects=False)
            self.requested: list[str] = []

        def fetch(self, url, headers=None):
            self.requested.append(url)
            if not str(url).lower().startswith("data:"):
                raise ValueError(f"imbreport renders PDFs from data: URLs only; refused {url[:80]}")
            return super().fetch(url, headers)

    return DataOnlyFetcher


def html_to_pdf(html: str, report: Report, paper: str = "a4", fetcher=None) -> bytes:
    from weasyprint import CSS, HTML

    fetcher = fetcher or data_only_fetcher_class()()
    size = "letter" if str(paper).lower() == "letter" else "A4"
    document = HTML(string=html, base_url="data:,", url_fetcher=fetcher).render(
        stylesheets=[CSS(string=f"@page {{ size: {size}; }}", url_fetcher=fetcher)],
        presentational_hints=False,
    )
    metadata = document.metadata
    metadata.title = f"Class-imbalance report: {report.results.dataset.source_name}"
    metadata.generator = f"imbreport {report.tool_version}"
    metadata.authors = []
    metadata.attachments = []
    metadata.created = metadata.modified = _pdf_date()
    return document.write_pdf(attachments=[], pdf_identifier=b"imbreport")


def _pdf_date() -> str | None:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    try:
        moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    except (ValueError, OverflowError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
