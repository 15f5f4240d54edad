"""Tests of the rendered HTML report, on hand-built ``Report`` objects (tests/report_factory.py).

Golden files: ``tests/gold/*.html`` hold the rendered HTML of hand-built reports with the volatile
parts scrubbed: figure markup (matplotlib's SVG paths and PNG bytes drift between versions; the
figures are tested separately for presence, colours and text alternatives) and the inlined CSS.
Everything else — sections, tables, numbers, captions, alt texts, escaping — must match exactly.

After an intended change to the templates or the view model, refresh the gold files with::

    IMBREPORT_REFRESH_GOLD=1 pytest tests/test_html.py

and review the diff (``git diff tests/gold``) before committing it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_factory import HOSTILE, make_report

from imbreport.recommend import judge
from imbreport.registry import colour
from imbreport.render import render_html

GOLD = Path(__file__).parent / "gold"
REFRESH = os.environ.get("IMBREPORT_REFRESH_GOLD") == "1"
SIZE_BUDGET = 1_500_000
SECTION_IDS = [
    "summary",
    "dataset",
    "protocol",
    "leaderboard",
    "metrics-chart",
    "curves",
    "confusion",
    "threshold",
    "folds",
    "workload",
    "features",
    "resampling",
    "boundary",
    "calibration",
    "anomaly",
    "recommendations",
    "appendix",
]
#: XML namespace names: identifiers in ``xmlns`` attributes, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
URL_ATTRIBUTES = {
    "src",
    "href",
    "xlink:href",
    "action",
    "formaction",
    "poster",
    "srcset",
    "background",
    "data",
    "cite",
    "longdesc",
    "usemap",
    "ping",
    "manifest",
}
#: The only local references allowed: fragment links and inline PNG images.
LOCAL_URL = re.compile(r"^(#[\w:.-]*|data:image/png;base64,[A-Za-z0-9+/=\s]+)$")


# --- rendering, once per variant --------------------------------------------------------------


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(make_report())


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_html(make_report(hostile=True))


@pytest.fixture(scope="module")
def no_winner_html() -> str:
    return render_html(make_report(beats_chance=False))


# --- helpers ----------------------------------------------------------------------------------


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order, and the text of ``<style>``."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def scrub(text: str) -> str:
    """The HTML without what may change with library versions: figure markup and the CSS."""
    text = re.sub(r"<svg\b.*?</svg>", "[svg]", text, flags=re.S)
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,[png]", text)
    text = re.sub(r'(<img [^>]*)width="\d+" height="\d+"', r'\1width="[w]" height="[h]"', text)
    return re.sub(r"<style>.*?</style>", "<style>[css]</style>", text, flags=re.S)


def structure(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Tag names and attribute names, in order: what data must never be able to change."""
    return [(tag, tuple(sorted(attrs))) for tag, attrs in Elements(scrub(text)).tags]


def blocks(text: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}\b.*?</{tag}>", text, flags=re.S)


def check_gold(name: str, text: str) -> None:
    path = GOLD / name
    scrubbed = scrub(text)
    if REFRESH:
        GOLD.mkdir(exist_ok=True)
        path.write_text(scrubbed, encoding="utf-8")
    assert path.exists(), f"{path} missing: run IMBREPORT_REFRESH_GOLD=1 pytest tests/test_html.py"
    expected = path.read_text(encoding="utf-8")
    assert scrubbed == expected, (
        f"Rendered HTML differs from {path}. If the change is intended, refresh the gold files "
        "with IMBREPORT_REFRESH_GOLD=1 pytest tests/test_html.py and review git diff tests/gold."
    )


# --- golden files -----------------------------------------------------------------------------


def test_matches_gold(html):
    check_gold("report.html", html)


def test_no_winner_matches_gold(no_winner_html):
    check_gold("report_no_winner.html", no_winner_html)


def test_hostile_matches_gold(hostile_html):
    check_gold("report_hostile.html", hostile_html)


# --- structure --------------------------------------------------------------------------------


def test_sections_present_in_order(html, no_winner_html):
    for text in (html, no_winner_html):
        assert re.findall(r'<section id="([^"]+)"', text) == SECTION_IDS


def test_table_of_contents_links_every_section(html):
    toc = blocks(html, "nav")[0]
    assert re.findall(r'href="#([^"]+)"', toc) == SECTION_IDS


def test_summary_band_comes_first_with_verdict_and_key_numbers(html):
    summary = blocks(html, "section")[0]
    assert 'id="summary"' in summary
    assert "Recommended: Logistic regression at threshold 0.210" in summary
    numbers = re.findall(r'<div class="keynum">(.*?)</div>\s*</div>', summary, flags=re.S)
    assert [re.search(r'kn-label">([^<]+)', n).group(1) for n in numbers] == [
        "PR-AUC",
        "Recall",
        "Precision",
    ]
    assert all("95% interval [" in n for n in numbers)
    assert 'class="paradox"' in summary and "accuracy 0.950" in summary


def test_no_winner_summary_says_so(no_winner_html):
    summary = blocks(no_winner_html, "section")[0]
    assert "No strategy beats chance" in summary
    assert 'class="keynum"' not in summary


def test_leaderboard_sorted_with_recommended_row_and_skipped_reason(html):
    table = blocks(html, "table")[
        [i for i, t in enumerate(blocks(html, "table")) if "leaderboard" in t][0]
    ]
    rows = re.findall(r'<tr class="([^"]*)">\s*<th scope="row">(.*?)</th>', table, flags=re.S)
    names = [re.search(r'class="name">([^<]+)', th).group(1) for _, th in rows]
    assert names == [
        "XGBoost (scale_pos_weight)",
        "Logistic regression",
        "SMOTE",
        "Balanced class weights",
        "Majority baseline",
        "Isolation Forest",
    ]
    classes = dict(zip(names, (c for c, _ in rows), strict=True))
    assert classes["Logistic regression"] == "recommended"
    assert "skipped" in classes["Isolation Forest"]
    assert "not enough negatives in one fold" in table


def test_report_with_only_the_baseline_still_has_every_section():
    report = make_report(beats_chance=False)
    results = report.results
    baseline = tuple(s for s in results.strategies if s.name == "majority" or not s.ok)
    results = dataclasses.replace(results, strategies=baseline)
    verdict = judge(results)
    assert verdict.top is None and verdict.focus is None and not verdict.comparisons
    text = render_html(dataclasses.replace(report, results=results, verdict=verdict))
    assert re.findall(r'<section id="([^"]+)"', text) == SECTION_IDS
    assert "No strategy produced predictions to draw here" in text
    assert 'id="fig-curves"' not in text


def test_every_table_has_header_cells(html, no_winner_html):
    for text in (html, no_winner_html):
        tables = blocks(text, "table")
        assert tables
        for table in tables:
            assert "<th" in table, table[:200]


# --- figures ----------------------------------------------------------------------------------


def test_every_figure_has_caption_and_text_alternative(html):
    figures = blocks(html, "figure")
    keys = [re.search(r'id="fig-([^"]+)"', f).group(1) for f in figures]
    assert keys == [
        "class-balance",
        "metrics-chart",
        "curves",
        "confusion",
        "threshold",
        "resampling",
        "boundary",
        "calibration",
    ]
    for figure in figures:
        caption = re.search(r"<figcaption>(.*?)</figcaption>", figure, flags=re.S).group(1)
        assert len(re.sub(r"<[^>]+>", "", caption).strip()) > 20
        if "<svg" in figure:
            label = re.search(r'<div class="svg" role="img" aria-label="([^"]+)">\s*<svg', figure)
            assert label and len(label.group(1)) > 20
        else:
            image = re.search(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', figure)
            assert image and len(image.group(1)) > 20


def test_same_strategy_same_colour_and_recommended_thicker(html):
    curves = next(f for f in blocks(html, "figure") if 'id="fig-curves"' in f)
    for name in ("logreg", "smote", "balanced", "xgboost"):
        assert f"stroke: {colour(name).lower()}" in curves
    assert f"stroke: {colour('logreg').lower()}; stroke-width: 3.2" in curves  # recommended
    assert f"stroke: {colour('xgboost').lower()}; stroke-width: 1.6" in curves
    leaderboard = next(t for t in blocks(html, "table") if "leaderboard" in t)
    swatches = re.findall(
        r'background: (#[0-9A-Fa-f]{6})"></span><span class="name">([^<]+)', leaderboard
    )
    labels = {"Logistic regression": "logreg", "Majority baseline": "majority", "SMOTE": "smote"}
    for swatch, label in swatches:
        if label in labels:
            assert swatch == colour(labels[label])
    assert colour("majority") == "#999999"  # grey for the do-nothing baseline
    confusion = next(f for f in blocks(html, "figure") if 'id="fig-confusion"' in f)
    assert "#999999" in confusion


def test_figures_drawn_at_reading_size(html):
    """No tiny labels: figures are drawn at the width they are shown, text at 10 pt or more."""
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        width = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', svg).group(1))
        assert 300 < width <= 9.4 * 72 * 1.1  # about the 920 px text column, never blown up
        sizes = [float(x) for x in re.findall(r"font-size: ([\d.]+)px", svg)]
        assert sizes and min(sizes) >= 10
    for width, height in re.findall(
        r'<img src="data:[^"]+" alt="[^"]+" width="(\d+)" height="(\d+)"', html
    ):
        assert 300 < int(width) <= 960 and int(height) > 100


def test_figure_titles_state_the_finding(html):
    titles = re.findall(r'<span class="figtitle">([^<]+)</span>', html)
    assert "Precision-recall: XGBoost (scale_pos_weight) leads with PR-AUC 0.86" in titles[2]
    assert "Logistic regression finds 40 of 50 positives" in titles[3]


# --- safety -----------------------------------------------------------------------------------


def test_no_script_and_no_event_handlers(html, hostile_html):
    for text in (html, hostile_html):
        assert "<script" not in text.lower()
        for tag, attrs in Elements(text).tags:
            assert tag not in {"script", "iframe", "object", "embed", "foreignobject", "link"}
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)


def test_no_external_urls(html, hostile_html, no_winner_html):
    for text in (html, hostile_html, no_winner_html):
        document = Elements(text)
        for tag, attrs in document.tags:
            for name, value in attrs.items():
                if name == "xmlns" or name.startswith("xmlns:"):
                    assert value in NAMESPACES, (tag, name, value)
                elif name in URL_ATTRIBUTES:
                    assert LOCAL_URL.match(value), (tag, name, value[:80])
                else:
                    assert not re.search(r"url\(\s*['\"]?(?!#)", value), (tag, name, value)
        css = "".join(document.styles)
        assert "@import" not in css
        assert not re.search(r"url\(\s*['\"]?(?!#|data:)", css)
        # Any absolute URL in the file is one of the two SVG namespace names.
        assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) <= NAMESPACES
        assert not re.search(r"""(?:src|href)\s*=\s*["']?//""", text)


def test_hostile_strings_are_escaped_and_create_nothing(html, hostile_html):
    assert HOSTILE not in hostile_html
    assert "alert(1)</script>" not in hostile_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34; onmouseover=&#34;x" in hostile_html
    # Data cannot add an element or an attribute: the markup skeleton is the benign one.
    assert structure(hostile_html) == structure(html)


def test_hostile_strings_in_figures_stay_text(hostile_html):
    for svg in re.findall(r"<svg\b.*?</svg>", hostile_html, flags=re.S):
        assert "<script" not in svg
        for tag, attrs in Elements(svg).tags:
            assert tag != "script"
            assert not any(name.startswith("on") for name in attrs)


# --- size and reproducibility -----------------------------------------------------------------


def test_size_budget_with_huge_curves_and_scatter():
    report = make_report(curve_points=50_000, scatter_points=30_000)
    text = render_html(report)
    assert len(text.encode("utf-8")) < SIZE_BUDGET
    for svg in re.findall(r"<svg\b.*?</svg>", text, flags=re.S):
        assert len(svg) < 250_000


RENDER_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from report_factory import make_report
from imbreport.render import render_html
sys.stdout.buffer.write(render_html(make_report()).encode("utf-8"))
"""


def test_byte_identical_across_processes(html):
    """Another interpreter, another hash seed, the same bytes (no ids, dates or set order leak)."""
    script = RENDER_SCRIPT.format(tests=str(Path(__file__).parent))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, check=True, timeout=120
    )
    assert done.stdout == html.encode("utf-8")
    assert render_html(make_report()) == html
