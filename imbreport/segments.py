"""Figures per segment (``--segment COLUMN``), and which segments are distinguishably worse.

For the recommended strategy and every score column, each group of rows of a segment column
gets its evaluated rows, positives, prevalence, PR-AUC (a stratified bootstrap inside the
segment) and recall and precision at the tuned threshold (each row decided by its own split's
threshold, tuned inside that split's training part: the leaderboard's honest out-of-sample
decisions; exact Clopper–Pearson intervals). A segment is *flagged* when its recall or
precision is distinguishably below that of all other evaluated rows: a one-sided Fisher exact
test, Holm-adjusted over every test of the run (columns × segments × subjects × the two
figures), at ``inference.ALPHA``.

The rules:
- *Small*: fewer than ``FEW_POSITIVES`` positives. The figures are shown with their (wide)
  intervals and the segment is called small; a small segment is tested like any other, so it is
  flagged only on the evidence of its counts, never for looking low.
- *Not measurable*: a recall resting on fewer than ``FEW_EVENTS`` positives, or a precision on
  fewer than ``FEW_EVENTS`` flagged rows, is not tested (nor counted in the Holm family) and is
  said to be not measurable with confidence.
- *Too many groups*: a column shows its ``MAX_SEGMENTS`` largest groups; the rest are pooled
  into one "other" row, shown but not tested.

With ``--sample`` each evaluated negative counts for the negatives it stands for, in prevalence
and precision; the test compares the unweighted counts, which order the segments the same way
(every negative was kept at the same rate). Pure functions of ``Results``; ``recommend.judge``
calls ``segment_figures``, gates call ``subject_table``.
"""

from __future__ import annotations

import re

import numpy as np

from imbreport.inference import ALPHA, exact_binomial, holm
from imbreport.metrics import (
    BootstrapInput,
    RankedScores,
    bootstrap,
    confusion_counts,
    interval,
)
from imbreport.model import (
    Metric,
    Results,
    SegmentRow,
    Segments,
    SegmentTable,
    SegmentTest,
    fmt,
)

#: Fewer positives than this: a small segment, and indicative figures (``recommend``).
FEW_POSITIVES = 30
#: A recall or precision resting on fewer events than this is not measurable (``recommend``:
#: indicative).
FEW_EVENTS = 10
#: A column shows at most this many groups (the largest); the rest are pooled into "other".
MAX_SEGMENTS = 20
#: Bootstrap resamples of a segment's PR-AUC (at most; fewer when the run drew fewer).
SEGMENT_RESAMPLES = 500
#: The figures a segment is tested on.
TESTED = ("recall", "precision")

METHOD = (
    "per segment and subject (the recommended strategy, each score column), recall and "
    "precision at each split's own tuned threshold with exact (Clopper-Pearson) intervals, and "
    "PR-AUC with a stratified bootstrap inside the segment; a segment is flagged when its "
    "recall or precision is below that of all other evaluated rows by a one-sided Fisher exact "
    "test, Holm-adjusted over every test of the run"
)


def segment_figures(results: Results, recommended: str | None) -> Segments | None:
    """Every segment column's figures for the recommended strategy and each score column, with
    the tests of "distinguishably below the rest" Holm-adjusted together (``None`` without
    ``--segment``)."""
    columns = results.dataset.roles.segments
    if not columns:
        return None
    subjects = _subjects(results, recommended)
    tables = [
        subject_table(results, name, column, recommended=name == recommended)
        for column in columns
        for name in subjects
    ]
    tables = [t for t in tables if t is not None]
    tables = _adjusted(tables)
    return Segments(
        tables=tuple(tables),
        flagged=tuple(_flag_lines(results, tables)),
        tests=sum(1 for t in tables for r in t.rows for test in r.tests.values() if test),
        method=METHOD,
        caveat=_caveat(results),
        absent=None if subjects else _absent(results),
    )


def _subjects(results: Results, recommended: str | None) -> list[str]:
    chosen = [recommended] if results.strategy(recommended) is not None else []
    scored = [s.name for s in results.strategies if s.ok and s.existing and s.name != recommended]
    return [n for n in chosen + scored if n in results.draws.pooled_decisions]


def _absent(results: Results) -> str:
    if not results.draws.pooled_decisions:
        return "The out-of-fold decisions were not kept for this report."
    return (
        "Nothing is recommended and no score column was given, so there is no model to "
        "break down by segment."
    )


def subject_table(
    results: Results, name: str, column: str, recommended: bool = False
) -> SegmentTable | None:
    """Strategy or score column ``name``'s figures in each group of ``column`` (tests run but
    not adjusted: ``segment_figures`` adjusts them over the whole run); ``None`` when its
    out-of-fold decisions or the column are not there."""
    found = _subject_arrays(results, name, column)
    if found is None:
        return None
    y, decided, scores, values = found
    draws = results.draws
    groups = _groups(results, draws.rows)
    shown, pooled = _shown_groups(values, results.dataset.roles.segment_kinds.get(column, ""))
    weight = draws.negative_weight
    resamples = max(1, min(SEGMENT_RESAMPLES, results.protocol.bootstrap or SEGMENT_RESAMPLES))
    seed = results.protocol.seed
    rows = []
    for i, value in enumerate(shown):
        inside = values == value
        rows.append(
            _row(value, inside, y, decided, scores, weight, groups, resamples, seed + i, False)
        )
    if pooled:
        inside = np.isin(values, pooled)
        rows.append(
            _row(
                f"other ({len(pooled)} values)",
                inside,
                y,
                decided,
                scores,
                weight,
                groups,
                resamples,
                seed + len(shown),
                True,
            )
        )
    strategy = results.strategy(name)
    return SegmentTable(
        column=column,
        binning=results.dataset.roles.segment_kinds.get(column, "values"),
        strategy=name,
        existing=bool(strategy is not None and strategy.existing),
        recommended=recommended,
        rows=tuple(rows),
        pooled_values=len(pooled),
    )


def _subject_arrays(results: Results, name: str, column: str):
    """``name``'s labels, out-of-fold decisions and scores of the evaluated rows, and each row's
    group of ``column`` (as text); ``None`` when any of them is not there."""
    draws = results.draws
    decisions = draws.pooled_decisions.get(name)
    scores = draws.pooled_scores.get(name)
    labels = results.dataset.roles.segments.get(column)
    if decisions is None or scores is None or labels is None or draws.labels is None:
        return None
    y = np.asarray(draws.labels).astype(bool)
    decided = np.asarray(decisions).astype(bool)
    return y, decided, scores, np.asarray(labels, dtype=object)[draws.rows].astype(str)


def _groups(results: Results, rows: np.ndarray) -> np.ndarray | None:
    ids = results.dataset.group_ids
    return None if ids is None else np.asarray(ids)[rows]


def _shown_groups(values: np.ndarray, kind: str) -> tuple[list[str], list[str]]:
    """The groups shown one by one (the ``MAX_SEGMENTS`` largest; bins in their order), and
    those pooled into "other"."""
    found, counts = np.unique(values, return_counts=True)
    by_size = sorted(zip(found.tolist(), counts.tolist(), strict=True), key=lambda p: (-p[1], p[0]))
    shown = [v for v, _ in by_size[:MAX_SEGMENTS]]
    pooled = sorted(v for v, _ in by_size[MAX_SEGMENTS:])
    if kind != "values":
        shown.sort(key=_bin_order)
    return shown, pooled


def _bin_order(label: str) -> tuple[int, float]:
    match = re.match(r"[\[(]\s*(-?[0-9.eE+-]+)", label)
    if match is None:
        return (1, 0.0)
    try:
        return (0, float(match.group(1)))
    except ValueError:
        return (1, 0.0)


def _row(value, inside, y, decided, scores, weight, groups, resamples, seed, other) -> SegmentRow:
    """One group's figures, and the one-sided tests against every row outside it."""
    counts = confusion_counts(y[inside], decided[inside])
    rest = confusion_counts(y[~inside], decided[~inside])
    positives = counts["tp"] + counts["fn"]
    negatives = counts["fp"] + counts["tn"]
    represented = positives + negatives * weight
    flagged = counts["tp"] + counts["fp"]
    recall = _proportion(counts["tp"], positives)
    precision = _proportion(counts["tp"], counts["tp"] + counts["fp"] * weight)
    events = {"recall": positives, "precision": flagged}
    tests = {
        key: None
        if other or events[key] < FEW_EVENTS
        else _lower_than_rest(key, counts, rest, weight)
        for key in TESTED
    }
    return SegmentRow(
        value=str(value),
        other=other,
        rows=int(inside.sum()),
        positives=positives,
        prevalence=positives / represented if represented > 0 else None,
        flagged_rows=flagged,
        pr_auc=_pr_auc(
            y[inside], scores[inside], weight, _of(groups, inside), resamples, seed, positives
        ),
        recall=recall,
        precision=precision,
        size=_size(positives),
        tests=tests,
        measurable={"pr_auc": positives >= FEW_EVENTS}
        | {key: events[key] >= FEW_EVENTS for key in TESTED},
    )


def _of(groups, inside):
    return None if groups is None else groups[inside]


def _proportion(successes: float, trials: float) -> Metric:
    if trials <= 0:
        return Metric(None)
    return Metric(successes / trials, exact_binomial(successes, trials))


def _size(positives: int) -> str:
    if positives < FEW_EVENTS:
        return "tiny"
    return "small" if positives < FEW_POSITIVES else "ok"


def _lower_than_rest(key: str, mine: dict, rest: dict, weight: float) -> SegmentTest | None:
    """Fisher's exact test, one-sided, that ``key`` is lower in the segment than in the rest:
    recall on the positives (found / missed), precision on the flagged rows (positives / false
    alarms, unweighted: a constant weight on the negatives keeps the order)."""
    from scipy.stats import fisher_exact

    if key == "recall":
        table = [[mine["tp"], mine["fn"]], [rest["tp"], rest["fn"]]]
        rest_value = _ratio(rest["tp"], rest["tp"] + rest["fn"])
    else:
        table = [[mine["tp"], mine["fp"]], [rest["tp"], rest["fp"]]]
        rest_value = _ratio(rest["tp"], rest["tp"] + rest["fp"] * weight)
    if sum(table[1]) == 0 or rest_value is None:
        return None
    p_value = float(fisher_exact(table, alternative="less").pvalue)
    return SegmentTest(rest=rest_value, p_value=p_value, adjusted=p_value, lower=False)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _pr_auc(y, scores, weight, groups, resamples, seed, positives: int) -> Metric:
    """PR-AUC in the segment, with a stratified (cluster, with groups) bootstrap interval;
    ``None`` without both classes. On fewer than ``FEW_EVENTS`` positives the bootstrap cannot
    say how uncertain it is (a perfect ranking of 3 positives resamples to 1.0 every time):
    the figure has no interval; nor has it when every resample gives the same figure."""
    y = np.asarray(y).astype(bool)
    if y.all() or not y.any():
        return Metric(None)
    ranked = RankedScores(y, scores, weight)
    value = float(ranked.pr_auc())
    if positives < FEW_EVENTS:
        return Metric(value)
    decided = np.zeros((1, len(y)), dtype=bool)
    inputs = {"s": BootstrapInput(np.asarray(scores, float)[None, :], decided, decided, False)}
    draws = bootstrap(y, inputs, resamples, seed, weight, 1, groups)["s"]["default"]["pr_auc"]
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0 or np.ptp(draws) < 1e-9:
        return Metric(value)  # a perfect ranking resamples to itself: no interval, not a point
    return Metric(value, interval(draws))


def _adjusted(tables: list[SegmentTable]) -> list[SegmentTable]:
    """The tables with every test's p-value Holm-adjusted over all the tests of the run, and
    ``lower`` set where the adjusted p-value is at most ``ALPHA`` and the figure is below."""
    from dataclasses import replace

    found = [
        (t, r, key, test)
        for t, table in enumerate(tables)
        for r, row in enumerate(table.rows)
        for key, test in row.tests.items()
        if test is not None
    ]
    adjusted = holm([test.p_value for *_, test in found]) if found else []
    updates: dict[tuple[int, int], dict] = {}
    for (t, r, key, test), p in zip(found, adjusted, strict=True):
        lower = bool(p <= ALPHA)
        updates.setdefault((t, r), {})[key] = replace(test, adjusted=p, lower=lower)
    out = []
    for t, table in enumerate(tables):
        rows = tuple(
            replace(row, tests={**row.tests, **updates[(t, r)]}) if (t, r) in updates else row
            for r, row in enumerate(table.rows)
        )
        out.append(replace(table, rows=rows))
    return out


NAMES = {"recall": "Recall", "precision": "Precision"}


def _flag_lines(results: Results, tables: list[SegmentTable]) -> list[str]:
    """One sentence per segment and figure flagged lower than the rest."""
    lines = []
    several = len({t.strategy for t in tables}) > 1
    for table in tables:
        subject = f" of {results.label(table.strategy)}" if several else ""
        for row in table.rows:
            for key in TESTED:
                test = row.tests.get(key)
                if test is None or not test.lower:
                    continue
                figure = getattr(row, key)
                small = f"; a small segment, {row.positives} positives" if row.size != "ok" else ""
                lines.append(
                    f"{NAMES[key]}{subject} is distinguishably lower in {table.column} = "
                    f"{row.value}: {fmt(figure)} against {test.rest:.3f} elsewhere "
                    f"(Holm-adjusted p {_p(test.adjusted)}{small})."
                )
    return lines


def _p(value: float) -> str:
    """``= 0.003`` or ``< 0.001``."""
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def _caveat(results: Results) -> str:
    """What the tests assume, in words: rows of one cross-validation are not independent."""
    text = (
        "The tests treat the evaluated rows as independent given the decisions. They are not "
        "quite: each split's model and threshold decide many rows at once, so a segment that "
        "sits unevenly across the splits (or in time, with --time) can look worse because of "
        "its split rather than itself. Read a flag as a place to look, not as proof."
    )
    dataset = results.dataset
    if dataset.group_column is not None:
        text += (
            f" Rows of one '{dataset.group_column}' group are not independent either: the "
            "PR-AUC intervals resample whole groups, but the tests count rows, so with groups "
            "of several rows they are overconfident."
        )
    elif dataset.group_ids is not None:
        text += (
            " Identical feature rows were kept in one split; the PR-AUC intervals resample "
            "them together, the tests count them one by one."
        )
    return text


def segment_row(results: Results, name: str, column: str, value: str) -> SegmentRow | None:
    """Strategy ``name``'s figures in the group ``column = value`` alone (shown in the report or
    pooled into "other"; the test not adjusted), for a gate; ``None`` when no evaluated row has
    that value or the out-of-fold decisions are not there."""
    found = _subject_arrays(results, name, column)
    if found is None:
        return None
    y, decided, scores, values = found
    inside = values == value
    if not inside.any():
        return None
    draws = results.draws
    resamples = max(1, min(SEGMENT_RESAMPLES, results.protocol.bootstrap or SEGMENT_RESAMPLES))
    return _row(
        value,
        inside,
        y,
        decided,
        scores,
        draws.negative_weight,
        _groups(results, draws.rows),
        resamples,
        results.protocol.seed,
        False,
    )


#: The metrics a segment gate can read.
GATED = ("recall", "precision", "pr_auc")
