"""When each stage of one ``imbreport analyze`` run starts and ends, in wall-clock seconds.

Where ``profile.py`` adds up CPU time in one process, this shows the run as it happens, with
its processes at work: the imports, loading, the evaluation (fits shared with a fork), the
judgement and the deployed fit, the illustration, and the HTML and PDF made by the render
process (``imbreport/render_process.py``), or here with ``--no-render-process``.

    python benchmarks/timeline.py imbreport/datasets/article_dataset.csv --target label \\
        -o /tmp/a.html -o /tmp/a.pdf -o /tmp/a.json
    python benchmarks/timeline.py --runs 3 benchmarks/out/fraud_10k.csv -o /tmp/b.html -o /tmp/b.pdf

Each run is a fresh process; with ``--runs N`` the lines of each run are printed in turn.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = r"""
import sys, time
started = time.perf_counter()
def mark(text):
    print(f"{time.perf_counter() - started:7.2f}  {text}", file=sys.stderr, flush=True)
import imbreport.cli as cli
import imbreport.render_process as rp
if sys.argv[1] == "off":
    cli.RENDER_PROCESS_MAX_INPUT_BYTES = -1
def timed(owner, name, label):
    function = getattr(owner, name)
    def wrapper(*args, **kwargs):
        mark(f"{label} starts")
        try:
            return function(*args, **kwargs)
        finally:
            mark(f"{label} ends")
    setattr(owner, name, wrapper)
timed(rp.RenderProcess, "html", "HTML (render process)")
timed(rp.RenderProcess, "pdf", "PDF (render process)")
def instrument():
    # imported here, after the render process was forked (as ``analyze`` imports them): a
    # fork after these imports would warm up while the fits run, and time a different run
    import imbreport.api, imbreport.data as data, imbreport.evaluate as evaluate
    import imbreport.illustrate as illustrate, imbreport.pdf as pdf, imbreport.plots as plots
    mark("imports done")
    timed(data, "load_dataset", "load")
    timed(evaluate, "evaluate", "evaluate (fit + measure)")
    timed(evaluate, "deploy", "deployed fit")
    timed(illustrate, "illustrate", "illustrate")
    timed(plots, "all_figures", "figures (here)")
    timed(pdf, "layout_pdf", "PDF (here)")
start_render_process = cli._render_process
def render_process(*args, **kwargs):
    process = start_render_process(*args, **kwargs)
    instrument()
    return process
cli._render_process = render_process
sys.argv = ["imbreport", "analyze", "-q", *sys.argv[2:]]
try:
    cli.main()
except SystemExit:
    pass
mark("done")
"""


def main(argv: list[str]) -> int:
    runs, render_process = 1, "on"
    while argv and argv[0] in ("--runs", "--no-render-process"):
        if argv[0] == "--runs":
            runs, argv = int(argv[1]), argv[2:]
        else:
            render_process, argv = "off", argv[1:]
    environment = dict(os.environ, MPLBACKEND="Agg", OMP_WAIT_POLICY="PASSIVE")
    for run in range(runs):
        print(f"run {run + 1} of {runs}", file=sys.stderr, flush=True)
        subprocess.run(
            [sys.executable, "-c", CHILD, render_process, *argv], env=environment, check=False
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
