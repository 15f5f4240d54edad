"""How far to trust the numbers: error rates of the claims imbreport's report makes (issue #13).

Not a test (nothing here asserts): a benchmark that runs imbreport on data whose truth is known
and prints, for each claim, how often it is wrong, with a 95 % Wilson binomial interval and the
goal from issue #13, the way a speed benchmark prints a time. Sections (select with ``--only``):

``chance``     False "beats chance" claims: label-permuted copies of the shared real datasets
               (rows subsampled to 600-2,000, 20-60 positives) alternating with pure noise
               (Gaussian features independent of the label; 300-2,000 rows, 10-60 positives).
               A claim is the top-level ``beats_chance`` or any per-strategy verdict.
               Goal <= 5 %. Default 60 runs, about 3 min (--quick: 12 runs, 1 min).
``identical``  "Distinguishable" claims between strategies identical up to a seed: copies of
               random undersampling with other seeds registered for one report (an adapter
               patches the registry), on two Gaussian classes (40-60 positives of 1,000 rows).
               Reported for 2 copies (one pair) and for 6 copies ("any among 6": the report
               compares its leader, picked among the copies, with the other five).
               Goal <= 5 %. Default 60 datasets, about 2-3 min (--quick: 12, 1 min).
``coverage``   Coverage of the 95 % intervals against the truth. Two Gaussian classes, 3 %
               prevalence, 18 / 30 / 60 positives. Truth: the recommended strategy's pipeline
               refitted on all the run's rows (the deployed model), at the reported threshold,
               measured on 200,000 fresh rows. Recall and precision (tuned_metrics) and PR-AUC.
               Also, labelled "mean truth", coverage of the deployed models' mean true figure
               over the datasets of a setting (what cross-validation estimates, Bates et al.
               2023). From schema 1.1, also the intervals of recall and precision measured at the
               deployed threshold (``recommended.deployment.at_threshold``). Goal >= 90 %.
               Default 50 datasets per setting, about 7-8 min (--quick: 8, 1 min).
``tripled``    Pure noise with every row present three times: any "beats chance" claim, and a
               warning that mentions duplicates. Goal: no claim, a warning every time.
               Default 10 runs, under a minute (--quick: 3, 15 s).
``sample``     ``sample=20000`` on a 250,000-row file (0.6 % positives): the F1 of the sample
               run's recommended strategy (refitted on the whole file, at the sample run's
               threshold) on 1,000,000 fresh rows, against the full run's strategy likewise.
               Goal: within 5 % of the full run's F1. Default 5 runs, about 20 s each
               (--quick: 1).
``scores``     Score columns (--score): a uniform random column "beats chance", and a fitted
               strategy called distinguishably better than a column holding the true P(y|x)
               (Gaussian classes, 5 % prevalence, 1,000-2,000 rows: no model is truly better).
               Goal <= 5 % each. Default 60 runs (--quick: 12).
``compare``    False alarms of ``compare=`` + ``fail_if_worse=True`` on two independent samples
               of one population (1,000 rows, 5 % prevalence: the positive count varies as it
               would). Goal <= 5 %. Default 60 pairs, about 6-8 min (--quick: 12, 1.5 min).

Times are for the 2-core development machine (a full default run: about 20 min). Small runs
go to ``--jobs`` worker processes (imbreport with ``n_jobs=1`` in each); the sample section runs
serially with imbreport's own parallelism. Every random draw is seeded from ``--seed``: reruns
print the same figures.

    python benchmarks/trust.py --quick                      # everything, about 5 min
    python benchmarks/trust.py --only chance,compare        # default run counts
    python benchmarks/trust.py --only coverage --runs 100 --json trust.json

Everything goes through ``imbreport.analyze(...).to_dict()`` except what the JSON does not
expose, isolated in the adapters below (the deployed model; extra registry entries).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import re
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATASETS = Path(os.environ.get("IMBREPORT_DATASETS", "/work/shared/datasets"))
Z_95 = 1.959964

# --- adapters: the only code that reaches past the public API ------------------------------------
# The package is being restructured: when modules move, repoint these functions only. They use
# the strategy registry (``STRATEGIES``: name -> ``StrategySpec``, in ``imbreport.strategies`` up
# to 4cde565, then ``imbreport.registry``), how a spec becomes a pipeline (``spec.build(layout)``
# up to 4cde565, then ``imbreport.strategies.build_pipeline(spec, layout)``, which calls the
# function of ``imbreport.strategies`` named by ``spec.builder``) and ``FeatureLayout``.


class AdapterUnavailable(RuntimeError):
    """The internals an adapter needs are not where it expects them."""


def _package_module(name: str):
    """``imbreport.<name>`` if the imported package has that module, else ``None``."""
    import importlib

    import imbreport

    if not (Path(imbreport.__file__).parent / f"{name}.py").exists():
        return None
    return importlib.import_module(f"imbreport.{name}")


def _registry():
    """The module holding the strategy registry, and the registry itself."""
    for name in ("strategies", "registry"):
        module = _package_module(name)
        if isinstance(getattr(module, "STRATEGIES", None), dict):
            return module, module.STRATEGIES
    raise AdapterUnavailable("no strategy registry (STRATEGIES) found")


def _build_pipeline(spec, layout):
    """The unfitted pipeline of a registry entry, as the evaluation builds it."""
    strategies = _package_module("strategies")
    if hasattr(strategies, "build_pipeline"):
        return strategies.build_pipeline(spec, layout)
    if callable(getattr(spec, "build", None)):
        return spec.build(layout)
    raise AdapterUnavailable("no way to build a strategy's pipeline found")


def fit_deployed_model(
    frame: pd.DataFrame, columns: list[str], strategy: str, *, seed: int
) -> Callable[[pd.DataFrame], np.ndarray]:
    """The model a user deploys: ``strategy``'s pipeline refitted on every row of ``frame``.

    ``columns``: the numeric features the report used (``d["dataset"]["features"]["numeric"]``,
    in that order; categorical features are not handled), fed as the evaluation feeds them: a
    float32 matrix, through the registry entry's pipeline for a ``FeatureLayout``. Returns a
    scorer of new rows on the scale of the reported thresholds. (On large data imbreport fits
    its fold models on a case-control sample and corrects the probabilities; every row is used
    here, which gives the same probability scale.)
    """
    try:
        from imbreport.strategies import FeatureLayout
    except ImportError as exc:
        raise AdapterUnavailable(f"fit_deployed_model: {exc}") from None
    spec = _registry()[1][strategy]
    layout = FeatureLayout(tuple(range(len(columns))), (), seed=seed, threads=1)
    matrix = frame[columns].to_numpy(dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _build_pipeline(spec, layout).fit(matrix, frame["label"].to_numpy())

    def score(rows: pd.DataFrame) -> np.ndarray:
        new = rows[columns].to_numpy(dtype=np.float32)
        if spec.response_method == "decision_function":
            return np.asarray(model.decision_function(new), dtype=float)
        return np.asarray(model.predict_proba(new)[:, 1], dtype=float)

    return score


@contextmanager
def strategy_copies(base: str, extra: int) -> Iterator[tuple[str, ...]]:
    """Register ``extra`` copies of strategy ``base`` that differ from it only in their seed, for
    the duration of the block; yields the names (``base`` first).

    The copies rank as simple as ``base`` (the same ``simplicity``, or next to it in
    ``SIMPLICITY_ORDER`` up to 4cde565), so the report picks its leader among them as it would
    among real strategies. Runs in this process only (small data): worker processes would not
    see the copies. Everything patched is put back on leaving the block.
    """
    from dataclasses import fields

    _, registry = _registry()
    # imported before anything is patched: a module may copy a name tuple when imported
    modules = [m for m in map(_package_module, ("strategies", "recommend", "registry")) if m]
    strategies = _package_module("strategies")
    if base not in registry:
        raise AdapterUnavailable(f"strategy_copies: no strategy '{base}'")
    spec = registry[base]
    spec_fields = {f.name for f in fields(spec)}
    names = (base, *(f"{base}_copy{i}" for i in range(1, extra + 1)))
    saved_registry = dict(registry)
    added = []  # builder functions put in imbreport.strategies
    restore = []  # (module, attribute, value) of the name tuples patched
    for i, name in enumerate(names[1:], start=1):
        build = partial(_reseeded, 7919 * i, spec)
        label = f"{spec.label} (copy {i})"
        if "build" in spec_fields:  # the builder function is a field (up to 4cde565)
            registry[name] = replace(spec, name=name, label=label, build=build)
        elif "builder" in spec_fields:  # the name of a function of imbreport.strategies
            added.append(f"_trust_build_{name}")
            setattr(strategies, added[-1], build)
            registry[name] = replace(spec, name=name, label=label, builder=added[-1])
        else:
            raise AdapterUnavailable("strategy_copies: StrategySpec has no build nor builder")
    for other in modules:
        for attribute in ("SIMPLICITY_ORDER", "STRATEGY_NAMES"):
            order = getattr(other, attribute, None)
            if isinstance(order, tuple) and base in order:
                restore.append((other, attribute, order))
                at = order.index(base) + 1
                setattr(other, attribute, (*order[:at], *names[1:], *order[at:]))
    try:
        yield names
    finally:
        registry.clear()
        registry.update(saved_registry)
        for function in added:
            delattr(strategies, function)
        for other, attribute, order in restore:
            setattr(other, attribute, order)


def _reseeded(offset: int, spec, layout):
    """``spec``'s pipeline built with its seed moved by ``offset``."""
    return _build_pipeline(spec, replace(layout, seed=layout.seed + offset))


# --- reading the report (current fields, and the per-strategy ones issue #13 adds) ---------------


def _verdict(value) -> bool:
    if isinstance(value, dict):
        value = value.get("value", value.get("verdict", value.get("beats_chance")))
    return value is True


def claims_beat_chance(d: dict) -> bool:
    """The report says some strategy beats chance: the top-level verdict, or any per-strategy
    verdict (in the strategy entries, or in ``d["chance"]["strategies"]`` from schema 1.1)."""
    per_strategy = [s.get("beats_chance") for s in d["strategies"] if s.get("status") == "ok"]
    tested = (d.get("chance") or {}).get("strategies") or {}
    per_strategy += [v.get("beats_chance") for v in tested.values() if isinstance(v, dict)]
    return bool(d.get("beats_chance")) or any(map(_verdict, per_strategy))


def uncorrected_passes(d: dict) -> list[str]:
    """Strategies whose own PR-AUC passes the current chance rule (interval above prevalence,
    value above the random-ranking level), tested one by one with no multiplicity correction."""
    chance = d.get("chance") or {}
    prevalence = chance.get("prevalence", d["dataset"]["prevalence"])
    level = chance.get("random_ranking_pr_auc_95", 0.0)
    out = []
    for s in d["strategies"]:
        pr_auc = (s.get("metrics") or {}).get("pr_auc") or {}
        if s.get("status") != "ok" or s["name"] == "majority" or not pr_auc.get("ci"):
            continue
        if pr_auc["ci"][0] > prevalence and (pr_auc.get("value") or 0) > level:
            out.append(s["name"])
    return out


def is_distinguishable(c: dict) -> bool:
    if "distinguishable" in c:
        return bool(c["distinguishable"])
    if "indistinguishable" in c:
        return not c["indistinguishable"]
    low, high = c["ci"]
    return low > 0 or high < 0


def mentions_duplicates(d: dict) -> bool:
    dataset = d.get("dataset") or {}
    if any("duplicat" in key and dataset[key] for key in dataset):
        return True
    pattern = re.compile(r"duplicat|repeat another row|exact cop", re.IGNORECASE)
    return any(pattern.search(str(w)) for w in d.get("warnings") or ())


def strategy_entry(d: dict, name: str) -> dict:
    return next(s for s in d["strategies"] if s["name"] == name)


def recommended_threshold(d: dict) -> float | None:
    """The threshold printed with the recommendation (the default one when none was tuned)."""
    name, threshold = d["recommended"]["strategy"], d["recommended"].get("threshold")
    if name is None or threshold is not None:
        return threshold
    return (strategy_entry(d, name).get("threshold") or {}).get("default")


def run_analysis(frame: pd.DataFrame, target: str, seed: int, **options) -> dict:
    import imbreport

    options.setdefault("n_jobs", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = imbreport.analyze(frame, target=target, seed=seed, timings=False, **options)
    return report.to_dict()


# --- results -------------------------------------------------------------------------------------


def wilson(events: int, runs: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (never collapses to a point)."""
    if runs == 0:
        return (0.0, 1.0)
    p = events / runs
    centre = (p + z * z / (2 * runs)) / (1 + z * z / runs)
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / (1 + z * z / runs)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class Measurement:
    """One figure: ``events`` of ``runs`` (a rate), its interval, and the goal it is held to.

    ``at_most``: the goal is rate <= ``limit`` (error rates); otherwise rate >= ``limit``
    (coverage). ``limit`` None: reported for information.
    """

    section: str
    name: str
    events: int
    runs: int
    limit: float | None
    at_most: bool = True
    detail: str = ""
    seconds: float = 0.0

    @property
    def rate(self) -> float | None:
        return self.events / self.runs if self.runs else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.events, self.runs)

    @property
    def goal(self) -> str:
        if self.limit is None:
            return "info"
        return f"{'<=' if self.at_most else '>='} {self.limit:.0%}"

    @property
    def passed(self) -> bool | None:
        if self.limit is None or self.rate is None:
            return None
        return self.rate <= self.limit if self.at_most else self.rate >= self.limit

    @property
    def settled(self) -> bool:
        """The whole interval lies on one side of the goal."""
        if self.limit is None or not self.runs:
            return False
        low, high = self.interval
        if self.at_most:
            return high <= self.limit or low > self.limit
        return low >= self.limit or high < self.limit

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "-"
        return ("PASS" if self.passed else "FAIL") + ("" if self.settled else "?")

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(
            rate=self.rate,
            interval=list(self.interval),
            goal=self.goal,
            passed=self.passed,
            settled=self.settled,
        )
        return out


def format_row(m: Measurement) -> str:
    rate = "  n/a " if m.rate is None else f"{m.rate:6.1%}"
    low, high = m.interval
    return (
        f"{m.section:<10} {m.name:<38} {m.events:>4}/{m.runs:<4} {rate} "
        f"[{low:6.1%}, {high:6.1%}]  {m.goal:<7} {m.verdict:<5} {m.seconds:6.0f} s"
    )


HEADER = (
    f"{'section':<10} {'measurement':<38} {'events/runs':>9}   rate  "
    f"{'95% CI (Wilson)':<18}  {'goal':<7} {'':<5} {'time':>8}"
)


@dataclass
class Section:
    name: str
    default_runs: int
    quick_runs: int
    run: Callable[[SectionContext], list[Measurement]]


@dataclass
class SectionContext:
    runs: int
    seed: int
    jobs: int
    datasets: Path
    records: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def task_seed(self, section: str, index: int, salt: int = 0) -> int:
        sequence = np.random.SeedSequence([self.seed, zlib.crc32(section.encode()), index, salt])
        return int(sequence.generate_state(1)[0] % (2**31 - 1))

    def map(self, function, tasks: list, jobs: int | None = None) -> list[dict]:
        """``function(task)`` for every task (in worker processes when ``jobs`` > 1), in order;
        a run that raises becomes an error entry, printed and left out of the figures."""
        jobs = self.jobs if jobs is None else jobs
        guarded = partial(_guarded, function)
        if jobs > 1 and len(tasks) > 1:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=context, initializer=_quiet) as pool:
                results = list(pool.map(guarded, tasks))
        else:
            results = [guarded(task) for task in tasks]
        for task, result in zip(tasks, results, strict=True):
            if "error" in result:
                self.errors.append({"task": repr(task), "error": result["error"]})
                print(f"  run failed ({task!r}): {result['error']}", flush=True)
        ok = [r for r in results if "error" not in r]
        self.records.extend(ok)
        return ok


def _quiet() -> None:
    warnings.simplefilter("ignore")


def _guarded(function, task) -> dict:
    try:
        return function(task)
    except Exception as exc:  # a broken run is reported, the benchmark goes on
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return {"error": f"{type(exc).__name__}: {text}"}


# --- data with a known truth ---------------------------------------------------------------------


def gaussian_classes(
    rng: np.random.Generator, negatives: int, positives: int, shift: np.ndarray
) -> pd.DataFrame:
    """Negatives ~ N(0, I), positives ~ N(shift, I) (so the log-odds are linear in x: a logistic
    model holds), shuffled; columns x1..xd and ``label`` (0/1). ``shift`` = 0 is pure noise."""
    shift = np.asarray(shift, dtype=float)
    X = rng.standard_normal((negatives + positives, len(shift)))
    y = np.r_[np.zeros(negatives, dtype=int), np.ones(positives, dtype=int)]
    X[negatives:] += shift
    order = rng.permutation(len(y))
    frame = pd.DataFrame(X[order], columns=[f"x{i + 1}" for i in range(len(shift))])
    frame["label"] = y[order]
    return frame


def population_sample(
    rng: np.random.Generator, rows: int, prevalence: float, shift: np.ndarray
) -> pd.DataFrame:
    """``rows`` independent draws from the two-class population (Bernoulli labels)."""
    positives = int(rng.binomial(rows, prevalence))
    return gaussian_classes(rng, rows - positives, positives, shift)


def pure_noise(rng: np.random.Generator, rows: int, positives: int, features: int) -> pd.DataFrame:
    return gaussian_classes(rng, rows - positives, positives, np.zeros(features))


#: file, target column, positive label (None: imbreport's choice, the 1 of a 0/1 column)
REAL_DATASETS = (
    ("article_dataset.csv", "label", None),
    ("abalone19.csv", "Class", "positive"),
    ("car_vgood.csv", "Class", "positive"),
    ("page_blocks0.csv", "Class", "positive"),
)


def permuted_real(rng: np.random.Generator, path: Path, target: str, positive) -> pd.DataFrame:
    """Up to 2,000 random rows of a real dataset whose labels are replaced by a random labelling
    with 20-60 positives: the features keep their real structure, the label carries nothing."""
    frame = pd.read_csv(path)
    labels = frame[target]
    positive = 1 if positive is None else positive
    negative = next(v for v in labels.unique() if v != positive)
    rows = min(len(frame), int(rng.integers(600, 2001)))
    positives = int(rng.integers(20, 61))
    chosen = frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))]
    chosen = chosen.reset_index(drop=True)
    flags = np.zeros(rows, dtype=bool)
    flags[rng.choice(rows, positives, replace=False)] = True
    chosen[target] = np.where(flags, positive, negative)
    return chosen


# --- 1. chance ----------------------------------------------------------------------------------


def chance_run(task: tuple) -> dict:
    index, seed, datasets = task
    rng = np.random.default_rng(seed)
    available = [entry for entry in REAL_DATASETS if (Path(datasets) / entry[0]).exists()]
    options: dict = {}
    if index % 2 == 0 and available:
        name, target, positive = available[(index // 2) % len(available)]
        frame = permuted_real(rng, Path(datasets) / name, target, positive)
        if positive is not None:
            options["positive_label"] = positive
        source = f"permuted {name}"
    else:
        rows = int(rng.integers(300, 2001))
        positives = int(rng.integers(10, min(60, rows // 10) + 1))
        frame = pure_noise(rng, rows, positives, int(rng.integers(2, 11)))
        target, source = "label", "noise"
    d = run_analysis(frame, target, int(rng.integers(2**31 - 1)), **options)
    return {
        "source": source,
        "rows": d["dataset"]["rows_used"],
        "positives": d["dataset"]["positives"],
        "claim": claims_beat_chance(d),
        "recommended": d["recommended"]["strategy"],
        "uncorrected_passes": uncorrected_passes(d),
    }


def measure_chance(ctx: SectionContext) -> list[Measurement]:
    tasks = [(i, ctx.task_seed("chance", i), str(ctx.datasets)) for i in range(ctx.runs)]
    records = ctx.map(chance_run, tasks)
    claims = [r for r in records if r["claim"]]
    by_source: dict[str, list[int]] = {}
    for r in records:
        by_source.setdefault(r["source"].split(".")[0], [0, 0])
        by_source[r["source"].split(".")[0]][0] += r["claim"]
        by_source[r["source"].split(".")[0]][1] += 1
    forest = sum(r["recommended"] == "isolation_forest" for r in records)
    parts = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_source.items()))
    detail = f"{parts}; Isolation Forest recommended {forest}x"
    uncorrected = sum(bool(r["uncorrected_passes"]) for r in records)
    return [
        Measurement(
            "chance", 'false "beats chance" claims', len(claims), len(records), 0.05, True, detail
        ),
        Measurement(
            "chance",
            "some strategy passes uncorrected rule",
            uncorrected,
            len(records),
            None,
            detail="each strategy's own PR-AUC test, no multiplicity correction (issue #11)",
        ),
    ]


# --- 2. identical --------------------------------------------------------------------------------

IDENTICAL_SHIFT = np.array([0.9, 0.6, 0.4, 0.0, 0.0])


def identical_run(task: tuple) -> dict:
    seed, copies = task
    rng = np.random.default_rng(seed)
    positives = int(rng.integers(40, 61))
    frame = gaussian_classes(rng, 1000 - positives, positives, IDENTICAL_SHIFT)
    analysis_seed = int(rng.integers(2**31 - 1))
    out = {"positives": positives}
    for k in copies:
        with strategy_copies("undersample", k - 1) as names:
            d = run_analysis(frame, "label", analysis_seed, strategies=names)
        pairs = [c for c in d["comparisons"] if c["first"] in names and c["second"] in names]
        if pairs and all(c["difference"] == 0 and c["ci"] == [0, 0] for c in pairs):
            raise AdapterUnavailable("the copies scored alike: reseeding did not reach them")
        out[str(k)] = {
            "pairs": len(pairs),
            "distinguishable": sum(map(is_distinguishable, pairs)),
            "differences": [c["difference"] for c in pairs],
        }
    return out


def measure_identical(ctx: SectionContext) -> list[Measurement]:
    try:
        with strategy_copies("undersample", 1):
            pass
    except AdapterUnavailable as exc:
        print(f"  identical: skipped, the strategy registry cannot be patched ({exc})")
        return []
    tasks = [(ctx.task_seed("identical", i), (2, 6)) for i in range(ctx.runs)]
    records = ctx.map(identical_run, tasks)
    pair_runs = [r["2"] for r in records if r["2"]["pairs"]]
    six = [r["6"] for r in records if r["6"]["pairs"]]
    compared = sum(r["pairs"] for r in six)
    detail_six = (
        f"leader vs the other copies: {sum(r['distinguishable'] for r in six)}/{compared} "
        f"comparisons distinguishable"
    )
    if any(r["pairs"] == 0 for r in (*[r["2"] for r in records], *[r["6"] for r in records])):
        detail_six += "; some runs reported no comparison between copies"
    return [
        Measurement(
            "identical",
            "2 copies: pair called distinguishable",
            sum(r["distinguishable"] > 0 for r in pair_runs),
            len(pair_runs),
            0.05,
            detail="random undersampling, two seeds, one report",
        ),
        Measurement(
            "identical",
            "6 copies: any called distinguishable",
            sum(r["distinguishable"] > 0 for r in six),
            len(six),
            0.05,
            detail=detail_six,
        ),
    ]


# --- 3. coverage ---------------------------------------------------------------------------------

COVERAGE_SHIFT = np.array([1.2, 0.8, 0.6, 0.0, 0.0])
COVERAGE_PREVALENCE = 0.03
COVERAGE_POSITIVES = (18, 30, 60)
FRESH_ROWS = 200_000


def coverage_run(task: tuple) -> dict:
    from sklearn.metrics import average_precision_score

    seed, positives = task
    rng = np.random.default_rng(seed)
    rows = round(positives / COVERAGE_PREVALENCE)
    frame = gaussian_classes(rng, rows - positives, positives, COVERAGE_SHIFT)
    analysis_seed = int(rng.integers(2**31 - 1))
    d = run_analysis(frame, "label", analysis_seed)
    name = d["recommended"]["strategy"]
    if name is None:
        return {"positives": positives, "strategy": None}
    entry = strategy_entry(d, name)
    threshold = recommended_threshold(d)
    columns = d["dataset"]["features"]["numeric"]
    score = fit_deployed_model(frame, columns, name, seed=analysis_seed)
    fresh_positives = round(FRESH_ROWS * positives / rows)
    fresh = gaussian_classes(rng, FRESH_ROWS - fresh_positives, fresh_positives, COVERAGE_SHIFT)
    y, scores = fresh["label"].to_numpy(), score(fresh)
    flagged = scores >= threshold
    true_positives = int((flagged & (y == 1)).sum())
    truth = {
        "recall": true_positives / int(y.sum()),
        "precision": true_positives / int(flagged.sum()) if flagged.any() else None,
        "pr_auc": float(average_precision_score(y, scores)),
    }
    reported = {
        "recall": entry["tuned_metrics"]["recall"],
        "precision": entry["tuned_metrics"]["precision"],
        "pr_auc": entry["metrics"]["pr_auc"],
    }
    # schema 1.1+: recall and precision measured at the deployed threshold, when reported
    at_threshold = (d["recommended"].get("deployment") or {}).get("at_threshold") or {}
    for metric in ("recall", "precision"):
        if (at_threshold.get(metric) or {}).get("ci"):
            reported[f"{metric}_at"] = at_threshold[metric]
    return {
        "positives": positives,
        "strategy": name,
        "threshold": threshold,
        "truth": truth,
        "reported": {k: {"value": v["value"], "ci": v["ci"]} for k, v in reported.items()},
    }


def _covers(ci, value) -> bool:
    return ci is not None and value is not None and ci[0] <= value <= ci[1]


#: (reported key, truth key, what the interval is): the rows of the coverage table
COVERAGE_ROWS = (
    ("recall", "recall", "recall @{} pos: deployed model"),
    ("recall_at", "recall", "recall @{} pos: at_threshold CI"),
    ("precision", "precision", "precision @{} pos: deployed model"),
    ("precision_at", "precision", "precision @{} pos: at_threshold CI"),
    ("pr_auc", "pr_auc", "pr_auc @{} pos: deployed model"),
)


def measure_coverage(ctx: SectionContext) -> list[Measurement]:
    tasks = [
        (ctx.task_seed("coverage", i, positives), positives)
        for positives in COVERAGE_POSITIVES
        for i in range(ctx.runs)
    ]
    records = ctx.map(coverage_run, tasks)
    out = []
    for positives in COVERAGE_POSITIVES:
        mine = [r for r in records if r["positives"] == positives]
        usable = [r for r in mine if r["strategy"] is not None]
        chosen = sorted({r["strategy"] for r in usable})
        counts = ", ".join(f"{s} {sum(r['strategy'] == s for r in usable)}" for s in chosen)
        for key, truth, name in COVERAGE_ROWS:
            if key != "pr_auc" and positives < 60:
                continue  # issue #13 asks for recall and precision at ~60 positives
            rows = [r for r in usable if key in r["reported"] and r["truth"][truth] is not None]
            if not rows:
                continue
            covered = sum(_covers(r["reported"][key]["ci"], r["truth"][truth]) for r in rows)
            bias = np.mean([r["reported"][key]["value"] - r["truth"][truth] for r in rows])
            width = np.median([np.diff(r["reported"][key]["ci"])[0] for r in rows])
            detail = (
                f"estimate - truth {bias:+.3f} on average; median width {width:.3f}; "
                f"no recommendation in {len(mine) - len(usable)}; recommended: {counts}"
            )
            out.append(
                Measurement(
                    "coverage",
                    name.format(positives),
                    covered,
                    len(rows),
                    0.90,
                    at_most=False,
                    detail=detail,
                )
            )
            if key.endswith("_at"):
                continue
            # The mean true figure of the deployed models of one strategy over the datasets of
            # this size: the expected performance of the procedure (per strategy, >= 5 runs).
            means = {}
            for strategy in chosen:
                values = [r["truth"][truth] for r in rows if r["strategy"] == strategy]
                if len(values) >= 5:
                    means[strategy] = float(np.mean(values))
            pooled = [r for r in rows if r["strategy"] in means]
            covered = sum(_covers(r["reported"][key]["ci"], means[r["strategy"]]) for r in pooled)
            out.append(
                Measurement(
                    "coverage",
                    name.format(positives).replace("deployed model", "mean truth"),
                    covered,
                    len(pooled),
                    None,
                    at_most=False,
                    detail="per-strategy mean true figure over the datasets of this size "
                    "(strategies recommended at least 5 times): "
                    + (", ".join(f"{s} {v:.3f}" for s, v in means.items()) or "none"),
                )
            )
    return out


# --- 4. tripled ----------------------------------------------------------------------------------


def tripled_run(task: tuple) -> dict:
    (seed,) = task
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(300, 601))
    positives = int(rng.integers(15, 31))
    base = pure_noise(rng, rows, positives, 4)
    frame = pd.concat([base] * 3, ignore_index=True).iloc[rng.permutation(3 * rows)]
    d = run_analysis(frame.reset_index(drop=True), "label", int(rng.integers(2**31 - 1)))
    best = max(
        (s for s in d["strategies"] if s["status"] == "ok" and s["name"] != "majority"),
        key=lambda s: s["metrics"]["pr_auc"]["value"] or 0.0,
    )
    return {
        "rows": 3 * rows,
        "positives": 3 * positives,
        "claim": claims_beat_chance(d),
        "duplicate_warning": mentions_duplicates(d),
        "recommended": d["recommended"]["strategy"],
        "best": best["name"],
        "best_pr_auc": best["metrics"]["pr_auc"],
        "prevalence": d["dataset"]["prevalence"],
    }


def measure_tripled(ctx: SectionContext) -> list[Measurement]:
    records = ctx.map(tripled_run, [(ctx.task_seed("tripled", i),) for i in range(ctx.runs)])
    best = [
        f"{r['best']} {r['best_pr_auc']['value']:.2f} [{r['best_pr_auc']['ci'][0]:.2f}, "
        f"{r['best_pr_auc']['ci'][1]:.2f}] vs prevalence {r['prevalence']:.3f}"
        for r in records[:3]
    ]
    recommended = sorted({str(r["recommended"]) for r in records if r["claim"]})
    return [
        Measurement(
            "tripled",
            '"beats chance" on tripled noise',
            sum(r["claim"] for r in records),
            len(records),
            0.0,
            detail=f"recommended: {', '.join(recommended) or 'nothing'}; best PR-AUC: "
            + "; ".join(best),
        ),
        Measurement(
            "tripled",
            "no duplicate warning",
            sum(not r["duplicate_warning"] for r in records),
            len(records),
            0.0,
        ),
    ]


# --- 5. sample -----------------------------------------------------------------------------------

SAMPLE_SHIFT = np.array([1.8, 1.2, 1.0, 0.6, 0.0, 0.0])
SAMPLE_ROWS = 250_000
SAMPLE_PREVALENCE = 0.006
SAMPLE_SIZE = 20_000
SAMPLE_FRESH_ROWS = 1_000_000
SAMPLE_TOLERANCE = 0.05


def sample_run(task: tuple) -> dict:
    seed, n_jobs = task
    rng = np.random.default_rng(seed)
    frame = population_sample(rng, SAMPLE_ROWS, SAMPLE_PREVALENCE, SAMPLE_SHIFT)
    fresh = population_sample(rng, SAMPLE_FRESH_ROWS, SAMPLE_PREVALENCE, SAMPLE_SHIFT)
    y = fresh["label"].to_numpy()
    analysis_seed = int(rng.integers(2**31 - 1))
    out: dict = {"rows": len(frame), "positives": int(frame["label"].sum())}
    for kind, options in (("sample", {"sample": SAMPLE_SIZE}), ("full", {})):
        started = time.perf_counter()
        d = run_analysis(frame, "label", analysis_seed, n_jobs=n_jobs, **options)
        seconds = time.perf_counter() - started
        name, threshold = d["recommended"]["strategy"], recommended_threshold(d)
        f1 = None
        if name is not None:
            columns = d["dataset"]["features"]["numeric"]
            flagged = fit_deployed_model(frame, columns, name, seed=analysis_seed)(fresh)
            flagged = flagged >= threshold
            tp = int((flagged & (y == 1)).sum())
            f1 = 2 * tp / (int(flagged.sum()) + int(y.sum()))
        reported = strategy_entry(d, name)["tuned_metrics"]["f1"]["value"] if name else None
        out[kind] = {
            "strategy": name,
            "threshold": threshold,
            "true_f1": f1,
            "reported_f1": reported,
            "seconds": round(seconds, 1),
        }
    both = out["sample"]["true_f1"], out["full"]["true_f1"]
    out["ratio"] = both[0] / both[1] if None not in both and both[1] else None
    return out


def measure_sample(ctx: SectionContext) -> list[Measurement]:
    tasks = [(ctx.task_seed("sample", i), -1) for i in range(ctx.runs)]
    records = ctx.map(sample_run, tasks, jobs=1)  # imbreport uses both cores on this size
    usable = [r for r in records if r["ratio"] is not None]
    detail = "; ".join(
        f"F1 ratio {r['ratio']:.3f} ({r['sample']['strategy']} at {r['sample']['threshold']:.3f} "
        f"vs {r['full']['strategy']} at {r['full']['threshold']:.3f}; true F1 "
        f"{r['sample']['true_f1']:.3f} vs {r['full']['true_f1']:.3f})"
        for r in usable
    )
    return [
        Measurement(
            "sample",
            f"sample={SAMPLE_SIZE}: F1 more than 5% below",
            sum(r["ratio"] < 1 - SAMPLE_TOLERANCE for r in usable),
            len(usable),
            0.0,
            detail=detail,
        )
    ]


# --- 6. compare ----------------------------------------------------------------------------------

COMPARE_SHIFT = np.array([1.0, 0.8, 0.5, 0.0, 0.0])
COMPARE_ROWS = 1000
COMPARE_PREVALENCE = 0.05


def compare_run(task: tuple) -> dict:
    (seed,) = task
    rng = np.random.default_rng(seed)
    first = population_sample(rng, COMPARE_ROWS, COMPARE_PREVALENCE, COMPARE_SHIFT)
    second = population_sample(rng, COMPARE_ROWS, COMPARE_PREVALENCE, COMPARE_SHIFT)
    analysis_seed = int(rng.integers(2**31 - 1))
    previous = run_analysis(first, "label", analysis_seed)
    d = run_analysis(second, "label", analysis_seed, compare=previous, fail_if_worse=True)
    changes = d["changes"]
    primary = changes.get("primary") or {}
    return {
        "failed": bool(changes["failed"]),
        "worse": bool(changes["worse"]),
        "lost": bool(primary.get("recommendation_lost")),
        "changed": bool((changes.get("recommendation") or {}).get("changed")),
        "positives": (previous["dataset"]["positives"], d["dataset"]["positives"]),
        "pr_auc": (primary.get("previous"), primary.get("current")),
    }


def measure_compare(ctx: SectionContext) -> list[Measurement]:
    records = ctx.map(compare_run, [(ctx.task_seed("compare", i),) for i in range(ctx.runs)])
    failed = [r for r in records if r["failed"]]
    detail = (
        f"alarms: recommendation lost {sum(r['lost'] for r in failed)}, recommended strategy "
        f"changed {sum(r['changed'] for r in failed)}, second sample with fewer positives "
        f"{sum(r['positives'][1] < r['positives'][0] for r in failed)}/{len(failed)} "
        f"(positives vary by sample; PR-AUC follows the prevalence); changes['worse'] "
        f"{sum(r['worse'] for r in records)}/{len(records)}"
    )
    return [
        Measurement(
            "compare",
            "fail_if_worse fires on same population",
            len(failed),
            len(records),
            0.05,
            detail=detail,
        )
    ]


# --- 7. score columns ----------------------------------------------------------------------------

SCORES_SHIFT = np.array([1.0, 0.7, 0.0])
SCORES_PREVALENCE = 0.05


def bayes_scores(frame: pd.DataFrame, shift: np.ndarray, prevalence: float) -> np.ndarray:
    """The true P(positive | x) of ``gaussian_classes``' population: no model can rank better."""
    X = frame[[f"x{i + 1}" for i in range(len(shift))]].to_numpy()
    log_odds = X @ shift - shift @ shift / 2 + math.log(prevalence / (1 - prevalence))
    return 1 / (1 + np.exp(-log_odds))


def scores_run(task: tuple) -> dict:
    seed, rows = task
    rng = np.random.default_rng(seed)
    frame = population_sample(rng, rows, SCORES_PREVALENCE, SCORES_SHIFT)
    frame["bayes"] = np.round(bayes_scores(frame, SCORES_SHIFT, SCORES_PREVALENCE), 6)
    frame["noise"] = np.round(rng.random(len(frame)), 6)
    d = run_analysis(
        frame,
        "label",
        int(rng.integers(2**31 - 1)),
        strategies=("logreg", "balanced", "xgboost"),
        score=("bayes", "noise"),
        bootstrap=300,
    )
    chance = (d.get("chance") or {}).get("strategies") or {}
    versus = {c["second"]: c for c in d.get("score_columns") or ()}
    bayes = versus.get("bayes")
    return {
        "positives": d["dataset"]["positives"],
        "recommended": d["recommended"]["strategy"],
        "noise_beats_chance": bool((chance.get("noise") or {}).get("beats_chance")),
        "bayes_beats_chance": bool((chance.get("bayes") or {}).get("beats_chance")),
        # the report calls a fitted strategy distinguishably better than the best possible scorer
        "beaten_bayes": bool(bayes and is_distinguishable(bayes) and bayes["difference"] > 0),
        "bayes_worse": bool(bayes and is_distinguishable(bayes) and bayes["difference"] < 0),
    }


def measure_scores(ctx: SectionContext) -> list[Measurement]:
    tasks = [(ctx.task_seed("scores", i), 1000 + 500 * (i % 3)) for i in range(ctx.runs)]
    records = ctx.map(scores_run, tasks)
    compared = [r for r in records if r["recommended"]]
    return [
        Measurement(
            "scores",
            'noise score column "beats chance"',
            sum(r["noise_beats_chance"] for r in records),
            len(records),
            0.05,
            detail="a uniform random column given with --score, tested with the strategies",
        ),
        Measurement(
            "scores",
            "strategy called better than Bayes",
            sum(r["beaten_bayes"] for r in compared),
            len(compared),
            0.05,
            detail="the true P(y|x) as a score column; the recommended strategy is never truly "
            "better (Gaussian classes, 5 % prevalence, 1,000-2,000 rows)",
        ),
        Measurement(
            "scores",
            "Bayes column: beats chance (power)",
            sum(r["bayes_beats_chance"] for r in records),
            len(records),
            None,
            detail=f"Bayes called distinguishably better than the recommended strategy in "
            f"{sum(r['bayes_worse'] for r in compared)}/{len(compared)} runs",
        ),
    ]


# --- main ----------------------------------------------------------------------------------------

SECTIONS = {
    s.name: s
    for s in (
        Section("chance", 60, 12, measure_chance),
        Section("identical", 60, 12, measure_identical),
        Section("coverage", 50, 8, measure_coverage),
        Section("tripled", 10, 3, measure_tripled),
        Section("sample", 5, 1, measure_sample),
        Section("compare", 60, 12, measure_compare),
        Section("scores", 60, 12, measure_scores),
    )
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Error rates of imbreport's claims on data with a known truth (issue #13)."
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs per section")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"sections, comma-separated: {','.join(SECTIONS)}",
    )
    parser.add_argument("--runs", type=int, help="runs (datasets, pairs) per section / setting")
    parser.add_argument("--seed", type=int, default=13, help="base seed (default 13)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for small runs")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--json", type=Path, help="save the measurements and per-run records")
    args = parser.parse_args(argv)
    args.sections = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def run_sections(sections: list[Section], args) -> tuple[list[Measurement], dict]:
    """Run each section (``args``: runs, quick, seed, jobs, datasets), printing its rows as it
    ends and the whole table last; the measurements, and per section what ``--json`` saves."""
    measurements: list[Measurement] = []
    saved: dict = {"sections": {}}
    for section in sections:
        runs = args.runs or (section.quick_runs if args.quick else section.default_runs)
        ctx = SectionContext(runs, args.seed, max(1, args.jobs), args.datasets)
        print(f"\n== {section.name}: {runs} run(s)", flush=True)
        started = time.perf_counter()
        results = section.run(ctx)
        seconds = time.perf_counter() - started
        for m in results:
            m.seconds = seconds
            print(format_row(m), flush=True)
            if m.detail:
                print(f"{'':<11}{m.detail}", flush=True)
        if ctx.errors:
            print(f"  {len(ctx.errors)} run(s) failed and are left out", flush=True)
        measurements.extend(results)
        saved["sections"][section.name] = {
            "runs": runs,
            "seconds": round(seconds, 1),
            "errors": ctx.errors,
            "records": ctx.records,
        }
    print("\n" + HEADER)
    for m in measurements:
        print(format_row(m))
    print("(time: the whole section; '?': the interval straddles the goal)")
    return measurements, saved


def main(argv: list[str] | None = None) -> int:
    import imbreport

    args = parse_args(argv)
    print(
        f"imbreport {imbreport.__version__}, seed {args.seed}, "
        f"{'quick' if args.quick else 'default'} mode, {args.jobs} job(s)",
        flush=True,
    )
    measurements, saved = run_sections([SECTIONS[name] for name in args.sections], args)
    if args.json:
        saved.update(
            imbreport=imbreport.__version__,
            seed=args.seed,
            mode="quick" if args.quick else "default",
            measurements=[m.to_dict() for m in measurements],
        )
        args.json.write_text(json.dumps(saved, indent=1, default=_json_default) + "\n")
        print(f"saved {args.json}")
    return 0


def _json_default(value):
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    sys.exit(main())
