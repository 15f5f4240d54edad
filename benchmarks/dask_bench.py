"""Benchmarks of the Dask engine (issue #16): equality with the pandas engine, and a table larger
than one process should hold.

    python benchmarks/dask_bench.py generate --rows 20m --out benchmarks/out/fraud_20m.parquet
    python benchmarks/dask_bench.py equality --data benchmarks/out/fraud_1m.csv
    python benchmarks/dask_bench.py run --data benchmarks/out/fraud_20m.parquet --engine dask

``generate`` writes the benchmark generator's table (``generate.py``) as a folder of Parquet
files, one chunk at a time (each chunk its own seed), so generation never holds more than a chunk.
``run`` runs ``imbreport analyze`` in a child process and measures its wall time and its peak RSS
(the driver: ``/usr/bin/time``-style ``ru_maxrss`` of the child alone), and, with the Dask
engine, samples the RSS of the cluster's worker processes (the driver's descendants) every 0.5 s.
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


def _descendants_rss(pid: int) -> int:
    """Summed RSS (bytes) of ``pid``'s descendant processes (the cluster's workers, nannies)."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for child in children:
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(data: str, engine: str, output: str, extra: list[str]) -> dict:
    """One ``imbreport analyze`` run: wall time, the driver's peak RSS, the workers' peak RSS."""
    command = [
        sys.executable,
        "-m",
        "imbreport",
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
    peak_workers = 0
    stop = threading.Event()

    def watch():
        nonlocal peak_workers
        while not stop.wait(0.5):
            peak_workers = max(peak_workers, _descendants_rss(process.pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(process.pid, 0)
    stop.set()
    watcher.join()
    seconds = time.perf_counter() - started
    return {
        "engine": engine,
        "data": data,
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(seconds, 1),
        "driver_peak_rss_mb": round(usage.ru_maxrss / 1024),  # the child alone (kB on Linux)
        "workers_peak_rss_mb": round(peak_workers / 2**20),
    }


def pr_aucs(path: str) -> dict[str, float | None]:
    with open(path, encoding="utf-8") as stream:
        report = json.load(stream)
    return {
        s["name"]: (s["metrics"].get("pr_auc") or {}).get("value") for s in report["strategies"]
    }


def equality(data: str, out: str, extra: list[str]) -> int:
    """Both engines on ``data``; each strategy's PR-AUC and the difference (target ±0.01)."""
    os.makedirs(out, exist_ok=True)
    runs = {}
    for engine in ("pandas", "dask"):
        path = os.path.join(out, f"equality_{engine}.json")
        runs[engine] = run(data, engine, path, extra)
        runs[engine]["pr_auc"] = pr_aucs(path)
        print(json.dumps({k: v for k, v in runs[engine].items() if k != "pr_auc"}))
    worst = 0.0
    print(f"{'strategy':<18} {'pandas':>8} {'dask':>8} {'diff':>8}")
    for name, value in runs["pandas"]["pr_auc"].items():
        other = runs["dask"]["pr_auc"].get(name)
        if value is None or other is None:
            print(f"{name:<18} {value!s:>8} {other!s:>8}")
            continue
        worst = max(worst, abs(other - value))
        print(f"{name:<18} {value:8.3f} {other:8.3f} {other - value:+8.3f}")
    print(f"largest difference {worst:.4f} ({'within' if worst <= 0.01 else 'OUTSIDE'} ±0.01)")
    return 0 if worst <= 0.01 else 1


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
    args, extra = parser.parse_known_args(argv)
    if args.command == "generate":
        from generate import parse_rows

        generate_parquet(parse_rows(args.rows), args.out, args.features)
        return 0
    if args.command == "run":
        print(json.dumps(run(args.data, args.engine, args.output, extra)))
        return 0
    return equality(args.data, args.out, extra)


if __name__ == "__main__":
    sys.exit(main())
