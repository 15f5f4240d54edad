"""The benchmark runner: imbreport against the article's notebook (``peer.py``), whole processes.

For each size (10k, 200k, 1M rows of ``generate.py``'s card-fraud-like data) it runs, one after the
other, as separate processes:

- ``peer``    — ``python benchmarks/peer.py CSV`` (one 70/30 split, the article's figures as PNG);
- ``holdout`` — ``imbreport analyze CSV --holdout 0.3 -o x.html -o x.json``;
- ``cv``      — ``imbreport analyze CSV -o x.html -o x.pdf -o x.json`` (default 5-fold CV).

Each process is measured for wall time, CPU time (user + sys, the process and its workers), peak
RSS of the largest single process (``wait4``) and peak RSS summed over the process tree (sampled
from ``/proc``; joblib workers are separate processes). imbreport's per-stage ``timings`` are read
from its JSON and the output sizes recorded. Extras: ``imbreport --help`` (median of 5), the
1,000-row article dataset end to end, and wide data (200 and 1,500 feature columns).

    python benchmarks/run.py                      # everything (1M takes a while)
    python benchmarks/run.py --sizes 10k,200k     # a subset
    python benchmarks/run.py --skip-1m --no-extras
    python benchmarks/run.py --table              # print the table of the saved results

Results are merged into ``benchmarks/out/results.json`` (one entry per size or extra, each with the
date it was measured) and the table is printed. Ratios compare runs made in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
PYTHON = sys.executable
IMBREPORT = os.path.join(os.path.dirname(PYTHON), "imbreport")
ARTICLE_CSV = os.path.join(REPO, "imbreport", "datasets", "article_dataset.csv")
SIZES = {"10k": 10_000, "200k": 200_000, "1m": 1_000_000}
WIDE = {"wide200": (5_000, 200), "wide1500": (5_000, 1_500)}
WIDE_POSITIVE_RATE = 0.01
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024
EXTRAS = ("help", "article", *WIDE)
#: Environment of every measured process. ``OMP_WAIT_POLICY=PASSIVE`` stops OpenMP threads
#: (XGBoost) from spin-waiting: on a shared, oversubscribed machine spinning multiplies their CPU
#: time ~10× and makes wall times depend on the neighbours; on an idle machine it costs ~nothing.
ENVIRONMENT = {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "OMP_WAIT_POLICY": "PASSIVE"}

#: Issue #17's goals (issue #8's sizes of outputs kept).
GOALS = {
    "cv_10k_vs_peer": 1.5,
    "holdout_200k_vs_peer": 0.5,
    "cv_1m_vs_peer": 0.75,
    "cv_1m_rss_mb": 2 * 1024,
    "html_1m_mb": 1.5,
    "pdf_1m_mb": 2.0,
    "article_s": 5.0,
    "help_s": 0.2,
}


# --- measuring one process ----------------------------------------------------------------------


@dataclass
class Measurement:
    """What one whole process cost."""

    command: list[str]
    wall_s: float = 0.0
    cpu_user_s: float = 0.0
    cpu_sys_s: float = 0.0
    max_rss_mb: float = 0.0  # largest single process (wait4 / RUSAGE_CHILDREN semantics)
    tree_rss_mb: float = 0.0  # sampled peak of the summed RSS over the process tree
    tree_pss_mb: float = 0.0  # the same with PSS (shared pages split between processes)
    returncode: int | None = None
    timed_out: bool = False
    load_before: float = 0.0
    stderr_tail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    @property
    def ok(self) -> bool:
        return self.returncode in (0, 1) and not self.timed_out


def _proc_table() -> dict[int, tuple[int, float, float]]:
    """pid → (parent pid, CPU seconds, RSS bytes) for every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, utime, stime, rss_pages = int(fields[1]), int(fields[11]), int(fields[12]), 0
        rss_pages = int(fields[21])
        table[int(entry)] = (ppid, (utime + stime) / TICKS, rss_pages * PAGE)
    return table


def _pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (libraries, joblib memmaps) counted once overall."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as stream:
            for line in stream:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int, table: dict) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


class TreeSampler(threading.Thread):
    """Samples the process tree under ``root``: peak summed RSS and per-process CPU seconds."""

    def __init__(self, root: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.cpu_seen: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            table = _proc_table()
            tree = [p for p in _descendants(self.root, table) if p in table]
            self.peak_rss = max(self.peak_rss, sum(table[p][2] for p in tree))
            self.peak_pss = max(self.peak_pss, sum(_pss_bytes(p) for p in tree))
            for pid in tree:
                self.cpu_seen[pid] = table[pid][1]
            self.done.wait(self.interval)

    def workers_cpu(self) -> float:
        """CPU seconds of the descendants (not the root), as last seen."""
        return sum(v for pid, v in self.cpu_seen.items() if pid != self.root)


def measure(command: list[str], timeout: float, cwd: str = REPO) -> Measurement:
    """Run ``command`` to completion (or kill it after ``timeout`` s) and measure it."""
    result = Measurement(command=command, load_before=os.getloadavg()[0])
    env = dict(os.environ, **ENVIRONMENT)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    sampler = TreeSampler(process.pid)
    sampler.start()
    stderr_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()))
    reader.start()
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(process.pid, 9)
            result.timed_out = True
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.05)
    result.wall_s = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    result.returncode = process.returncode
    # wait4 counts the child and the descendants it reaped; add workers it never reaped
    reaped = usage.ru_utime + usage.ru_stime
    root_cpu = sampler.cpu_seen.get(process.pid, 0.0)
    unreaped = max(0.0, sampler.workers_cpu() - max(0.0, reaped - root_cpu))
    result.cpu_user_s = usage.ru_utime + unreaped
    result.cpu_sys_s = usage.ru_stime
    result.max_rss_mb = usage.ru_maxrss / 1024
    result.tree_rss_mb = sampler.peak_rss / MB
    result.tree_pss_mb = sampler.peak_pss / MB
    tail = b"".join(stderr_chunks).decode("utf-8", "replace").strip().splitlines()[-5:]
    result.stderr_tail = "\n".join(tail)
    return result


# --- the runs -----------------------------------------------------------------------------------


def ensure_csv(name: str, rows: int, features: int = 28, rate: float | None = None) -> str:
    """Generate the CSV once (deterministic); later runs reuse it."""
    path = os.path.join(OUT, f"{name}.csv")
    if not os.path.exists(path):
        command = [PYTHON, os.path.join(HERE, "generate.py"), "--rows", str(rows)]
        command += ["--features", str(features), "--out", path]
        if rate is not None:
            command += ["--positive-rate", str(rate)]
        subprocess.run(command, check=True)
    return path


def file_mb(path: str) -> float | None:
    return os.path.getsize(path) / MB if os.path.exists(path) else None


def imbreport_timings(json_path: str) -> dict:
    if not os.path.exists(json_path):
        return {}
    with open(json_path) as stream:
        return json.load(stream).get("timings", {})


def run_peer(csv: str, work: str, timeout: float) -> Measurement:
    out_dir = os.path.join(work, "peer")
    shutil.rmtree(out_dir, ignore_errors=True)
    result = measure([PYTHON, os.path.join(HERE, "peer.py"), csv, "--out-dir", out_dir], timeout)
    peer_json = os.path.join(out_dir, "peer.json")
    if os.path.exists(peer_json):
        with open(peer_json) as stream:
            result.extra["timings"] = json.load(stream)["timings"]
    return result


def run_imbreport(csv: str, work: str, mode: str, timeout: float, extra_args=()) -> Measurement:
    """``mode`` is ``holdout`` (HTML + JSON) or ``cv`` (HTML + PDF + JSON)."""
    stem = os.path.join(work, mode)
    outputs = [stem + ".html", stem + ".json"] + ([stem + ".pdf"] if mode == "cv" else [])
    for path in outputs:
        if os.path.exists(path):
            os.unlink(path)
    command = [IMBREPORT, "analyze", csv, *extra_args, "-q"]
    if mode == "holdout":
        command += ["--holdout", "0.3"]
    for path in outputs:
        command += ["-o", path]
    result = measure(command, timeout)
    result.extra["timings"] = imbreport_timings(stem + ".json")
    result.extra["html_mb"] = file_mb(stem + ".html")
    result.extra["pdf_mb"] = file_mb(stem + ".pdf")
    return result


def run_size(label: str, modes: list[str], timeout: float, previous: dict | None = None) -> dict:
    """Run ``modes`` on one size; with a subset of modes, the others are kept from ``previous``
    (each measurement carries its own ``measured`` stamp)."""
    rows = SIZES[label]
    csv = ensure_csv(f"fraud_{label}", rows)
    work = os.path.join(OUT, f"run_{label}")
    os.makedirs(work, exist_ok=True)
    kept = {m: previous[m] for m in ("peer", "holdout", "cv") if previous and m in previous}
    entry = {**kept, "rows": rows, "csv_mb": file_mb(csv), **stamp()}
    for mode in modes:
        print(f"[{label}] {mode} …", file=sys.stderr, flush=True)
        if mode == "peer":
            m = run_peer(csv, work, timeout)
        else:
            m = run_imbreport(csv, work, mode, timeout)
        entry[mode] = {**_as_dict(m), "measured": _now()}
        print(f"[{label}] {mode}: {_one_line(m)}", file=sys.stderr, flush=True)
    return entry


def run_help(repeats: int = 5) -> dict:
    walls = [measure([IMBREPORT, "--help"], 60).wall_s for _ in range(repeats)]
    return {"median_s": statistics.median(walls), "all_s": walls, **stamp()}


def run_article(timeout: float) -> dict:
    work = os.path.join(OUT, "run_article")
    os.makedirs(work, exist_ok=True)
    m = run_imbreport(ARTICLE_CSV, work, "cv", timeout, ("--target", "label"))
    return {**stamp(), "cv": _as_dict(m)}


def run_wide(label: str, timeout: float) -> dict:
    rows, features = WIDE[label]
    csv = ensure_csv(label, rows, features, WIDE_POSITIVE_RATE)
    work = os.path.join(OUT, f"run_{label}")
    os.makedirs(work, exist_ok=True)
    entry = {"rows": rows, "features": features + 3, **stamp()}
    for mode in ("peer", "cv"):
        print(f"[{label}] {mode} …", file=sys.stderr, flush=True)
        m = (
            run_peer(csv, work, timeout)
            if mode == "peer"
            else run_imbreport(csv, work, mode, timeout)
        )
        entry[mode] = _as_dict(m)
        print(f"[{label}] {mode}: {_one_line(m)}", file=sys.stderr, flush=True)
    return entry


def _as_dict(m: Measurement) -> dict:
    out = asdict(m)
    out["cpu_s"] = m.cpu_s
    out["ok"] = m.ok
    return out


def _one_line(m: Measurement) -> str:
    status = "TIMEOUT" if m.timed_out else f"exit {m.returncode}"
    return (
        f"{m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, {m.tree_pss_mb:.0f} MB tree PSS, {status}"
        + (f"\n{m.stderr_tail}" if not m.ok else "")
    )


def revision() -> str:
    """The imbreport commit measured (editable install), marked dirty if its code has edits."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "imbreport", "templates"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return head + (" (dirty)" if dirty else "")


def stamp() -> dict:
    """When, on which revision and in which environment a measurement was made."""
    return {"measured": _now(), "revision": revision(), "environment": dict(ENVIRONMENT)}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --- results and the table ----------------------------------------------------------------------


def load_results(path: str) -> dict:
    if os.path.exists(path):
        with open(path) as stream:
            return json.load(stream)
    return {}


def save_results(path: str, results: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    results["machine"] = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    temp = path + ".tmp"
    with open(temp, "w") as stream:
        json.dump(results, stream, indent=2)
    os.replace(temp, path)


def _fmt(value, spec: str = ".1f", none: str = "—") -> str:
    return none if value is None else format(value, spec)


def _ratio(a: dict | None, b: dict | None, key: str = "wall_s") -> str:
    if not a or not b or not a.get("ok") or not b.get("ok") or not b[key]:
        return "—"
    return f"{a[key] / b[key]:.2f}×"


def size_table(results: dict) -> list[str]:
    head = (
        f"{'size':<6} {'run':<8} {'wall s':>8} {'CPU s':>8} {'RSS MB':>7} {'tree MB':>8} {'PSS MB':>7} "
        f"{'÷ peer':>7} {'CPU ÷':>6} {'fit s':>7} {'illus s':>7} {'other s':>7} {'HTML MB':>8} {'PDF MB':>7} "
        f"{'load':>5}"
    )
    lines = [head, "-" * len(head)]
    for label in [s for s in SIZES if s in results.get("sizes", {})]:
        entry = results["sizes"][label]
        for mode in ("peer", "holdout", "cv"):
            m = entry.get(mode)
            if m:
                lines.append(_size_row(label, mode, m, entry.get("peer")))
    return lines


def _size_row(label: str, mode: str, m: dict, peer: dict | None) -> str:
    t = m.get("extra", {}).get("timings", {})
    fit = t.get("fit_seconds", t.get("fit"))
    illus = t.get("illustrate_seconds")
    staged = (t.get("evaluate_seconds") or 0) + (illus or 0)
    other = m["wall_s"] - staged if t.get("evaluate_seconds") is not None else None
    wall = ("TIMEOUT>" if m["timed_out"] else "") + f"{m['wall_s']:.1f}"
    if not m["ok"] and not m["timed_out"]:
        wall = f"FAIL({m['returncode']})"
    return (
        f"{label:<6} {mode:<8} {wall:>8} {m['cpu_s']:>8.1f} {m['max_rss_mb']:>7.0f} "
        f"{m['tree_rss_mb']:>8.0f} {m.get('tree_pss_mb', 0):>7.0f} "
        f"{_ratio(m, peer) if mode != 'peer' else '':>7} "
        f"{_ratio(m, peer, 'cpu_s') if mode != 'peer' else '':>6} "
        f"{_fmt(fit):>7} {_fmt(illus):>7} {_fmt(other):>7} "
        f"{_fmt(m['extra'].get('html_mb'), '.2f'):>8} {_fmt(m['extra'].get('pdf_mb'), '.2f'):>7} "
        f"{m['load_before']:>5.1f}"
    )


def extras_table(results: dict) -> list[str]:
    extras = results.get("extras", {})
    lines = []
    if "help" in extras:
        lines.append(f"imbreport --help: median {extras['help']['median_s']:.2f} s of 5")
    if "article" in extras:
        m = extras["article"]["cv"]
        lines.append(
            f"article dataset (1,000 rows) HTML+PDF+JSON: {m['wall_s']:.1f} s wall, "
            f"{m['cpu_s']:.1f} s CPU, {m.get('tree_pss_mb', 0):.0f} MB tree PSS, exit {m['returncode']}"
        )
    for label in WIDE:
        if label in extras:
            entry = extras[label]
            for mode in ("peer", "cv"):
                m = entry.get(mode)
                if m:
                    lines.append(
                        f"{label} ({entry['rows']:,} rows × {entry['features']} cols) "
                        + _size_row("", mode, m, entry.get("peer")).strip()
                    )
    return lines


def goals_table(results: dict) -> list[str]:
    sizes, extras = results.get("sizes", {}), results.get("extras", {})
    checks = []
    s10k, s200, s1m = sizes.get("10k", {}), sizes.get("200k", {}), sizes.get("1m", {})
    if s10k.get("cv") and s10k.get("peer"):
        r = s10k["cv"]["wall_s"] / s10k["peer"]["wall_s"]
        checks.append(
            (
                f"cv 10k ≤ {GOALS['cv_10k_vs_peer']}× peer",
                f"{r:.2f}×",
                s10k["cv"]["ok"] and r <= GOALS["cv_10k_vs_peer"],
            )
        )
    if s200.get("holdout") and s200.get("peer"):
        h = s200["holdout"]
        r = h["wall_s"] / s200["peer"]["wall_s"]
        value = f"{r:.2f}×" if h["ok"] else f"failed (exit {h['returncode']})"
        checks.append(
            (
                f"holdout 200k ≤ {GOALS['holdout_200k_vs_peer']}× peer",
                value,
                h["ok"] and r <= GOALS["holdout_200k_vs_peer"],
            )
        )
    if s1m.get("cv") and s1m.get("peer"):
        cv, peer = s1m["cv"], s1m["peer"]
        r = cv["wall_s"] / peer["wall_s"]
        checks.append(
            (
                f"cv 1M ≤ {GOALS['cv_1m_vs_peer']}× peer",
                f"{r:.2f}×{' (timed out)' if cv['timed_out'] else ''}",
                r <= GOALS["cv_1m_vs_peer"] and cv["ok"],
            )
        )
        checks.append(
            (
                f"cv 1M tree PSS < {GOALS['cv_1m_rss_mb'] / 1024:g} GB",
                f"{cv.get('tree_pss_mb', 0) or 0:.0f} MB (RSS sum {cv['tree_rss_mb']:.0f} MB)",
                0 < cv.get("tree_pss_mb", 0) < GOALS["cv_1m_rss_mb"],
            )
        )
        for kind, goal in (("html", "html_1m_mb"), ("pdf", "pdf_1m_mb")):
            size = cv["extra"].get(f"{kind}_mb")
            if size is not None:
                checks.append(
                    (f"{kind.upper()} 1M < {GOALS[goal]} MB", f"{size:.2f} MB", size < GOALS[goal])
                )
    if "article" in extras:
        m = extras["article"]["cv"]
        ok = m["ok"] and m["wall_s"] < GOALS["article_s"]
        checks.append(
            (f"article end to end ≤ {GOALS['article_s']:g} s", f"{m['wall_s']:.1f} s", ok)
        )
    if "help" in extras:
        w = extras["help"]["median_s"]
        checks.append((f"--help ≤ {GOALS['help_s']} s", f"{w:.2f} s", w < GOALS["help_s"]))
    for label in WIDE:
        if label in extras and extras[label].get("cv"):
            m = extras[label]["cv"]
            checks.append((f"{label} finishes", f"{m['wall_s']:.1f} s", m["ok"]))
    return [f"{'PASS' if ok else 'MISS'}  {name:<28} {value}" for name, value, ok in checks]


def stamps_table(results: dict) -> list[str]:
    entries = {**results.get("sizes", {}), **results.get("extras", {})}
    lines = []
    for label, entry in entries.items():
        env = entry.get("environment", {})
        omp = env.get("OMP_WAIT_POLICY", "default")
        lines.append(
            f"{label}: measured {entry.get('measured', '?')} on imbreport "
            f"{entry.get('revision', '?')}, OMP_WAIT_POLICY={omp}"
        )
    return lines


def print_tables(results: dict) -> None:
    print("\n".join(size_table(results)))
    print()
    print("\n".join(extras_table(results)))
    print()
    print("Goals (issue #8):")
    print("\n".join(goals_table(results)))
    print()
    print("\n".join(stamps_table(results)))
    print(
        "\nwall/CPU in seconds; RSS MB = largest single process, tree MB = sampled peak of the "
        "RSS summed over the process tree (shared pages counted in every process); PSS MB = the "
        "same with proportional set size (shared pages split: the figure to hold against a memory "
        "budget); ÷ peer = wall / peer wall in the same run (CPU ÷: the same for CPU time, "
        "steadier on a shared machine); fit/illus from imbreport's "
        "JSON timings; other = wall − evaluate − illustrate (imports, loading, figures, render, "
        "PDF); load = 1-min load average before the run."
    )


# --- entry point --------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Run the imbreport benchmark suite.")
    parser.add_argument("--sizes", default="10k,200k,1m", help="comma-separated: 10k,200k,1m")
    parser.add_argument("--skip-1m", action="store_true", help="drop 1m from --sizes")
    parser.add_argument("--modes", default="peer,holdout,cv", help="subset of peer,holdout,cv")
    parser.add_argument(
        "--extras", default=",".join(EXTRAS), help=f"subset of {','.join(EXTRAS)}, or none"
    )
    parser.add_argument("--no-extras", action="store_true", help="same as --extras none")
    parser.add_argument("--only-extras", action="store_true", help="run no size, only extras")
    parser.add_argument(
        "--omp-default",
        action="store_true",
        help="leave OMP_WAIT_POLICY as it is (default: PASSIVE, see ENVIRONMENT)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    parser.add_argument("--results", default=os.path.join(OUT, "results.json"))
    parser.add_argument("--table", action="store_true", help="print saved results and exit")
    return parser.parse_args(argv)


def compile_imbreport() -> None:
    """Byte-compile imbreport's modules, as ``pip install`` does: an editable checkout run with
    ``PYTHONDONTWRITEBYTECODE`` set would otherwise compile every module in every process
    (about 0.2 s a process), which no installed copy pays."""
    import compileall

    import imbreport

    compileall.compile_dir(os.path.dirname(imbreport.__file__), quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = load_results(args.results)
    if args.table:
        print_tables(results)
        return 0
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    if args.skip_1m:
        sizes = [s for s in sizes if s != "1m"]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"Unknown size(s) {unknown}; choose from {list(SIZES)}.")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.omp_default:
        ENVIRONMENT.pop("OMP_WAIT_POLICY")
    os.makedirs(OUT, exist_ok=True)
    compile_imbreport()
    if not args.only_extras:
        for label in sizes:
            sizes_done = results.setdefault("sizes", {})
            sizes_done[label] = run_size(label, modes, args.timeout, sizes_done.get(label))
            save_results(args.results, results)
    chosen = [] if args.no_extras else [e.strip() for e in args.extras.split(",") if e.strip()]
    extras = results.setdefault("extras", {})
    for label in [e for e in EXTRAS if e in chosen]:
        if label == "help":
            extras[label] = run_help()
        elif label == "article":
            extras[label] = run_article(args.timeout)
        else:
            extras[label] = run_wide(label, args.timeout)
        save_results(args.results, results)
    print_tables(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
