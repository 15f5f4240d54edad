"""How far to trust the segment flags (issue #15): "recall / precision is distinguishably lower
in SEGMENT" is a statistical claim, so its error rate is measured like the claims of
``trust.py`` (whose ``Measurement``, Wilson intervals and table this reuses).

Not a test (nothing here asserts). Sections (select with ``--only``):

``null``   A segment column of 4 random groups, unrelated to the features and the label:
           any flag is false. Real shared datasets (article, KEEL abalone19, car-vgood,
           page-blocks0; real labels, rows subsampled to 600-2,000) alternating with synthetic
           Gaussian classes (1,000-3,000 rows, 4-10 % positives; every other one also given a
           noisy existing-model score column, so the Holm family spans two subjects). Goal:
           runs with any flag <= 5 %. Default 60 runs, about 4 min (--quick: 16).
``power``  Synthetic Gaussian classes where a quarter of the rows (segment 'hard') has
           positives shifted less far from the negatives (a truly harder segment), the rest
           random groups: the rate at which 'hard' is flagged (recall), for two strengths of
           the effect, and flags on the other groups (reported for information). Default 30
           runs per setting, about 3 min (--quick: 8).

Every run calls ``imbreport.analyze(frame, segment=("region",), strategies=("logreg",
"balanced"), bootstrap=200, n_jobs=1)`` and reads the JSON (``segments``). Seeded from
``--seed``: reruns print the same figures.

    python benchmarks/trust_segments.py --quick
    python benchmarks/trust_segments.py --only null --runs 100 --json segments.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trust  # noqa: E402  (this folder's trust.py: Measurement, wilson, the table's format)
from trust import (  # noqa: E402
    DEFAULT_DATASETS,
    REAL_DATASETS,
    Measurement,
    SectionContext,
    gaussian_classes,
    run_analysis,
)

OPTIONS = {"strategies": ("logreg", "balanced"), "bootstrap": 200, "segment": ("region",)}
GROUPS = ("a", "b", "c", "d")


def _flags(d: dict) -> list[str]:
    block = d.get("segments") or {}
    return list(block.get("flagged", []))


def _flagged_values(d: dict) -> set[tuple[str, str]]:
    """(value, figure) of every flagged segment."""
    out = set()
    for table in (d.get("segments") or {}).get("tables", []):
        for s in table["segments"]:
            out.update((s["value"], key) for key in s["lower"])
    return out


def _real(rng: np.random.Generator, datasets: Path, index: int):
    available = [e for e in REAL_DATASETS if (datasets / e[0]).exists()]
    if not available:
        return None
    name, target, positive = available[index % len(available)]
    frame = pd.read_csv(datasets / name)
    rows = min(len(frame), int(rng.integers(600, 2001)))
    frame = frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))].reset_index(drop=True)
    options = {} if positive is None else {"positive_label": positive}
    return frame, target, options, name


def null_run(task: tuple) -> dict:
    index, seed, datasets = task
    rng = np.random.default_rng(seed)
    found = _real(rng, Path(datasets), index // 2) if index % 2 == 0 else None
    options: dict = {}
    if found is not None:
        frame, target, options, source = found
    else:
        rows = int(rng.integers(1000, 3001))
        positives = int(rows * rng.uniform(0.04, 0.10))
        frame = gaussian_classes(rng, rows - positives, positives, np.array([1.2, 0.8, 0.0]))
        target, source = "label", "synthetic"
        if index % 4 == 1:
            noisy = frame["x1"] + frame["x2"] + rng.normal(scale=1.5, size=len(frame))
            frame["old_model"] = noisy
            options["score"] = ("old_model",)
            source = "synthetic + score column"
    frame["region"] = rng.choice(GROUPS, size=len(frame))
    d = run_analysis(frame, target, int(rng.integers(2**31 - 1)), **OPTIONS, **options)
    block = d["segments"] or {}
    return {
        "source": source,
        "rows": d["dataset"]["rows_used"],
        "positives": d["dataset"]["positives"],
        "tests": block.get("tests", 0),
        "flags": _flags(d),
    }


def measure_null(ctx: SectionContext) -> list[Measurement]:
    tasks = [(i, ctx.task_seed("seg-null", i), str(ctx.datasets)) for i in range(ctx.runs)]
    records = ctx.map(null_run, tasks)
    flagged = sum(bool(r["flags"]) for r in records)
    by_source: dict[str, list[int]] = {}
    for r in records:
        key = r["source"].split(".")[0]
        by_source.setdefault(key, [0, 0])
        by_source[key][0] += bool(r["flags"])
        by_source[key][1] += 1
    tested = [r["tests"] for r in records]
    detail = (
        ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_source.items()))
        + f"; tests per run: median {int(np.median(tested)) if tested else 0}, "
        f"none in {sum(t == 0 for t in tested)} runs (every group under 10 positives)"
    )
    return [
        Measurement(
            "seg-null",
            "runs with any segment flag (random)",
            flagged,
            len(records),
            0.05,
            True,
            detail,
        )
    ]


#: shift of the positives outside / inside the harder segment (x1, x2)
POWER_SETTINGS = {"strong": (2.0, 0.6), "moderate": (2.0, 1.2)}


def power_run(task: tuple) -> dict:
    index, seed, setting = task
    rng = np.random.default_rng(seed)
    easy, hard = POWER_SETTINGS[setting]
    rows = 2000
    y = (rng.random(rows) < 0.08).astype(int)
    region = rng.choice(["hard", *GROUPS[:3]], size=rows)
    shift = np.where(region == "hard", hard, easy)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=rows) + shift * y,
            "x2": rng.normal(size=rows) + 0.5 * shift * y,
            "label": y,
            "region": region,
        }
    )
    d = run_analysis(frame, "label", int(rng.integers(2**31 - 1)), **OPTIONS)
    flagged = _flagged_values(d)
    return {
        "setting": setting,
        "positives": int(y.sum()),
        "hard_recall": ("hard", "recall") in flagged,
        "hard_any": any(v == "hard" for v, _ in flagged),
        "others": sorted(f"{v}:{k}" for v, k in flagged if v != "hard"),
    }


def measure_power(ctx: SectionContext) -> list[Measurement]:
    out = []
    for setting in POWER_SETTINGS:
        tasks = [(i, ctx.task_seed(f"seg-power-{setting}", i), setting) for i in range(ctx.runs)]
        records = ctx.map(power_run, tasks)
        easy, hard = POWER_SETTINGS[setting]
        detail = (
            f"positives shifted {hard} in 'hard' vs {easy} elsewhere (x1; half that in x2); "
            f"'hard' flagged on any figure {sum(r['hard_any'] for r in records)}/{len(records)}"
        )
        out.append(
            Measurement(
                "seg-power",
                f"harder segment flagged, recall ({setting})",
                sum(r["hard_recall"] for r in records),
                len(records),
                None,
                detail=detail,
            )
        )
        out.append(
            Measurement(
                "seg-power",
                f"other groups flagged ({setting})",
                sum(bool(r["others"]) for r in records),
                len(records),
                None,
                detail="an easy group 'lower than the rest': the rest includes 'hard', so it "
                "should not happen either",
            )
        )
    return out


SECTIONS = {
    s.name: s
    for s in (
        trust.Section("null", 60, 16, measure_null),
        trust.Section("power", 30, 8, measure_power),
    )
}


def main(argv: list[str] | None = None) -> int:
    import imbreport

    parser = argparse.ArgumentParser(description="Error rate and power of the segment flags.")
    parser.add_argument("--quick", action="store_true", help="fewer runs per section")
    parser.add_argument("--only", default=",".join(SECTIONS), help="null,power")
    parser.add_argument("--runs", type=int, help="runs per section / setting")
    parser.add_argument("--seed", type=int, default=15, help="base seed (default 15)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--json", type=Path, help="save the measurements and per-run records")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    print(f"imbreport {imbreport.__version__}, seed {args.seed}, {args.jobs} job(s)", flush=True)
    measurements, saved = trust.run_sections([SECTIONS[name] for name in names], args)
    if args.json:
        saved["measurements"] = [m.to_dict() for m in measurements]
        args.json.write_text(json.dumps(saved, indent=1, default=trust._json_default) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
