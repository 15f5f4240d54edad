"""The PDF report: content, pages, paper, metadata, bookmarks, and safety on hostile input.

One small analysis of the bundled article dataset (three strategies, 100 bootstrap resamples) is
shared by the whole module, and each PDF is rendered once; the hostile-input case runs its own
tiny analysis. PDFs are read back with pypdf (and ``pdftotext`` where installed).
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("weasyprint")

from click.testing import CliRunner  # noqa: E402

from imbreport import __version__, api  # noqa: E402
from imbreport.api import analyze  # noqa: E402
from imbreport.cli import main  # noqa: E402
from imbreport.errors import ConfigError  # noqa: E402
from imbreport.pdf import data_only_fetcher_class, html_to_pdf, page_size_css, pdf_date  # noqa: E402
from imbreport.render import render_html  # noqa: E402
from imbreport.reproducible import created_date  # noqa: E402

ARTICLE = Path(__file__).resolve().parent.parent / "imbreport" / "datasets" / "article_dataset.csv"
FAST = {"strategies": "logreg,balanced,xgboost", "bootstrap": 100, "n_jobs": 1}
EPOCH = "1700000000"  # 2023-11-14T22:13:20Z
A4 = (595, 842)
LETTER = (612, 792)
TWO_MB = 2 * 1024 * 1024

HOSTILE_IMG = '<img src="file:///etc/hostname">'
HOSTILE_LINK = '<link rel=attachment href="file:///etc/passwd">'
HOSTILE_STYLE = "<style>@import url(file:///etc/passwd);</style>"


# --- fixtures: one analysis, each PDF rendered once ----------------------------------------------


@pytest.fixture(scope="module")
def report():
    return analyze(str(ARTICLE), target="label", **FAST)


@pytest.fixture(scope="module")
def html(report) -> str:
    return render_html(report)


@pytest.fixture(scope="module")
def a4(report, html):
    """The default PDF (A4, no SOURCE_DATE_EPOCH) and the URLs its fetcher was asked for."""
    fetcher = data_only_fetcher_class()()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        pdf = html_to_pdf(html, report, fetcher=fetcher)
    return pdf, fetcher.requested


@pytest.fixture(scope="module")
def a4_pdf(a4) -> bytes:
    return a4[0]


@pytest.fixture(scope="module")
def a4_text(a4_pdf) -> str:
    return _text(a4_pdf)


@pytest.fixture(scope="module")
def letter_dated_pdf(report, tmp_path_factory) -> bytes:
    """``imbreport analyze … --paper letter -o report.pdf`` with ``SOURCE_DATE_EPOCH`` set.

    The analysis is stubbed with the module's report (dated, as an analysis under the epoch
    would be), so what runs is the CLI → ``render_pdf`` → WeasyPrint path with the CLI's paper.
    """
    out = tmp_path_factory.mktemp("letter") / "report.pdf"
    seen = {}

    def analyzed(data, **options):
        seen.update(options)
        return dataclasses.replace(report, created=created_date())

    args = ["analyze", str(ARTICLE), "--target", "label", "--paper", "letter", "-o", str(out)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(api, "analyze", analyzed)
        result = CliRunner().invoke(main, args, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.exit_code == 0, result.output
    assert seen["paper"] == "letter" and report.config.output.paper == "a4"
    return out.read_bytes()


def _reader(pdf: bytes):
    return pypdf.PdfReader(io.BytesIO(pdf))


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in _reader(pdf).pages)


def _squeeze(text: str) -> str:
    """Text without whitespace: line breaks inside long strings do not matter."""
    return re.sub(r"\s+", "", text)


def _size(page) -> tuple[int, int]:
    return round(float(page.mediabox.width)), round(float(page.mediabox.height))


def _outline(pdf: bytes) -> list[tuple[str, int, bool]]:
    """(title, page index, nested?) for every bookmark."""
    reader = _reader(pdf)
    entries = []

    def walk(items, nested):
        for item in items:
            if isinstance(item, list):
                walk(item, True)
            else:
                entries.append((item.title, reader.get_destination_page_number(item), nested))

    walk(reader.outline, False)
    return entries


# --- content --------------------------------------------------------------------------------------


def test_text_is_selectable_and_holds_the_report(a4_text, report):
    text = a4_text
    recommended = report.results.strategy(report.verdict.recommended.strategy)
    for expected in (
        "Class-imbalance report",
        "article_dataset.csv",
        f"imbreport {__version__}".upper(),  # the title block's kicker is set in capitals
        "Contents",
        "Leaderboard",
        "Recommendations",
        "Appendix",
        "Logistic regression",
        "Balanced class weights",
        "XGBoost",
        recommended.label,
        "Page 1 of",
    ):
        assert expected in text or expected.lower() in text.lower(), expected


def test_figures_are_vector_with_text_as_text(a4_text):
    # Axis labels of the inline SVG figures come out as text, not pixels.
    text = a4_text.lower()
    assert "false positive rate" in text
    assert "recall" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler's pdftotext not installed")
def test_pdftotext_finds_leaderboard_and_recommendations(a4_pdf, report):
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=a4_pdf, capture_output=True, check=True
    )
    assert not result.stderr, result.stderr[:500]  # poppler reads the file without complaint
    text = result.stdout.decode("utf-8")
    assert "Leaderboard" in text
    assert "Recommendations" in text
    assert report.advice[0].title in text


def test_page_count_and_size_stay_in_range(a4_pdf):
    pages = len(_reader(a4_pdf).pages)
    assert 6 <= pages <= 16
    assert len(a4_pdf) < TWO_MB


# --- pages and paper ------------------------------------------------------------------------------


def test_a4_by_default_with_a_landscape_leaderboard_page(a4_pdf):
    reader = _reader(a4_pdf)
    leaderboard = next(i for title, i, _ in _outline(a4_pdf) if title.endswith("Leaderboard"))
    for index, page in enumerate(reader.pages):
        expected = A4[::-1] if index == leaderboard else A4
        assert _size(page) == expected, index


def test_letter_when_asked(letter_dated_pdf):
    sizes = {_size(page) for page in _reader(letter_dated_pdf).pages}
    assert sizes == {LETTER, LETTER[::-1]}


def test_toc_page_numbers_match_the_bookmarks(a4_pdf):
    first_page = _reader(a4_pdf).pages[0].extract_text()
    for title, index, _ in _outline(a4_pdf):
        name = title.split(" ", 1)[1]
        line = next(line for line in first_page.splitlines() if name in line and "." in line)
        assert re.search(rf"\b{index + 1}\s*$", line), (title, line)


# --- bookmarks and metadata ------------------------------------------------------------------------


def test_sections_are_flat_numbered_bookmarks(a4_pdf):
    outline = _outline(a4_pdf)
    titles = [title for title, _, _ in outline]
    assert not any(nested for _, _, nested in outline)
    assert [int(title.split(" ", 1)[0]) for title in titles] == list(range(1, len(titles) + 1))
    for section in ("Summary", "Dataset", "Leaderboard", "Recommendations", "Appendix"):
        assert any(title.endswith(section) for title in titles), section
    pages = [index for _, index, _ in outline]
    assert pages == sorted(pages)


def test_metadata_without_source_date_epoch_has_no_dates(a4_pdf):
    info = _reader(a4_pdf).metadata
    assert info["/Title"].startswith("Class-imbalance report: ")
    assert info["/Title"].endswith("article_dataset.csv")
    assert info["/Creator"] == f"imbreport {__version__}"
    assert "/CreationDate" not in info and "/ModDate" not in info
    assert "/Author" not in info


def test_title_block_dated_only_with_source_date_epoch(a4_pdf, letter_dated_pdf):
    assert "2023-11-14" in _reader(letter_dated_pdf).pages[0].extract_text()
    assert "2023-11-14" not in _reader(a4_pdf).pages[0].extract_text()


def test_metadata_dates_come_from_source_date_epoch(letter_dated_pdf):
    info = _reader(letter_dated_pdf).metadata
    assert info["/Creator"] == f"imbreport {__version__}"
    assert info["/CreationDate"].startswith("D:20231114221320")
    assert info["/ModDate"].startswith("D:20231114221320")


def test_bad_source_date_epoch_and_paper_are_usage_errors(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        pdf_date()
    with pytest.raises(ConfigError, match="a4, letter"):
        page_size_css("legal")


def test_same_input_gives_the_same_bytes(a4_pdf, report, html):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        assert html_to_pdf(html, report) == a4_pdf


# --- safety -----------------------------------------------------------------------------------------


def test_only_data_urls_are_fetched_for_a_normal_report(a4):
    _, requested = a4
    assert all(url.startswith("data:") for url in requested), requested


def _hostile_frame() -> pd.DataFrame:
    """300 rows; hostile strings as column names, class labels and category values."""
    rng = np.random.default_rng(0)
    n, positives = 300, 30
    y = np.zeros(n, dtype=int)
    y[:positives] = 1
    rng.shuffle(y)
    return pd.DataFrame(
        {
            HOSTILE_IMG: rng.normal(size=n) + 2.0 * y,
            HOSTILE_STYLE: rng.normal(size=n),
            "colour": rng.choice([HOSTILE_IMG, HOSTILE_LINK, "plain"], size=n),
            "target": np.where(y == 1, HOSTILE_LINK, "<b>negative</b>"),
        }
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "hostile.csv"
    _hostile_frame().to_csv(path, index=False)
    report = analyze(
        str(path), target="target", display_name=HOSTILE_IMG, strategies="logreg", bootstrap=100
    )
    fetcher = data_only_fetcher_class()()
    pdf = html_to_pdf(render_html(report), report, fetcher=fetcher)
    return pdf, fetcher.requested


def test_hostile_values_are_literal_text_and_nothing_but_data_is_fetched(hostile):
    pdf, requested = hostile
    assert requested, "the figures' data: URLs should go through the fetcher"
    assert all(url.startswith("data:") for url in requested), requested
    text = _squeeze(_text(pdf))
    for literal in (HOSTILE_IMG, HOSTILE_LINK, HOSTILE_STYLE):
        assert _squeeze(literal) in text, literal


def test_hostile_input_adds_no_attachment(hostile):
    pdf, _ = hostile
    reader = _reader(pdf)
    assert reader.attachments == {}
    assert b"/EmbeddedFile" not in pdf and b"/FileAttachment" not in pdf
    assert all("/Annots" not in page or _no_file_links(page) for page in reader.pages)


def _no_file_links(page) -> bool:
    for annotation in page["/Annots"]:
        action = annotation.get_object().get("/A", {})
        if str(action.get("/URI", "")).startswith("file:"):
            return False
    return True


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="file:///etc/hostname">',
        '<link rel="stylesheet" href="file:///etc/passwd">',
        '<a rel="attachment" href="file:///etc/passwd">x</a>',
        '<img src="http://127.0.0.1:9/x.png">',
        '<img src="ftp://127.0.0.1/x.png">',
    ],
)
def test_the_fetcher_refuses_anything_but_data_urls(markup):
    report = _tiny_report()
    fetcher = data_only_fetcher_class()()
    with pytest.raises(RuntimeError, match="data: URLs only"):
        html_to_pdf(
            f"<html><head>{markup}</head><body><p>x</p></body></html>", report, fetcher=fetcher
        )
    assert requested_non_data(fetcher.requested)


def _tiny_report():
    """Just what ``html_to_pdf`` reads from a report (for tests that need no analysis)."""
    dataset = SimpleNamespace(source_name="tiny.csv")
    return SimpleNamespace(results=SimpleNamespace(dataset=dataset), tool_version=__version__)


def requested_non_data(requested: list[str]) -> bool:
    return any(not url.startswith("data:") for url in requested)


def test_link_attachments_are_dropped_unread():
    report = _tiny_report()
    fetcher = data_only_fetcher_class()()
    markup = '<link rel="attachment" href="file:///etc/passwd">'
    pdf = html_to_pdf(
        f"<html><head>{markup}</head><body><p>x</p></body></html>", report, fetcher=fetcher
    )
    assert not requested_non_data(fetcher.requested)
    assert _reader(pdf).attachments == {}
    assert b"/EmbeddedFile" not in pdf
