"""Benchmarks of the Dask engine (issue #16): equality with the pandas engine, and a table larger
than one process should hold.

    python benchmarks/dask_bench.py generate --rows 20m --out benchmarks/out/fraud_20m.parquet
    python benchmarks/dask_bench.py equality --data benchmarks/out/fraud_1m.csv
    python benchmarks/dask_bench.py equality --data benchmarks/out/fraud_1m.csv --seeds 42,1,2,3,4
    python benchmarks/dask_bench.py run --data benchmarks/out/fraud_20m.parquet --engine dask

``generate`` writes the benchmark generator's table (``generate.py``) as a folder of Parquet
files, one chunk at a time (each chunk its own seed), so generation never holds more than a chunk.
``run`` runs ``imbreport analyze`` in a child process (the driver) and measures its wall time and
three memory figures: the driver's own peak RSS (``getrusage(RUSAGE_SELF)`` read in the driver
as it exits: its process alone), ``wait4``'s ``ru_maxrss`` (what ``/usr/bin/time`` prints: on
Linux the larger of the driver's peak and that of the largest descendant it reaped, such as a
local cluster's worker), and the workers' peak (the RSS of the driver's descendants, summed and
the largest one, sampled every 0.5 s). The driver also logs its RSS and peak at each stage
(``imbreport.distributed`` stage lines, then the deployed fit and the rendering) to
``OUTPUT.stages.txt``.
``equality`` runs both engines on one file and prints each strategy's PR-AUC side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CHUNK_ROWS = 500_000


def generate_parquet(rows: int, out: str, features: int = 28) -> None:
    """``rows`` rows of the benchmark table as ``out/part-NNNNN.parquet``, chunk by chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from generate import SEED, generate

    os.makedirs(out, exist_ok=True)
    started = time.perf_counter()
    done, index, positives = 0, 0, 0
    while done < rows:
        size = min(CHUNK_ROWS, rows - done)
        frame = generate(size, features, seed=SEED + index)
        positives += int(frame["Class"].sum())
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, os.path.join(out, f"part-{index:05d}.parquet"), row_group_size=size)
        done += size
        index += 1
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(
        f"wrote {out}: {rows:,} rows in {index} files, {positives:,} positives, "
        f"{size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


def _descendants_rss(pid: int) -> tuple[int, int]:
    """Summed and largest RSS (bytes) of ``pid``'s descendant processes (the cluster's workers,
    nannies, joblib workers)."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0, 0
    total = largest = 0
    for child in children:
        try:
            rss = child.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


#: The driver: ``imbreport analyze`` with its own peak RSS written at exit and a line per stage.
DRIVER = r"""
import atexit, logging, resource, sys, time
peak_file, stages_file = sys.argv.pop(1), sys.argv.pop(1)
stages = open(stages_file, "w", buffering=1)
started = time.perf_counter()

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

def mark(stage):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages.write(f"{time.perf_counter() - started:8.1f} s  rss {rss_mb():6.0f} MB  "
                 f"peak {peak:6.0f} MB  {stage}\n")

class Stages(logging.Handler):
    def emit(self, record):
        mark(record.getMessage())

engine_log = logging.getLogger("imbreport.distributed")
engine_log.addHandler(Stages())
engine_log.setLevel(logging.INFO)
atexit.register(lambda: open(peak_file, "w").write(
    str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))
atexit.register(mark, "exit")
import imbreport.evaluate as evaluate
deploy = evaluate.deploy

def logged_deploy(*args, **kwargs):
    mark("deploy: start (fit of the recommended strategy, feature importance)")
    found = deploy(*args, **kwargs)
    mark("deploy: done; then figures and rendering")
    return found

evaluate.deploy = logged_deploy
from imbreport.cli import main
sys.argv[0] = "imbreport"
main()
"""


def run(data: str, engine: str, output: str, extra: list[str]) -> dict:
    """One ``imbreport analyze`` run: wall time, the driver's own peak RSS, ``wait4``'s peak
    (driver or a reaped descendant), and the workers' peak RSS (summed, and the largest one)."""
    peak_file, stages_file = output + ".driver_peak", output + ".stages.txt"
    command = [
        sys.executable,
        "-c",
        DRIVER,
        peak_file,
        stages_file,
        "analyze",
        data,
        "--engine",
        engine,
        "-o",
        output,
        "-q",
        *extra,
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    peak_workers = peak_worker = 0
    stop = threading.Event()

    def watch():
        nonlocal peak_workers, peak_worker
        while not stop.wait(0.5):
            total, largest = _descendants_rss(process.pid)
            peak_workers, peak_worker = max(peak_workers, total), max(peak_worker, largest)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(process.pid, 0)
    stop.set()
    watcher.join()
    seconds = time.perf_counter() - started
    try:
        with open(peak_file, encoding="utf-8") as stream:
            driver_peak = round(int(stream.read()) / 1024)  # kB on Linux
    except (OSError, ValueError):
        driver_peak = None
    return {
        "engine": engine,
        "data": data,
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(seconds, 1),
        "driver_peak_rss_mb": driver_peak,
        "wait4_peak_rss_mb": round(usage.ru_maxrss / 1024),
        "workers_peak_rss_mb": round(peak_workers / 2**20),
        "largest_worker_peak_rss_mb": round(peak_worker / 2**20),
        "stages": stages_file,
    }


def pr_aucs(path: str) -> dict[str, float | None]:
    with open(path, encoding="utf-8") as stream:
        report = json.load(stream)
    return {
        s["name"]: (s["metrics"].get("pr_auc") or {}).get("value") for s in report["strategies"]
    }


def equality(data: str, out: str, extra: list[str], seeds: list[int] | None = None) -> int:
    """Both engines on ``data``; each strategy's PR-AUC and the difference (target ±0.01).

    With several ``seeds`` each engine runs once per seed (``--seed``: other folds, other forests)
    and the engines are compared on their means: a randomised strategy (the Isolation Forest)
    differs between two seeds of one engine by more than ±0.01, so a single pair of runs cannot
    tell an engine's bias from the forest's own randomness. Printed per strategy: each engine's
    mean and seed-to-seed range, the mean difference and its standard error (paired by seed).
    """
    os.makedirs(out, exist_ok=True)
    seeds = seeds or [None]
    values: dict[str, dict[str, list[float]]] = {"pandas": {}, "dask": {}}
    for seed in seeds:
        for engine in ("pandas", "dask"):
            tag = "" if seed is None else f"_seed{seed}"
            path = os.path.join(out, f"equality_{engine}{tag}.json")
            seeded = extra if seed is None else [*extra, "--seed", str(seed)]
            measured = run(data, engine, path, seeded)
            print(json.dumps({"seed": seed, **measured}), flush=True)
            for name, value in pr_aucs(path).items():
                values[engine].setdefault(name, []).append(value)
    return _compare(values, seeds)


def _compare(values: dict[str, dict[str, list[float]]], seeds: list) -> int:
    import statistics

    worst = 0.0
    print(f"seeds: {', '.join(str(s) for s in seeds)}")
    print(
        f"{'strategy':<18} {'pandas':>8} {'(range)':>15} {'dask':>8} {'(range)':>15} "
        f"{'diff':>8} {'± s.e.':>7}"
    )
    for name, ours in values["pandas"].items():
        theirs = values["dask"].get(name, [])
        if None in ours or None in theirs or len(theirs) != len(ours):
            print(f"{name:<18} {ours!s:>8} {theirs!s:>8}")
            continue
        differences = [b - a for a, b in zip(ours, theirs, strict=True)]
        mean = statistics.fmean(differences)
        error = statistics.stdev(differences) / len(differences) ** 0.5 if len(seeds) > 1 else 0.0
        worst = max(worst, abs(mean))
        print(
            f"{name:<18} {statistics.fmean(ours):8.3f} {_range(ours):>15} "
            f"{statistics.fmean(theirs):8.3f} {_range(theirs):>15} {mean:+8.3f} {error:7.3f}"
        )
    print(f"largest mean difference {worst:.4f} ({'within' if worst <= 0.01 else 'OUTSIDE'} ±0.01)")
    return 0 if worst <= 0.01 else 1


def _range(values: list[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}" if len(values) > 1 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--rows", required=True)
    gen.add_argument("--out", required=True)
    gen.add_argument("--features", type=int, default=28)
    one = sub.add_parser("run")
    one.add_argument("--data", required=True)
    one.add_argument("--engine", default="dask")
    one.add_argument("--output", default=os.path.join(HERE, "out", "dask_run.json"))
    same = sub.add_parser("equality")
    same.add_argument("--data", required=True)
    same.add_argument("--out", default=os.path.join(HERE, "out"))
    same.add_argument(
        "--seeds", default="", help="comma-separated seeds, e.g. 42,1,2,3,4 (default: one run)"
    )
    args, extra = parser.parse_known_args(argv)
    if args.command == "generate":
        from generate import parse_rows

        generate_parquet(parse_rows(args.rows), args.out, args.features)
        return 0
    if args.command == "run":
        print(json.dumps(run(args.data, args.engine, args.output, extra)))
        return 0
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    return equality(args.data, args.out, extra, seeds)


if __name__ == "__main__":
    sys.exit(main())
