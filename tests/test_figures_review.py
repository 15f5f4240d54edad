"""Review findings on the figures and the PDF layout (issue #18): the decision surfaces are cut at
the tuned threshold, the threshold plot draws no precision where no positive is flagged, the
calibration panels fit their points or say there is too little, and the PDF neither strands a
line on a page of its own nor prints the leaderboard's intervals below 7 pt.

Hand-built reports (tests/report_factory.py), so no model is fitted.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pytest
from report_factory import illustration, make_report

from imbreport import plots
from imbreport.model import Deployment, Metric

PRINT_CSS = Path(__file__).resolve().parent.parent / "templates" / "print.css"


def with_deployment(report, threshold: float):
    deployment = Deployment("logreg", threshold, (0.16, 0.25), {"recall": Metric(0.8)})
    return dataclasses.replace(
        report, verdict=dataclasses.replace(report.verdict, deployment=deployment)
    )


def png_size(figure: plots.Figure) -> tuple[int, int]:
    from PIL import Image

    data = base64.b64decode(figure.png_data_uri.split(",", 1)[1])
    return Image.open(io.BytesIO(data)).size


# --- decision surfaces ----------------------------------------------------------------------------


def test_boundary_is_cut_at_the_threshold_to_deploy_and_titled_by_it():
    report = with_deployment(make_report(), 0.31)
    figure = plots.all_figures(report)["boundary"]
    assert "at its tuned threshold 0.310 (the one to deploy)" in figure.title
    # the other panel (XGBoost) at its own tuned threshold, the folds' median
    assert "at its tuned threshold 0.620 (folds' median)" in figure.title
    assert "above 0.5" not in figure.title
    assert "flags" in figure.title and "drawn positives" in figure.title
    assert "refitted on these two axes" in figure.caption


def test_boundary_falls_back_to_half_only_without_a_tuned_threshold_and_says_so():
    report = make_report()
    strategies = tuple(
        dataclasses.replace(s, threshold=None) if s.name == "xgboost" else s
        for s in report.results.strategies
    )
    report = dataclasses.replace(
        report, results=dataclasses.replace(report.results, strategies=strategies)
    )
    lines = plots.surface_lines(report)
    assert lines["xgboost"].level == 0.5 and not lines["xgboost"].tuned
    assert lines["logreg"].tuned and lines["logreg"].level == pytest.approx(0.21)
    figure = plots.all_figures(report)["boundary"]
    assert "XGBoost (scale_pos_weight) flags" in figure.title
    assert " at 0.5" in figure.title
    assert "it has no tuned threshold" in figure.caption


def test_surface_shares_count_the_drawn_rows_at_the_level():
    picture = illustration("a", points=60)
    grid = np.where(picture.grid_x >= 0.5, 0.9, 0.1)  # flags every row right of x = 0.5
    positives, negatives = plots.shares_flagged(picture, grid, 0.5)
    xs = picture.grid_x[0]
    nearest = xs[np.abs(picture.points[:, :1] - xs).argmin(axis=1)]
    flagged = nearest >= 0.5
    assert positives == pytest.approx(flagged[picture.labels == 1].mean())
    assert negatives == pytest.approx(flagged[picture.labels == 0].mean())
    assert plots.shares_flagged(picture, grid, 0.95) == (0.0, 0.0)


def test_boundary_with_one_panel_keeps_the_full_width_so_its_text_is_not_enlarged():
    report = make_report()
    labels = {s.name: s.label for s in report.results.strategies}
    two = plots.figure_boundary(report.illustration, labels, plots.surface_lines(report))
    one_panel = dataclasses.replace(
        report.illustration, surfaces={"logreg": report.illustration.surfaces["logreg"]}
    )
    one = plots.figure_boundary(one_panel, labels, plots.surface_lines(report))
    assert png_size(one) == png_size(two)
    assert one.width == two.width


# --- threshold plot -------------------------------------------------------------------------------


def test_precision_is_not_drawn_where_no_positive_is_flagged():
    precision = np.array([0.1, 0.4, 0.9, 0.0, 0.0])
    recall = np.array([1.0, 0.8, 0.2, 0.0, 0.0])
    drawn = plots.precision_drawn(precision, recall)
    assert np.isnan(drawn[3:]).all()
    assert drawn[:3].tolist() == [0.1, 0.4, 0.9]
    assert not np.any(drawn[recall == 0] == 0)


def test_threshold_figure_masks_precision_and_leaves_the_numbers_alone():
    report = make_report()
    focus = report.results.strategy(report.verdict.focus)
    sweep = focus.curves["threshold_sweep"]
    sweep["recall"][-2:] = [0.0, 0.0]
    sweep["precision"][-2:] = [0.0, 0.0]
    before = {k: list(v) for k, v in sweep.items()}
    figure = plots.figure_threshold(report, focus)
    assert "Precision is not drawn where no positive is flagged" in figure.caption
    assert {k: list(v) for k, v in sweep.items()} == before  # the sweep itself is untouched
    # the precision line (first line drawn, blue) ends before the unflagged thresholds
    path = re.search(r'<g id="threshold-line2d_\d+">\s*<path d="([^"]+)"[^>]*#0072b2', figure.svg)
    assert path is not None
    points = re.findall(r"[ML] ?([\d.]+) ([\d.]+)", path.group(1))
    assert len(points) == len(sweep["threshold"]) - 2


# --- calibration ----------------------------------------------------------------------------------


def test_calibration_panel_says_too_few_when_a_strategy_has_one_bin():
    report = make_report()
    strategies = tuple(
        dataclasses.replace(
            s,
            curves={**s.curves, "calibration": {"predicted": [0.01], "observed": [0.01]}},
        )
        if s.name == "logreg"
        else s
        for s in report.results.strategies
    )
    report = dataclasses.replace(
        report, results=dataclasses.replace(report.results, strategies=strategies)
    )
    figure = plots.figure_calibration(report)
    assert "too few filled bins" in figure.svg
    assert "Too few filled bins to draw a curve for Logistic regression" in figure.caption
    assert figure.svg.count("too few filled bins") == 1  # only that strategy's panel


def test_calibration_axes_fit_the_points():
    predicted, observed = [0.002, 0.05, 0.12], [0.001, 0.03, 0.09]
    limit = plots.calibration_limit(predicted, observed)
    assert 0.12 <= limit <= 0.2  # zoomed in, not every point at the origin of a 0-1 square
    assert plots.calibration_limit([0.1, 0.95], [0.0, 0.9]) == 1.0
    assert plots.calibration_limit([0.001], [0.0]) == pytest.approx(0.02)


# --- PDF layout -----------------------------------------------------------------------------------


def print_rules() -> str:
    return PRINT_CSS.read_text(encoding="utf-8")


def test_no_section_is_forced_onto_a_new_page_or_kept_whole():
    css = print_rules()
    forced = re.findall(r"([^{}]+)\{[^}]*break-before:\s*page", css)
    assert not [s for s in forced if "section" in s or "#" in s], forced
    kept_whole = re.findall(r"([^{}]+)\{[^}]*break-inside:\s*avoid", css)
    assert not [s for s in kept_whole if re.search(r"#(metrics-chart|curves|confusion)", s)]
    assert re.search(r"section > h2 \+ \*[^{]*\{[^}]*break-before: avoid", css)


def test_leaderboard_intervals_are_at_least_seven_points():
    css = print_rules()
    rule = re.search(r"\.leaderboard \.ci[^{]*\{([^}]*)\}", css)
    assert rule is not None
    size = re.search(r"font-size:\s*([\d.]+)pt", rule.group(1))
    assert size is not None and float(size.group(1)) >= 7


@pytest.fixture(scope="module")
def pdf_pages() -> list[str]:
    pypdf = pytest.importorskip("pypdf")
    pytest.importorskip("weasyprint")
    from imbreport.pdf import html_to_pdf
    from imbreport.render import render_html

    report = make_report()
    pdf = html_to_pdf(render_html(report), report)
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def test_no_pdf_page_holds_only_a_stray_line(pdf_pages):
    furniture = re.compile(r"Class-imbalance report|claims\.csv|Page \d+ of \d+")
    for number, text in enumerate(pdf_pages, 1):
        body = [line for line in text.splitlines() if line.strip() and not furniture.search(line)]
        assert len(body) > 3, f"page {number} holds only {body}"


def test_pdf_leaderboard_numbers_are_never_below_seven_points():
    pypdf = pytest.importorskip("pypdf")
    pytest.importorskip("weasyprint")
    from imbreport.pdf import html_to_pdf
    from imbreport.render import render_html

    report = make_report()
    reader = pypdf.PdfReader(io.BytesIO(html_to_pdf(render_html(report), report)))
    page = next(p for p in reader.pages if p.mediabox.width > p.mediabox.height)  # landscape
    sizes = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            sizes.append(size * np.hypot(tm[2], tm[3]) * np.hypot(cm[2], cm[3]))

    page.extract_text(visitor_text=visit)
    assert sizes and min(sizes) >= 6.95
