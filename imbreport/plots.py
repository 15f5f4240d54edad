"""Figures of the report, drawn from a ``Report`` with matplotlib (imported lazily).

Each ``figure_*`` function takes plain values and returns a ``Figure`` holding inline markup: SVG for
line art (text kept as text, so it is selectable in the PDF), a PNG data URI for dense scatter
plots. Output is byte-stable: fixed SVG hash salt, no dates in metadata, mathtext disabled so that
strings from the data are drawn literally.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

import numpy as np

from imbreport.model import Illustration, Report, StrategyResult

#: Okabe-Ito colour-blind-safe palette, one fixed colour per strategy; grey for the baseline.
COLOURS = {
    "majority": "#999999",
    "logreg": "#0072B2",
    "undersample": "#56B4E9",
    "oversample": "#009E73",
    "smote": "#E69F00",
    "balanced": "#CC79A7",
    "xgboost": "#D55E00",
    "isolation_forest": "#000000",
}
POSITIVE_COLOUR = "#D55E00"
NEGATIVE_COLOUR = "#0072B2"
SYNTHETIC_COLOUR = "#E69F00"
WIDTH = 8.0


@dataclass(frozen=True)
class Figure:
    """One drawn figure: inline markup (SVG or ``<img>``), its title, caption and text alternative."""

    key: str
    title: str
    caption: str
    alt: str
    svg: str = ""
    png_data_uri: str = ""


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
            "font.size": 10.5,
            "axes.titlesize": 11.5,
            "axes.labelsize": 10.5,
            "legend.fontsize": 9.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e6e6e6",
            "grid.linewidth": 0.6,
            "path.simplify": True,
        }
    )
    return plt


def _label(text: str, limit: int = 40) -> str:
    """A data string made safe for a figure label: one line, bounded length, literal."""
    text = re.sub(r"[\x00-\x1f\u202a-\u202e\u2066-\u2069]", "", str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # matplotlib names clip paths etc. with ids; keep them unique per figure in one HTML page
    return text


def _png(fig, dpi: int = 110) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _scope_ids(svg: str, key: str) -> str:
    """Prefix the ids inside one SVG so several inline SVGs never share an id."""
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{key}-{m.group(1)})", svg)
    return re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{key}-{m.group(1)}"', svg)


def line_width(result: StrategyResult, recommended: str | None) -> float:
    return 3.0 if result.name == recommended else 1.5


# --- figures ------------------------------------------------------------------------------------


def figure_class_balance(report: Report) -> Figure:
    plt = _pyplot()
    ds = report.results.dataset
    labels = list(ds.class_counts)
    counts = [ds.class_counts[k] for k in labels]
    colours = [POSITIVE_COLOUR if k == ds.positive_label else NEGATIVE_COLOUR for k in labels]
    fig, ax = plt.subplots(figsize=(WIDTH, 2.2 + 0.25 * min(len(labels), 12)))
    shown = [_label(k) for k in labels][:12]
    ax.barh(shown[::-1], counts[:12][::-1], color=colours[:12][::-1])
    for i, count in enumerate(counts[:12][::-1]):
        ax.text(count, i, f" {count:,}", va="center")
    ax.set_xlabel("rows")
    ax.set_title(f"Class counts: imbalance ratio {ds.summary()['imbalance_ratio']:.1f} : 1")
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, max(counts) * 1.15)
    ratio = ds.summary()["imbalance_ratio"]
    return Figure(
        "class-balance",
        "Class balance",
        f"The positive class '{_label(ds.positive_label)}' is {ds.positives:,} of "
        f"{ds.rows_used:,} rows ({ds.prevalence:.2%}).",
        f"Bar chart of class counts; {ds.positives} positives, imbalance ratio {ratio:.1f} to 1.",
        svg=_scope_ids(_svg(fig), "class-balance"),
    )


def figure_metrics_chart(report: Report) -> Figure:
    plt = _pyplot()
    shown = [s for s in report.results.strategies if s.ok]
    names = [s.label for s in shown]
    metrics = ("recall", "precision", "f1")
    shades = (1.0, 0.6, 0.3)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    x = np.arange(len(shown))
    width = 0.26
    for i, (metric, shade) in enumerate(zip(metrics, shades, strict=True)):
        values = [s.metric(metric, True).value or 0.0 for s in shown]
        lows = [
            v - (s.metric(metric, True).ci or (v, v))[0] for s, v in zip(shown, values, strict=True)
        ]
        highs = [
            (s.metric(metric, True).ci or (v, v))[1] - v for s, v in zip(shown, values, strict=True)
        ]
        ax.bar(
            x + (i - 1) * width,
            values,
            width,
            color=[COLOURS.get(s.name, "#777777") for s in shown],
            alpha=shade,
            edgecolor=[COLOURS.get(s.name, "#777777") for s in shown],
            label=metric,
            yerr=[lows, highs],
            error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#444444"},
        )
    ax.set_xticks(x)
    ax.set_xticklabels([_label(n, 18) for n in names], rotation=25, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("at the tuned threshold")
    ax.grid(axis="x", visible=False)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(facecolor="#555555", alpha=a, edgecolor="#555555", label=m)
            for m, a in zip(metrics, shades, strict=True)
        ],
        loc="upper left",
        ncols=3,
        frameon=False,
        bbox_to_anchor=(0, 1.12),
    )
    best = max(shown, key=lambda s: s.metric("f1", True).value or 0)
    ax.set_title(f"Recall, precision and F1: {best.label} has the highest F1", pad=24)
    return Figure(
        "metrics-chart",
        "Recall, precision and F1 per strategy",
        "For each strategy: recall (solid), precision (lighter) and F1 (lightest), each at its tuned "
        "threshold with its 95% interval. The majority baseline finds no positives.",
        "Grouped bar chart of recall, precision and F1 for each strategy.",
        svg=_scope_ids(_svg(fig), "metrics-chart"),
    )


def figure_curves(report: Report) -> Figure:
    plt = _pyplot()
    results = report.results
    recommended = results.recommended.strategy
    prevalence = results.dataset.prevalence
    fig, (ax_pr, ax_roc) = plt.subplots(1, 2, figsize=(WIDTH, 4.0))
    shown = [s for s in results.strategies if s.ok and s.name != "majority"]
    for s in shown:
        colour = COLOURS.get(s.name, "#777777")
        pr, roc = s.curves["pr"], s.curves["roc"]
        ax_pr.step(
            pr["recall"],
            pr["precision"],
            where="post",
            color=colour,
            lw=line_width(s, recommended),
            label=f"{_label(s.label, 28)} ({s.metrics['pr_auc'].value:.2f})",
        )
        ax_roc.plot(roc["fpr"], roc["tpr"], color=colour, lw=line_width(s, recommended))
        bands = s.curves.get("fold_bands")
        if bands and s.name == (recommended or shown[0].name):
            ax_pr.fill_between(
                bands["recall"],
                bands["precision_low"],
                bands["precision_high"],
                color=colour,
                alpha=0.15,
                lw=0,
            )
            ax_roc.fill_between(
                bands["fpr"], bands["tpr_low"], bands["tpr_high"], color=colour, alpha=0.15, lw=0
            )
    ax_pr.axhline(prevalence, color="#999999", ls="--", lw=1)
    ax_pr.text(
        0.99,
        prevalence,
        f"chance = prevalence {prevalence:.3f}",
        ha="right",
        va="bottom",
        color="#666666",
        fontsize=8.5,
    )
    ax_roc.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1)
    ax_pr.set(
        xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall"
    )
    ax_roc.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        xlim=(0, 1),
        ylim=(0, 1.02),
        title="ROC",
    )
    ax_pr.legend(loc="lower left", fontsize=8, frameon=False, title="PR-AUC", title_fontsize=8)
    leader = max(shown, key=lambda s: s.metrics["pr_auc"].value or 0) if shown else None
    title = f"Precision-recall: {leader.label} leads" if leader else "Curves"
    fig.suptitle(title, fontsize=12)
    band_note = (
        " The shaded band is the fold-to-fold range of the recommended strategy."
        if results.protocol.kind == "cv"
        else ""
    )
    return Figure(
        "curves",
        title,
        "Precision-recall (left) matters most under imbalance: the dashed line is a random "
        f"ranking. ROC (right) looks flattering when negatives dominate.{band_note}",
        "Precision-recall and ROC curves of every strategy.",
        svg=_scope_ids(_svg(fig), "curves"),
    )


def figure_confusion(report: Report) -> Figure:
    plt = _pyplot()
    shown = [s for s in report.results.strategies if s.ok]
    columns = 4
    rows = int(np.ceil(len(shown) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 2.1 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, s in zip(axes.ravel(), shown, strict=False):
        c = s.tuned_confusion
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
        ax.axis("on")
        ax.imshow(matrix / max(matrix.sum(), 1), cmap="Blues", vmin=0, vmax=0.5)
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:,}", ha="center", va="center", fontsize=9.5)
        ax.set_xticks([0, 1], ["pred −", "pred +"], fontsize=8)
        ax.set_yticks([0, 1], ["true −", "true +"], fontsize=8)
        ax.grid(False)
        ax.set_title(_label(s.label, 26), fontsize=9.5, color=COLOURS.get(s.name, "#333333"))
    fig.tight_layout()
    return Figure(
        "confusion",
        "Confusion matrices at the tuned thresholds",
        "Rows are the true class, columns the prediction; every evaluated row counted once. "
        "Read the bottom row: positives found (right) and missed (left).",
        "Confusion matrices, one per strategy, at each strategy's tuned threshold.",
        svg=_scope_ids(_svg(fig), "confusion"),
    )


def figure_threshold(report: Report, strategy: StrategyResult) -> Figure:
    plt = _pyplot()
    sweep = strategy.curves["threshold_sweep"]
    has_cost = "cost" in sweep
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    ax.plot(sweep["threshold"], sweep["precision"], label="precision", color="#0072B2", lw=2)
    ax.plot(sweep["threshold"], sweep["recall"], label="recall", color="#D55E00", lw=2)
    ax.plot(sweep["threshold"], sweep["f1"], label="F1", color="#009E73", lw=2, ls="--")
    if strategy.fold_thresholds and len(strategy.fold_thresholds) > 1:
        low, high = strategy.threshold_spread
        ax.axvspan(low, high, color="#999999", alpha=0.2, lw=0, label="fold-to-fold range")
    if strategy.threshold is not None:
        ax.axvline(
            strategy.threshold, color="#000000", lw=1.5, label=f"tuned {strategy.threshold:.3f}"
        )
    if strategy.default_threshold is not None:
        ax.axvline(
            strategy.default_threshold,
            color="#777777",
            lw=1,
            ls=":",
            label=f"default {strategy.default_threshold:.3f}",
        )
    if has_cost:
        cost_ax = ax.twinx()
        cost_ax.plot(
            sweep["threshold"], sweep["cost"], color="#CC79A7", lw=1.5, label="cost per row"
        )
        cost_ax.set_ylabel("cost per row")
        cost_ax.grid(False)
    scale = "anomaly score" if strategy.score_kind == "anomaly score" else "predicted probability"
    ax.set(xlabel=f"threshold on the {scale}", ylabel="value", ylim=(0, 1.02))
    ax.legend(loc="center left", bbox_to_anchor=(1.08 if has_cost else 1.01, 0.5), frameon=False)
    ax.set_title(f"{_label(strategy.label)}: precision, recall and F1 against the threshold")
    return Figure(
        "threshold",
        "Threshold trade-off",
        "Moving the threshold right trades recall for precision. The black line is the threshold "
        "tuned on training data; the grey band is how much it moved between folds.",
        f"Precision, recall and F1 against the threshold for {_label(strategy.label)}.",
        svg=_scope_ids(_svg(fig), "threshold"),
    )


def figure_resampling(illustration: Illustration) -> Figure:
    plt = _pyplot()
    fig, (before, after) = plt.subplots(1, 2, figsize=(WIDTH, 3.8), sharex=True, sharey=True)
    points, labels = illustration.points, illustration.labels
    for ax in (before, after):
        ax.scatter(
            *points[labels == 0].T, s=6, c=NEGATIVE_COLOUR, alpha=0.35, lw=0, label="negative"
        )
    after.scatter(
        *illustration.synthetic.T,
        s=10,
        c=SYNTHETIC_COLOUR,
        alpha=0.7,
        lw=0,
        marker="^",
        label="synthetic (SMOTE)",
    )
    for ax in (before, after):
        ax.scatter(
            *points[labels == 1].T,
            s=14,
            c=POSITIVE_COLOUR,
            lw=0.3,
            edgecolors="white",
            label="positive",
        )
        ax.set_xlabel(_label(illustration.axes[0], 45))
    before.set_ylabel(_label(illustration.axes[1], 45))
    before.set_title("Training data")
    after.set_title(f"After SMOTE (+{len(illustration.synthetic):,} synthetic)")
    after.legend(loc="best", fontsize=8, markerscale=1.5)
    return Figure(
        "resampling",
        "What SMOTE does to the training data",
        "SMOTE fills the space between positive neighbours with synthetic rows (triangles). "
        + illustration.note,
        "Scatter plots of the training data before and after SMOTE.",
        png_data_uri=_png(fig),
    )


def figure_boundary(illustration: Illustration, labels: dict[str, str]) -> Figure:
    plt = _pyplot()
    names = list(illustration.surfaces)
    fig, axes = plt.subplots(
        1, len(names), figsize=(WIDTH if len(names) > 1 else WIDTH / 1.6, 3.8), squeeze=False
    )
    points, y = illustration.points, illustration.labels
    for ax, name in zip(axes[0], names, strict=True):
        surface = ax.contourf(
            illustration.grid_x,
            illustration.grid_y,
            illustration.surfaces[name],
            levels=np.linspace(0, 1, 11),
            cmap="RdBu_r",
            alpha=0.75,
        )
        ax.contour(
            illustration.grid_x,
            illustration.grid_y,
            illustration.surfaces[name],
            levels=[0.5],
            colors="black",
            linewidths=1,
        )
        ax.scatter(*points[y == 0].T, s=4, c="#333333", alpha=0.25, lw=0)
        ax.scatter(*points[y == 1].T, s=12, c="#ffffff", edgecolors="black", lw=0.5)
        ax.set_title(_label(labels.get(name, name)))
        ax.set_xlabel(_label(illustration.axes[0], 45))
        ax.set_xlim(illustration.grid_x.min(), illustration.grid_x.max())
        ax.set_ylim(illustration.grid_y.min(), illustration.grid_y.max())
        ax.grid(False)
    axes[0][0].set_ylabel(_label(illustration.axes[1], 45))
    fig.colorbar(
        surface, ax=axes[0].tolist(), label="predicted probability of positive", shrink=0.9
    )
    return Figure(
        "boundary",
        "Decision surfaces",
        "Colour is the predicted probability of the positive class; the black line is where it "
        "crosses 0.5. White dots are positives. " + illustration.note,
        "Predicted-probability surfaces of logistic regression and the recommended strategy.",
        png_data_uri=_png(fig),
    )


def figure_calibration(report: Report) -> Figure:
    plt = _pyplot()
    recommended = report.results.recommended.strategy
    fig, ax = plt.subplots(figsize=(WIDTH * 0.75, 4.2))
    ax.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="perfectly calibrated")
    for s in report.results.strategies:
        calibration = s.curves.get("calibration") if s.ok else None
        if not calibration or s.name == "majority":
            continue
        brier = s.metrics["brier"].value
        ax.plot(
            calibration["predicted"],
            calibration["observed"],
            marker="o",
            ms=3,
            color=COLOURS.get(s.name, "#777777"),
            lw=line_width(s, recommended),
            label=f"{_label(s.label, 28)} (Brier {brier:.3f})",
        )
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed share of positives",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title("Reliability: resampling pushes probabilities up")
    return Figure(
        "calibration",
        "Reliability curves",
        "Points below the diagonal mean the model over-states the risk. Resampling and class "
        "weights move curves below it while ranking (AUC) barely changes.",
        "Reliability curves of the probabilistic strategies with their Brier scores.",
        svg=_scope_ids(_svg(fig), "calibration"),
    )


def all_figures(report: Report) -> dict[str, Figure]:
    """Every figure the report shows, keyed by section id (missing where not applicable)."""
    results = report.results
    figures = {"class-balance": figure_class_balance(report)}
    if any(s.ok for s in results.strategies):
        figures["metrics-chart"] = figure_metrics_chart(report)
        figures["confusion"] = figure_confusion(report)
    if any(s.ok and s.name != "majority" for s in results.strategies):
        figures["curves"] = figure_curves(report)
    focus = results.strategy(results.recommended.strategy or "") or _best(results.strategies)
    if focus is not None:
        figures["threshold"] = figure_threshold(report, focus)
    if any(s.ok and "calibration" in s.curves and s.name != "majority" for s in results.strategies):
        figures["calibration"] = figure_calibration(report)
    if results.illustration is not None:
        figures["resampling"] = figure_resampling(results.illustration)
        labels = {s.name: s.label for s in results.strategies}
        figures["boundary"] = figure_boundary(results.illustration, labels)
    return figures


def _best(strategies) -> StrategyResult | None:
    candidates = [s for s in strategies if s.ok and s.name != "majority"]
    return max(candidates, key=lambda s: s.metrics["pr_auc"].value or 0, default=None)
