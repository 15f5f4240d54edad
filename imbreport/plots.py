"""Figures of the report, drawn from a ``Report`` with matplotlib (imported lazily).

Each ``figure_*`` function takes plain values and returns a ``Figure`` holding inline markup: SVG for
line art (text kept as text, so it is selectable in the PDF), a PNG data URI for dense scatter
plots. Figures are drawn at the size they are shown (``WIDTH`` inches ≈ the text column), so the
fonts set here are the fonts the reader sees; titles state the finding, captions say what to look
at. Output is byte-stable: fixed SVG hash salt, no dates in metadata, mathtext disabled so that
strings from the data are drawn literally. Curves are thinned, so size does not grow with rows.
"""

from __future__ import annotations

import base64
import io
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imbreport.model import Illustration, Report, Results, StrategyResult
from imbreport.registry import spec_for

#: Strategies have their fixed Okabe-Ito colours in the registry (``registry.colour``); grey for
#: the baseline and for names the registry does not know (``OTHER_COLOUR``).
POSITIVE_COLOUR = "#D55E00"
NEGATIVE_COLOUR = "#0072B2"
SYNTHETIC_COLOUR = "#E69F00"
CHANCE_COLOUR = "#8a8a8a"
#: Width of a full-column figure in inches; shown at 96 px per inch (≈ the 920 px text column).
WIDTH = 9.4
CSS_DPI = 96
PNG_DPI = 150
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
#: Most points drawn per curve (curves are thinned beyond this; the shape survives).
MAX_DRAWN_POINTS = 400
#: Most rows drawn per class in a scatter plot (every positive kept up to its cap).
MAX_SCATTER = {0: 3000, 1: 1500}


@dataclass(frozen=True)
class Figure:
    """One drawn figure: inline markup (SVG or PNG data URI), its title, caption and text alternative.

    ``width`` and ``height`` are the CSS pixel size of a PNG (SVGs carry their own size).
    """

    key: str
    title: str
    caption: str
    alt: str
    svg: str = ""
    png_data_uri: str = ""
    width: int = 0
    height: int = 0


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update(
        {
            "svg.hashsalt": "imbreport",
            "svg.fonttype": "none",
            "text.parse_math": False,
            "font.family": "DejaVu Sans",
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "figure.titlesize": 13,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e6e6e6",
            "grid.linewidth": 0.6,
            "path.simplify": True,
            "figure.constrained_layout.use": True,
        }
    )
    return plt


def _label(text: str, limit: int = 40) -> str:
    """A data string made safe for a figure label: one line, bounded length, literal.

    Control and bidi-override characters go; matplotlib escapes the rest as SVG text, and
    mathtext is off, so ``$`` and ``\\`` are drawn as they are.
    """
    text = re.sub(r"[\x00-\x1f\u202a-\u202e\u2066-\u2069]", "", str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrap(text: str, width: int) -> str:
    """A label on at most two lines of about ``width`` characters."""
    lines = textwrap.wrap(text, width) or [""]
    return "\n".join(lines[:2]) + ("…" if len(lines) > 2 else "")


def warm_up() -> None:
    """Import matplotlib and draw a small figure as SVG and PNG, so that the fonts and backends
    are loaded before a report is waiting for its figures."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1], label="warm")
    ax.legend()
    _svg(fig, "warm")
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.scatter([0, 1], [0, 1])
    _png(fig)


def _svg(fig, key: str) -> str:
    buffer = io.StringIO()
    # No metadata block: no date, no library version, no namespace beyond svg and xlink.
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata=SVG_METADATA)
    _pyplot().close(fig)
    text = buffer.getvalue()
    return _scope_ids(text[text.index("<svg") :], key)


def _png(fig) -> tuple[str, int, int]:
    """A PNG data URI and its CSS size (drawn at ``PNG_DPI``, shown at 96 px per inch).

    The image is reduced to a 256-colour palette: scatter plots and filled contours lose nothing
    visible and shrink to about a third.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    _pyplot().close(fig)
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
    width, height = image.size
    return uri, round(width * CSS_DPI / PNG_DPI), round(height * CSS_DPI / PNG_DPI)


def _png_figure(fig, key: str, title: str, caption: str, alt: str) -> Figure:
    uri, width, height = _png(fig)
    return Figure(key, title, caption, alt, png_data_uri=uri, width=width, height=height)


def _scope_ids(svg: str, key: str) -> str:
    """Prefix the ids inside one SVG so several inline SVGs never share an id."""
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{key}-{m.group(1)})", svg)
    return re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{key}-{m.group(1)}"', svg)


def thin(*arrays, limit: int = MAX_DRAWN_POINTS) -> list[np.ndarray]:
    """Keep at most ``limit`` evenly spaced points (first and last kept) of parallel arrays."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    n = len(arrays[0])
    if n <= limit:
        return arrays
    keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return [a[keep] for a in arrays]


def scatter_rows(labels: np.ndarray) -> np.ndarray:
    """Indices of the rows to draw: each class capped by ``MAX_SCATTER``, chosen reproducibly."""
    rng = np.random.default_rng(0)
    keep = []
    for value, cap in MAX_SCATTER.items():
        rows = np.flatnonzero(labels == value)
        keep.append(rows if len(rows) <= cap else np.sort(rng.choice(rows, cap, replace=False)))
    return np.sort(np.concatenate(keep))


def _drawn(illustration: Illustration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points, labels and synthetic rows of an illustration, capped for drawing."""
    rows = scatter_rows(np.asarray(illustration.labels))
    synthetic = np.asarray(illustration.synthetic, dtype=float).reshape(-1, 2)
    cap = MAX_SCATTER[1]
    if len(synthetic) > cap:
        synthetic = synthetic[np.linspace(0, len(synthetic) - 1, cap).round().astype(int)]
    return np.asarray(illustration.points)[rows], np.asarray(illustration.labels)[rows], synthetic


def line_width(result: StrategyResult, recommended: str | None) -> float:
    """The recommended strategy is drawn thicker in every line chart."""
    return 3.2 if result.name == recommended else 1.6


def _legend_label(result: StrategyResult, recommended: str | None, extra: str = "") -> str:
    mark = " — recommended" if result.name == recommended else ""
    return f"{_label(result.label, 30)}{extra}{mark}"


def _probabilistic(results: Results) -> list[StrategyResult]:
    """Strategies with curves worth drawing (not the constant baseline)."""
    return [
        s
        for s in results.strategies
        if s.ok and not spec_for(s.name).baseline and "pr" in s.curves and "roc" in s.curves
    ]


def _named(results: Results, names) -> list[StrategyResult]:
    return [results.strategy(name) for name in names]


# --- figures ------------------------------------------------------------------------------------


def figure_class_balance(report: Report) -> Figure:
    plt = _pyplot()
    ds = report.results.dataset
    labels = list(ds.class_counts)[:12]
    counts = [ds.class_counts[k] for k in labels]
    colours = [POSITIVE_COLOUR if k == ds.positive_label else NEGATIVE_COLOUR for k in labels]
    ratio = ds.summary()["imbalance_ratio"]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.9 + 0.45 * len(labels)))
    ax.barh([_label(k, 24) for k in labels][::-1], counts[::-1], color=colours[::-1], height=0.6)
    for i, count in enumerate(counts[::-1]):
        ax.text(count, i, f"  {count:,} ({count / max(ds.rows_used, 1):.1%})", va="center")
    ax.set_xlabel("rows")
    ax.set_xlim(0, max(counts) * 1.25)
    ax.grid(axis="y", visible=False)
    title = f"{ratio:.1f} negatives for every positive"
    sampled = (
        ""
        if ds.sampling_rate >= 1
        else f" The bars count the rows used: --sample kept {ds.sampling_rate:.2%} of the "
        f"negatives, so the whole file has about {ratio:.1f} negatives per positive "
        f"(prevalence {ds.prevalence:.2%})."
    )
    return Figure(
        "class-balance",
        f"Class balance: {title}",
        f"The positive class '{_label(ds.positive_label)}' (orange) is {ds.positives:,} of "
        f"{ds.rows_used:,} rows ({ds.positives / max(ds.rows_used, 1):.2%}).{sampled}",
        f"Horizontal bar chart of rows per class: {ds.positives:,} positives and "
        f"{ds.rows_used - ds.positives:,} negatives, an imbalance ratio of {ratio:.1f} to 1.",
        svg=_svg(fig, "class-balance"),
    )


METRIC_BARS = (("recall", "recall", 1.0), ("precision", "precision", 0.62), ("f1", "F1", 0.32))


def figure_metrics_chart(report: Report) -> Figure:
    plt = _pyplot()
    from matplotlib.patches import Patch

    recommended = report.verdict.recommended.strategy
    shown = _named(report.results, report.verdict.ranking)
    fig, ax = plt.subplots(figsize=(WIDTH, 1.3 + 0.5 * len(shown)))
    y = np.arange(len(shown))
    height = 0.24
    colours = [s.colour for s in shown]
    for i, (key, _, shade) in enumerate(METRIC_BARS):
        metrics = [s.metric(key, True) for s in shown]
        values = np.array([m.value or 0.0 for m in metrics])
        lows = [v - (m.ci or (v, v))[0] for m, v in zip(metrics, values, strict=True)]
        highs = [(m.ci or (v, v))[1] - v for m, v in zip(metrics, values, strict=True)]
        ax.barh(
            y + (i - 1) * height,
            values,
            height,
            color=colours,
            alpha=shade,
            edgecolor=colours,
            linewidth=0.8,
            xerr=[np.maximum(lows, 0), np.maximum(highs, 0)],
            error_kw={"elinewidth": 0.9, "capsize": 2.5, "ecolor": "#333333"},
        )
    for i, s in enumerate(shown):
        if (s.metric("recall", True).value or 0.0) == 0.0:
            ax.text(0.01, i, "finds no positive", va="center", color="#555555")
    ax.set_yticks(y, [_label(s.label, 32) for s in shown])
    for tick, s in zip(ax.get_yticklabels(), shown, strict=True):
        if s.name == recommended:
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("value at each strategy's tuned threshold")
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)
    fig.legend(
        handles=[
            Patch(facecolor="#444444", alpha=a, edgecolor="#444444", label=name)
            for _, name, a in METRIC_BARS
        ],
        loc="outside upper left",
        ncols=3,
        frameon=False,
    )
    best = report.results.strategy(report.verdict.best_tuned_f1)
    title = f"{best.label} has the highest F1 ({best.metric('f1', True).value or 0:.2f})"
    return Figure(
        "metrics-chart",
        f"Recall, precision and F1: {title}",
        "Three bars per strategy, each at the strategy's own tuned threshold: recall (darkest), "
        "precision and F1 (lightest), with 95% intervals as whiskers. Strategies in leaderboard "
        "order; the recommended one in bold.",
        "Grouped bar chart of recall, precision and F1 at the tuned threshold for each strategy. "
        + "; ".join(
            f"{s.label}: recall {s.metric('recall', True).value or 0:.2f}, precision "
            f"{s.metric('precision', True).value or 0:.2f}, F1 {s.metric('f1', True).value or 0:.2f}"
            for s in shown
        )
        + ".",
        svg=_svg(fig, "metrics-chart"),
    )


def _pr_zoom(shown: list[StrategyResult], prevalence: float) -> float:
    """The top of the precision axis: below 1 when every curve stays low (extreme imbalance)."""
    tops = []
    for s in shown:
        recall, precision = (np.asarray(s.curves["pr"][k], float) for k in ("recall", "precision"))
        tops.append(precision[recall >= 0.1].max(initial=prevalence))
    top = max(tops, default=1.0) * 1.15
    return 1.02 if top > 0.6 else float(max(top, prevalence * 3))


def figure_curves(report: Report) -> Figure:
    plt = _pyplot()
    from matplotlib.lines import Line2D

    results = report.results
    recommended = report.verdict.recommended.strategy
    prevalence = results.dataset.prevalence
    shown = _probabilistic(results)
    fig, (ax_pr, ax_roc) = plt.subplots(1, 2, figsize=(WIDTH, 4.3))
    banded = report.verdict.focus
    for s in shown:
        _draw_curves(ax_pr, ax_roc, s, recommended, banded)
    ax_pr.axhline(prevalence, color=CHANCE_COLOUR, ls="--", lw=1.2)
    ax_roc.plot([0, 1], [0, 1], color=CHANCE_COLOUR, ls="--", lw=1.2)
    top = _pr_zoom(shown, prevalence)
    zoomed = top < 1.0
    ax_pr.set(
        xlabel="recall",
        ylabel="precision" + (" (axis zoomed)" if zoomed else ""),
        xlim=(0, 1),
        ylim=(0, top),
    )
    ax_pr.set_title("Precision-recall", loc="left")
    ax_roc.set(
        xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.02)
    )
    ax_roc.set_title("ROC", loc="left")
    handles = [
        Line2D(
            [],
            [],
            color=s.colour,
            lw=line_width(s, recommended),
            label=_legend_label(
                s,
                recommended,
                f"  PR-AUC {s.metrics['pr_auc'].value or 0:.2f} · ROC-AUC "
                f"{s.metrics['roc_auc'].value or 0:.2f}",
            ),
        )
        for s in shown
    ]
    handles.append(
        Line2D(
            [],
            [],
            color=CHANCE_COLOUR,
            ls="--",
            lw=1.2,
            label=f"chance (prevalence {prevalence:.3f})",
        )
    )
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    leader = results.strategy(report.verdict.top)
    if leader is None:
        title = "Precision-recall and ROC curves"
    else:
        title = (
            f"Precision-recall: {leader.label} leads with PR-AUC "
            f"{leader.metrics['pr_auc'].value or 0:.2f} against a chance level of {prevalence:.3f}"
        )
    band_note = (
        " The shaded band is the fold-to-fold range of the recommended strategy."
        if results.protocol.kind == "cv" and any("fold_bands" in s.curves for s in shown)
        else ""
    )
    zoom_note = (
        f" The precision axis stops at {top:.2f} because every curve stays below it."
        if zoomed
        else ""
    )
    return Figure(
        "curves",
        title,
        "Left, precision-recall: what matters under imbalance; the dashed line is a random "
        "ranking (precision = prevalence). Right, ROC: it looks flattering when negatives "
        f"dominate. Thicker line: the recommended strategy.{band_note}{zoom_note}",
        "Two line charts: precision-recall and ROC curves of every strategy. "
        + "; ".join(
            f"{s.label}: PR-AUC {s.metrics['pr_auc'].value or 0:.2f}, ROC-AUC "
            f"{s.metrics['roc_auc'].value or 0:.2f}"
            for s in shown
        )
        + f". Chance PR-AUC is {prevalence:.3f}.",
        svg=_svg(fig, "curves"),
    )


def _draw_curves(ax_pr, ax_roc, s: StrategyResult, recommended, banded) -> None:
    pr, roc = s.curves["pr"], s.curves["roc"]
    lw, c = line_width(s, recommended), s.colour
    zorder = 3 if s.name == recommended else 2
    ax_pr.step(*thin(pr["recall"], pr["precision"]), where="post", color=c, lw=lw, zorder=zorder)
    ax_roc.plot(*thin(roc["fpr"], roc["tpr"]), color=c, lw=lw, zorder=zorder)
    bands = s.curves.get("fold_bands")
    if bands and s.name == banded:
        ax_pr.fill_between(
            *thin(bands["recall"], bands["precision_low"], bands["precision_high"]),
            color=c,
            alpha=0.15,
            lw=0,
        )
        ax_roc.fill_between(
            *thin(bands["fpr"], bands["tpr_low"], bands["tpr_high"]), color=c, alpha=0.15, lw=0
        )


def figure_confusion(report: Report) -> Figure:
    plt = _pyplot()
    results = report.results
    recommended = report.verdict.recommended.strategy
    shown = [s for s in results.strategies if s.ok]
    columns = min(4, max(len(shown), 1))
    rows = int(np.ceil(len(shown) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 2.35 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, s in zip(axes.ravel(), shown, strict=False):
        _draw_confusion(ax, s, s.name == recommended)
    focus = results.strategy(report.verdict.focus)
    if focus is not None and focus.tuned_confusion:
        c = focus.tuned_confusion
        title = (
            f"{focus.label} finds {c['tp']:,} of {c['tp'] + c['fn']:,} positives "
            f"with {c['fp']:,} false alarms"
        )
    else:
        title = "Confusion matrices at the tuned thresholds"
    return Figure(
        "confusion",
        title,
        "One matrix per strategy at its tuned threshold; rows are the true class, columns the "
        "prediction, every evaluated row counted once. Blue cells are right, orange cells wrong; "
        "the darker, the larger the share of that true class. A dark blue bottom-right cell means "
        "most positives are found. The recommended strategy has a thick frame.",
        "Confusion matrices, one per strategy, at each strategy's tuned threshold. "
        + "; ".join(
            f"{s.label}: {s.tuned_confusion.get('tp', 0):,} positives found, "
            f"{s.tuned_confusion.get('fn', 0):,} missed, "
            f"{s.tuned_confusion.get('fp', 0):,} false alarms"
            for s in shown
        )
        + ".",
        svg=_svg(fig, "confusion"),
    )


def _draw_confusion(ax, s: StrategyResult, is_recommended: bool) -> None:
    from matplotlib.patches import Rectangle

    c = s.tuned_confusion or {"tn": 0, "fp": 0, "fn": 0, "tp": 0}
    matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.axis("on")
    fills = _confusion_colours(shares)
    for (i, j), value in np.ndenumerate(matrix):
        # Vector cells (not an embedded image): crisp in the PDF, no raster inside the SVG.
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=fills[i, j], lw=0))
        ink = "white" if shares[i, j] > 0.55 else "#1d1f21"
        ax.text(j, i, f"{value:,}\n{shares[i, j]:.0%}", ha="center", va="center", color=ink)
    ax.set(xlim=(-0.5, 1.5), ylim=(1.5, -0.5), aspect="equal")
    ax.set_xticks([0, 1], ["pred −", "pred +"])
    ax.set_yticks([0, 1], ["true −", "true +"])
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(is_recommended)
        spine.set_linewidth(3)
        spine.set_color(s.colour)
    ax.add_patch(
        Rectangle((0, 1.03), 1, 0.05, transform=ax.transAxes, color=s.colour, clip_on=False)
    )
    ax.set_title(
        _wrap(_label(s.label, 40), 22),
        fontsize=10.5,
        fontweight="bold" if is_recommended else "normal",
        pad=12,
    )


def _confusion_colours(shares: np.ndarray) -> np.ndarray:
    """Correct cells (diagonal) in blues, errors in oranges; darker = larger share of the class."""
    from matplotlib import colormaps

    right = colormaps["Blues"](0.08 + 0.85 * shares)
    wrong = colormaps["Oranges"](0.08 + 0.85 * shares)
    return np.where(np.eye(2, dtype=bool)[..., None], right, wrong)


def _threshold_window(sweep, strategy: StrategyResult) -> tuple[float, float] | None:
    """Zoom the threshold axis on where positives are still flagged, when that is a small part."""
    thresholds = np.asarray(sweep["threshold"], float)
    recall = np.asarray(sweep["recall"], float)
    if len(thresholds) < 2:
        return None
    low, high = thresholds.min(), thresholds.max()
    active = thresholds[recall > 0]
    marks = [strategy.threshold or low, *(strategy.fold_thresholds or ())]
    right = max(active.max(initial=low), *marks)
    right = right + 0.1 * (right - low) + 1e-9
    return (low, right) if right < low + 0.6 * (high - low) else None


def figure_threshold(report: Report, strategy: StrategyResult) -> Figure:
    plt = _pyplot()
    sweep = strategy.curves["threshold_sweep"]
    has_cost = "cost" in sweep
    fig, ax = plt.subplots(figsize=(WIDTH, 3.9))
    t, precision, recall, f1 = thin(
        sweep["threshold"], sweep["precision"], sweep["recall"], sweep["f1"]
    )
    masked = precision_drawn(precision, recall)
    ax.plot(t, masked, label="precision", color="#0072B2", lw=2.2)
    ax.plot(t, recall, label="recall", color="#D55E00", lw=2.2)
    ax.plot(t, f1, label="F1", color="#009E73", lw=2.2, ls="--")
    banded = len(strategy.fold_thresholds) > 1
    if banded:
        low, high = strategy.threshold_spread
        ax.axvspan(low, high, color="#999999", alpha=0.22, lw=0, label="range across folds")
    deployment = report.verdict.deployment
    deployed = deployment if deployment and deployment.strategy == strategy.name else None
    marked = deployed.threshold if deployed else strategy.threshold
    if marked is not None:
        what = "to deploy" if deployed else "tuned (median of folds)"
        ax.axvline(marked, color="#000000", lw=1.8, label=f"{what} {marked:.3f}")
    window = _threshold_window(sweep, strategy)
    default = strategy.default_threshold
    if default is not None and (window is None or default <= window[1]):
        ax.axvline(default, color="#555555", lw=1.2, ls=":", label=f"default {default:.3f}")
    handles = []
    if has_cost:
        cost_ax = ax.twinx()
        handles = cost_ax.plot(
            *thin(sweep["threshold"], sweep["cost"]), color="#CC79A7", lw=1.6, label="cost per row"
        )
        cost_ax.set_ylabel("cost per row (pink, right axis)")
        cost_ax.set_ylim(bottom=0)
        cost_ax.grid(False)
    scale = "anomaly score" if strategy.score_kind == "anomaly score" else "predicted probability"
    ax.set(xlabel=f"threshold on the {scale}", ylabel="value", ylim=(0, 1.02))
    if window is not None:
        ax.set_xlim(*window)
    ax.legend(
        handles=ax.get_legend_handles_labels()[0] + handles,
        loc="upper left",
        bbox_to_anchor=(1.12 if has_cost else 1.01, 1.0),
        frameon=False,
    )
    title = _threshold_title(strategy, deployed)
    off_axis = (
        f" The axis is zoomed on the thresholds that still flag positives; the default "
        f"{default:.3f} lies off to the right, where recall is "
        f"{strategy.metric('recall').value or 0:.3f}."
        if window is not None and default is not None and default > window[1]
        else ""
    )
    unflagged = (
        " Precision is not drawn where no positive is flagged: there it is undefined, or 0 from "
        "the few top-scored negatives."
        if np.isnan(masked).any()
        else ""
    )
    return Figure(
        "threshold",
        title,
        "Moving the threshold right trades recall for precision; the curves are the pooled "
        "out-of-fold scores. The black line is "
        + (
            "the threshold to deploy, tuned on all rows"
            if deployed
            else "the folds' median tuned threshold"
        )
        + ("; the grey band is how far the folds' own tuned thresholds spread." if banded else ".")
        + off_axis
        + unflagged,
        f"Line chart of precision, recall and F1 against the threshold for {strategy.label}; "
        + (f"the marked threshold is {marked:.3f}." if marked is not None else "")
        + off_axis,
        svg=_svg(fig, "threshold"),
    )


def precision_drawn(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """Precision as the threshold figure draws it: not drawn (NaN) where no positive is flagged.

    There precision is undefined (nothing flagged) or the 0 of a few top-scored negatives: a
    drop to 0 that says nothing about the rows the threshold keeps. Only the picture changes;
    the sweep's numbers are left as they are.
    """
    precision = np.asarray(precision, dtype=float)
    return np.where(np.asarray(recall, dtype=float) > 0, precision, np.nan)


def _threshold_title(strategy: StrategyResult, deployed) -> str:
    """Titled by what it shows: figures measured at the marked threshold on these curves."""
    at = deployed.at_threshold if deployed is not None else {}
    if deployed is None or deployed.threshold is None or "recall" not in at:
        return f"{strategy.label}: precision, recall and F1 against the threshold"
    precision = at.get("precision")
    return (
        f"{strategy.label} at {deployed.threshold:.3f}: recall {at['recall'].value:.2f}"
        + (f", precision {precision.value:.2f}" if precision is not None else "")
        + " on these curves"
    )


def figure_resampling(illustration: Illustration) -> Figure:
    plt = _pyplot()
    from matplotlib.lines import Line2D

    fig, (before, after) = plt.subplots(1, 2, figsize=(WIDTH, 4.0), sharex=True, sharey=True)
    points, labels, synthetic = _drawn(illustration)
    for ax in (before, after):
        ax.scatter(*points[labels == 0].T, s=7, c=NEGATIVE_COLOUR, alpha=0.35, lw=0)
    if len(synthetic):
        after.scatter(*synthetic.T, s=12, c=SYNTHETIC_COLOUR, alpha=0.75, lw=0, marker="^")
    for ax in (before, after):
        ax.scatter(*points[labels == 1].T, s=18, c=POSITIVE_COLOUR, lw=0.4, edgecolors="white")
    before.set_xlim(illustration.grid_x.min(), illustration.grid_x.max())
    before.set_ylim(illustration.grid_y.min(), illustration.grid_y.max())
    fig.supxlabel(_label(illustration.axes[0], 60), fontsize=11)
    before.set_ylabel(_label(illustration.axes[1], 45))
    before.set_title("Training data", loc="left")
    made = max(illustration.synthetic_total, len(synthetic))
    shown = "" if made == len(synthetic) else f" ({len(synthetic):,} shown)"
    after.set_title(f"After SMOTE: +{made:,} synthetic rows{shown}", loc="left")
    fig.legend(
        handles=[
            Line2D([], [], ls="", marker="o", color=NEGATIVE_COLOUR, alpha=0.6, label="negative"),
            Line2D([], [], ls="", marker="o", color=POSITIVE_COLOUR, label="positive"),
            Line2D([], [], ls="", marker="^", color=SYNTHETIC_COLOUR, label="synthetic (SMOTE)"),
        ],
        loc="outside upper right",
        ncols=3,
        frameon=False,
    )
    n_positive = int(np.sum(np.asarray(illustration.labels) == 1))
    n_negative = len(illustration.labels) - n_positive
    return _png_figure(
        fig,
        "resampling",
        f"SMOTE only fills in between the {n_positive:,} real positives",
        "Synthetic rows (orange triangles) lie on segments between neighbouring positives; SMOTE "
        "adds nothing outside the region the real positives already cover. "
        f"Shown: {n_positive:,} positives, {n_negative:,} negatives and {len(synthetic):,} "
        "synthetic rows. " + illustration.note,
        f"Two scatter plots of the training data, before and after SMOTE: {n_positive:,} "
        f"positives, {n_negative:,} negatives, {len(synthetic):,} synthetic rows shown.",
    )


@dataclass(frozen=True)
class SurfaceLine:
    """The level a decision surface is cut at: a strategy's tuned threshold, or 0.5 for want of one.

    ``words`` names it in a title ("the threshold to deploy 0.899"); ``tuned`` is false for the
    0.5 fallback, and ``why`` then says why no tuned threshold is drawn.
    """

    level: float
    words: str
    tuned: bool
    why: str = ""


def surface_lines(report: Report) -> dict[str, SurfaceLine]:
    """The line to draw on each illustrated surface: the recommended strategy's threshold to
    deploy, another strategy's tuned threshold (the folds' median), else 0.5, saying why."""
    deployment = report.verdict.deployment
    lines = {}
    for s in report.results.strategies:
        deployed = deployment.threshold if deployment and deployment.strategy == s.name else None
        if deployed is not None:
            lines[s.name] = SurfaceLine(
                deployed, f"its tuned threshold {deployed:.3f} (the one to deploy)", tuned=True
            )
        elif s.score_kind == "anomaly score":
            lines[s.name] = SurfaceLine(
                0.5,
                "0.5",
                tuned=False,
                why="its tuned threshold is on the raw anomaly score; the surface is rescaled",
            )
        elif s.threshold is not None:
            lines[s.name] = SurfaceLine(
                s.threshold, f"its tuned threshold {s.threshold:.3f} (folds' median)", tuned=True
            )
        else:
            lines[s.name] = SurfaceLine(0.5, "0.5", tuned=False, why="it has no tuned threshold")
    return lines


def figure_boundary(
    illustration: Illustration,
    labels: dict[str, str],
    lines: dict[str, SurfaceLine] | None = None,
) -> Figure:
    """Each illustrated model's probability surface, cut at its tuned threshold (``lines``;
    0.5 where a strategy has none, and the title says so).

    Always drawn at the full column width, one panel or two, so that its text is the size of
    every other figure's wherever the picture is scaled to the column (the PDF).
    """
    plt = _pyplot()
    names = list(illustration.surfaces)
    lines = lines or {}
    fig, axes = plt.subplots(
        1, max(len(names), 2), figsize=(WIDTH, 4.2), squeeze=False, sharex=True, sharey=True
    )
    findings, fallbacks = [], []
    for ax, name in zip(axes[0], names, strict=False):
        line = lines.get(name) or SurfaceLine(0.5, "0.5", tuned=False, why="no threshold known")
        surface, finding = _draw_surface(ax, illustration, name, labels.get(name, name), line)
        findings.append(finding)
        if not line.tuned:
            fallbacks.append(f"{_label(labels.get(name, name))}: {line.why}")
    shown_axes = axes[0][: len(names)].tolist()
    for ax in axes[0][len(names) :]:
        ax.set_visible(False)
    axes[0][0].set_ylabel(_label(illustration.axes[1], 45))
    fig.supxlabel(_label(illustration.axes[0], 60), fontsize=11)
    bar = fig.colorbar(
        surface, ax=shown_axes, label="predicted probability of positive", shrink=0.9
    )
    for level in sorted({(lines.get(n) or SurfaceLine(0.5, "", False)).level for n in names}):
        bar.ax.axhline(level, color="black", lw=1.4)
    shown = " and ".join(_label(labels.get(n, n)) for n in names)
    fallback_note = (
        " The line is at 0.5 where no tuned threshold applies (" + "; ".join(fallbacks) + ")."
        if fallbacks
        else ""
    )
    return _png_figure(
        fig,
        "boundary",
        "Decision surfaces: " + "; ".join(findings),
        "Colour is the predicted probability of the positive class; the black line is the "
        "threshold each model is used at (the recommended strategy's threshold to deploy, the "
        f"other's tuned threshold).{fallback_note} White dots are positives, grey dots "
        "negatives. The surfaces come from models refitted on these two axes for the picture, "
        "so the shares in the title are of the drawn training rows under that refit, not the "
        "evaluated figures. " + illustration.note,
        f"Predicted-probability surfaces of {shown} over the two illustrated axes. "
        + "; ".join(findings)
        + ".",
    )


def _draw_surface(ax, illustration: Illustration, name: str, label: str, line: SurfaceLine):
    grid = illustration.surfaces[name]
    points, y, _ = _drawn(illustration)
    surface = ax.contourf(
        illustration.grid_x,
        illustration.grid_y,
        grid,
        levels=np.linspace(0, 1, 11),
        cmap="RdBu_r",
        alpha=0.8,
    )
    crosses = float(np.nanmin(grid)) < line.level < float(np.nanmax(grid))
    if crosses:
        ax.contour(
            illustration.grid_x,
            illustration.grid_y,
            grid,
            levels=[line.level],
            colors="black",
            linewidths=1.4,
        )
    ax.scatter(*points[y == 0].T, s=5, c="#333333", alpha=0.25, lw=0)
    ax.scatter(*points[y == 1].T, s=16, c="#ffffff", edgecolors="black", lw=0.6)
    ax.set_title(_label(label), loc="left")
    ax.text(
        0.98,
        0.03,
        f"line: {'tuned ' if line.tuned else ''}threshold {line.level:.3f}"
        if crosses
        else f"never reaches {line.level:.3f}",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        bbox={"facecolor": "white", "alpha": 0.85, "lw": 0, "pad": 2},
    )
    ax.set_xlim(illustration.grid_x.min(), illustration.grid_x.max())
    ax.set_ylim(illustration.grid_y.min(), illustration.grid_y.max())
    ax.grid(False)
    positives, negatives = shares_flagged(illustration, grid, line.level)
    if crosses or positives or negatives:
        finding = (
            f"{label} flags {positives:.0%} of the drawn positives and {negatives:.0%} of the "
            f"drawn negatives at {line.words}"
        )
    else:
        finding = (
            f"{label} never reaches {line.words} on this picture (highest "
            f"{float(np.nanmax(grid)):.2f}), so it flags none of the drawn rows"
        )
    return surface, finding


def shares_flagged(
    illustration: Illustration, grid: np.ndarray, level: float
) -> tuple[float, float]:
    """Shares of the drawn positives and negatives whose nearest grid cell is at or above
    ``level`` (the rows the figure draws, on the 2-D refit's surface)."""
    xs, ys = illustration.grid_x[0], illustration.grid_y[:, 0]
    points, labels, _ = _drawn(illustration)
    above = grid[_nearest(ys, points[:, 1]), _nearest(xs, points[:, 0])] >= level
    return _share(above[labels == 1]), _share(above[labels == 0])


def _nearest(axis: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the nearest of the increasing ``axis`` values to each of ``values``."""
    right = np.clip(np.searchsorted(axis, values), 1, len(axis) - 1)
    left = right - 1
    return np.where(np.abs(values - axis[left]) <= np.abs(axis[right] - values), left, right)


def _share(flags: np.ndarray) -> float:
    return float(flags.mean()) if len(flags) else 0.0


#: Fewest reliability points a panel draws a curve through (fewer: the panel says so).
MIN_CALIBRATION_POINTS = 2


def figure_calibration(report: Report) -> Figure:
    """One reliability panel per probabilistic strategy, each on axes fitted to its own points
    (square, so the diagonal stays the diagonal); a strategy with too few filled bins gets a
    panel that says so instead of an empty-looking plot."""
    plt = _pyplot()
    results = report.results
    recommended = report.verdict.recommended.strategy
    drawn = [s for s in _probabilistic(results) if "calibration" in s.curves]
    columns = min(4, max(len(drawn), 1))
    rows = int(np.ceil(len(drawn) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 2.6 * rows + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.set_visible(False)
    too_few = []
    for ax, s in zip(axes.ravel(), drawn, strict=False):
        ax.set_visible(True)
        if not _draw_reliability(ax, s, s.name == recommended):
            too_few.append(s.label)
    fig.supxlabel("mean predicted probability (each panel's axes fit its points)", fontsize=11)
    fig.supylabel("observed share of positives", fontsize=11)
    distorted = _named(results, report.verdict.distorted)
    if distorted:
        names = ", ".join(s.label for s in distorted[:-1])
        names = f"{names} and {distorted[-1].label}" if names else distorted[-1].label
        title = f"{names} over-state the risk"
    else:
        title = "No strategy strays far from plain logistic regression's calibration"
    few_note = (
        f" Too few filled bins to draw a curve for {', '.join(too_few)} (fewer than "
        f"{MIN_CALIBRATION_POINTS} bins of {CALIBRATION_MIN_ROWS} or more rows): its scores "
        "bunch at the ends."
        if too_few
        else ""
    )
    return Figure(
        "calibration",
        f"Reliability: {title}",
        "One panel per strategy; each point is a bin of rows with similar predicted probability, "
        "and each panel's axes are fitted to its own points (the dashed diagonal is perfect "
        "calibration). Points below the diagonal mean the model predicts more risk than it "
        "finds; resampling and class weights do this while ranking (AUC) barely changes."
        + few_note,
        "Reliability curves of the probabilistic strategies, one panel each: "
        + "; ".join(f"{s.label}: Brier {s.metrics['brier'].value or 0:.3f}" for s in drawn)
        + ".",
        svg=_svg(fig, "calibration"),
    )


#: Rows a calibration bin needs to be drawn (``metrics.calibration_points``' default).
CALIBRATION_MIN_ROWS = 10


def _draw_reliability(ax, s: StrategyResult, is_recommended: bool) -> bool:
    """One strategy's reliability curve on axes fitted to its points; ``False`` (and a panel
    saying why) when it has too few points to draw a curve through."""
    from matplotlib.ticker import FuncFormatter

    calibration = s.curves["calibration"]
    predicted, observed = thin(calibration["predicted"], calibration["observed"])
    brier = s.metrics["brier"].value if "brier" in s.metrics else None
    heading = _wrap(_label(s.label, 40), 28) + (f"\nBrier {brier:.3f}" if brier is not None else "")
    ax.set_title(heading, fontsize=10.5, loc="left", fontweight="bold" if is_recommended else None)
    enough = len(predicted) >= MIN_CALIBRATION_POINTS
    limit = calibration_limit(predicted, observed) if enough else 1.0
    ax.plot([0, limit], [0, limit], color=CHANCE_COLOUR, ls="--", lw=1.1)
    ax.set(xlim=(0, limit), ylim=(0, limit), aspect="equal")
    ax.locator_params(nbins=3)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    if not enough:
        where = f"\n(one bin, at {predicted[0]:.2f})" if len(predicted) == 1 else "\n(no bin)"
        ax.text(
            0.5,
            0.55,
            f"too few filled bins\nto draw a curve{where}",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#444444",
        )
        return False
    ax.plot(
        predicted,
        observed,
        marker="o",
        ms=4,
        color=s.colour,
        lw=line_width(s, None) + (1.0 if is_recommended else 0.0),
    )
    return True


def calibration_limit(predicted, observed) -> float:
    """The upper end of a reliability panel's (square) axes: just past its largest point, on a
    round value, never below 0.02 nor above 1."""
    top = max(np.max(predicted, initial=0.0), np.max(observed, initial=0.0))
    for step in (0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0):
        limit = step * np.ceil(top * 1.08 / step)
        if limit <= 5 * step:
            return float(min(max(limit, 0.02), 1.0))
    return 1.0


TREND_PANELS = (("pr_auc", "PR-AUC"), ("recall", "recall at the tuned threshold"))


def figure_trend(report: Report) -> Figure:
    """Prevalence, and PR-AUC and recall of the recommended strategy and every score column,
    period by period along the --time column, with 95% intervals."""
    plt = _pyplot()
    trend = report.verdict.trend
    periods = trend.periods
    x = np.arange(len(periods))
    fig, axes = plt.subplots(
        1, 3, figsize=(WIDTH, 3.2), sharex=True, gridspec_kw={"width_ratios": [1, 1.4, 1.4]}
    )
    prevalence = [p.prevalence for p in periods]
    _trend_line(axes[0], x, prevalence, "#444444", "prevalence", offset=0.0)
    axes[0].set_title("prevalence", fontsize=9)
    axes[0].set_ylim(0, None)
    subjects = _named(report.results, trend.subjects)
    for ax, (key, title) in zip(axes[1:], TREND_PANELS, strict=True):
        for i, s in enumerate(subjects):
            metrics = [p.figures[s.name].get(key) for p in periods]
            offset = (i - (len(subjects) - 1) / 2) * 0.12
            _trend_line(ax, x, metrics, s.colour, _label(s.label, 28), offset)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, 1.02)
    for ax in axes:
        ax.set_xticks(x, [str(i + 1) for i in x])
        ax.set_xlabel("period")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper left", ncols=min(3, len(labels)), frameon=False)
    spans = "; ".join(f"{i + 1}: {p.label}" for i, p in enumerate(periods))
    last = subjects[0] if subjects else None
    latest = periods[-1].figures.get(last.name, {}).get("pr_auc") if last else None
    return Figure(
        "trend",
        f"Over time: {len(periods)} periods of '{trend.column}'",
        "Each period's evaluated rows were scored by a model that learned only from earlier "
        "rows. Prevalence (left), PR-AUC and recall at each split's tuned threshold, with 95% "
        f"intervals as whiskers. Periods: {spans}.",
        "Line charts by period. "
        + "; ".join(
            f"period {i + 1} ({p.label}): prevalence {p.prevalence.value or 0:.3f}"
            for i, p in enumerate(periods)
        )
        + (
            f". Latest PR-AUC of {last.label}: {latest.value:.3f}."
            if latest is not None and latest.value is not None
            else "."
        ),
        svg=_svg(fig, "trend"),
    )


def _trend_line(ax, x, metrics, colour: str, label: str, offset: float) -> None:
    values = np.array([np.nan if m is None or m.value is None else m.value for m in metrics])
    lows = np.array(
        [0.0 if m is None or m.ci is None else max(m.value - m.ci[0], 0) for m in metrics]
    )
    highs = np.array(
        [0.0 if m is None or m.ci is None else max(m.ci[1] - m.value, 0) for m in metrics]
    )
    ax.errorbar(
        x + offset,
        values,
        yerr=[lows, highs],
        color=colour,
        marker="o",
        markersize=4,
        linewidth=1.4,
        elinewidth=0.9,
        capsize=2.5,
        label=label,
    )


def all_figures(report: Report, processes: int = 1) -> dict[str, Figure]:
    """Every figure the report shows, keyed by section id (missing where not applicable);
    with ``processes`` 2, half of them drawn by a forked copy of this process (the same
    figures, byte for byte)."""
    from imbreport.workers import forked_map

    tasks = figure_tasks(report)
    _pyplot()  # imported once, before any fork
    drawn = forked_map(lambda task: task[1](), tasks, processes)
    return {key: figure for (key, _), figure in zip(tasks, drawn, strict=True)}


def figure_tasks(report: Report) -> list[tuple[str, Callable[[], Figure]]]:
    """The figures the report shows, as (section id, drawing function), heaviest first."""
    results = report.results
    tasks: list[tuple[str, Callable[[], Figure]]] = []
    if report.illustration is not None and report.illustration.surfaces:
        labels = {s.name: s.label for s in results.strategies}
        lines = surface_lines(report)
        tasks.append(("boundary", lambda: figure_boundary(report.illustration, labels, lines)))
    if any("calibration" in s.curves for s in _probabilistic(results)):
        tasks.append(("calibration", lambda: figure_calibration(report)))
    if any(s.ok for s in results.strategies):
        tasks.append(("confusion", lambda: figure_confusion(report)))
    if report.illustration is not None:
        tasks.append(("resampling", lambda: figure_resampling(report.illustration)))
    if _probabilistic(results):
        tasks.append(("curves", lambda: figure_curves(report)))
    if any(s.ok for s in results.strategies):
        tasks.append(("metrics-chart", lambda: figure_metrics_chart(report)))
    focus = results.strategy(report.verdict.focus)
    if focus is not None and "threshold_sweep" in focus.curves:
        tasks.append(("threshold", lambda: figure_threshold(report, focus)))
    if report.verdict.trend is not None and report.verdict.trend.periods:
        tasks.append(("trend", lambda: figure_trend(report)))
    tasks.append(("class-balance", lambda: figure_class_balance(report)))
    return tasks
