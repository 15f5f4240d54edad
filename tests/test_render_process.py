"""The render process (``imbreport/render_process.py``): the same HTML and PDF bytes as drawing and
laying out here, a fallback when it is gone or fails, nothing left running, Ctrl-C stops it.

Each check runs in a fresh interpreter: ``RenderProcess.start`` refuses to fork while another
thread runs, and earlier tests in this session may have left threads behind (Dask's)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("weasyprint")

ARTICLE_CSV = str(Path(__file__).resolve().parent.parent / "imbreport/datasets/article_dataset.csv")
SMALL_HTML = (
    "<html><head><title>t</title></head><body><h1>Report</h1><p>Some text.</p></body></html>"
)


def _run(script: str) -> dict:
    """Run ``script`` in a fresh interpreter; it prints one JSON object."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # neither process prints anything
    return json.loads(done.stdout)


def test_same_bytes_as_laying_out_here_and_the_process_is_reaped():
    result = _run(
        f"""
        import json, os
        from imbreport.pdf import layout_pdf
        from imbreport.render_process import RenderProcess
        labels = {{"title": "Class-imbalance report: x.csv", "generator": "imbreport test"}}
        process = RenderProcess.start()
        first = process.pdf({SMALL_HTML!r}, labels, "a4")
        second = process.pdf({SMALL_HTML!r}, labels, "letter")  # it serves more than one
        process.close()
        try:
            os.kill(process.pid, 0)
            gone = False
        except ProcessLookupError:
            gone = True
        print(json.dumps({{
            "a4": first == layout_pdf({SMALL_HTML!r}, labels, "a4"),
            "letter": second == layout_pdf({SMALL_HTML!r}, labels, "letter"),
            "differs": first != second,
            "gone": gone,
        }}))
        """
    )
    assert result == {"a4": True, "letter": True, "differs": True, "gone": True}


def test_a_dead_or_failing_process_gives_none_so_the_caller_lays_out_itself():
    result = _run(
        f"""
        import json, os, signal
        from imbreport.render_process import RenderProcess
        labels = {{"title": "t", "generator": "g"}}
        killed = RenderProcess.start()
        os.kill(killed.pid, signal.SIGKILL)
        after_kill = killed.pdf({SMALL_HTML!r}, labels, "a4")
        failing = RenderProcess.start()
        # a URL other than data: stops the layout (pdf.py's fetcher): the process answers None
        refused = failing.pdf('<img src="file:///etc/passwd">', labels, "a4")
        then = failing.pdf({SMALL_HTML!r}, labels, "a4")  # closed after a failure
        failing.close()
        import threading
        unpicklable = RenderProcess.start()
        not_sent = unpicklable.pdf({SMALL_HTML!r}, {{"title": threading.Lock()}}, "a4")
        unpicklable.close()
        print(json.dumps({{"after_kill": after_kill, "refused": refused, "then": then,
                          "not_sent": not_sent}}))
        """
    )
    assert result == {"after_kill": None, "refused": None, "then": None, "not_sent": None}


def test_renderer_gives_the_same_bytes_through_the_process_or_without_it():
    """A report's HTML and PDF made by the process equal those made here, and so do those of a
    process that died; an HTML the layout refuses gives the in-process error, not a silent empty
    PDF."""
    result = _run(
        f"""
        import json, os, signal
        from imbreport.api import analyze
        from imbreport.render_process import RenderProcess
        from imbreport.render import Renderer
        report = analyze({ARTICLE_CSV!r}, target="label",
                         strategies=("majority", "logreg"), progress=None)
        here = Renderer(report)
        process = RenderProcess.start()
        through = Renderer(report, process)
        same_html = through.html() == here.html()
        same_pdf = through.render("pdf") == here.render("pdf")
        process.close()
        dead = RenderProcess.start()
        os.kill(dead.pid, signal.SIGKILL)
        fallback = Renderer(report, dead)
        fallback_html = fallback.html() == here.html()
        fallback_pdf = fallback.render("pdf") == here.render("pdf")
        broken = Renderer(report, RenderProcess.start())
        broken._html = '<img src="file:///etc/passwd">'
        try:
            broken.render("pdf")
            error = None
        except RuntimeError as exc:
            error = str(exc)
        print(json.dumps({{"html": same_html, "pdf": same_pdf, "fallback_html": fallback_html,
                          "fallback_pdf": fallback_pdf, "error": error}}))
        """
    )
    assert result["html"] and result["pdf"]
    assert result["fallback_html"] and result["fallback_pdf"]
    assert result["error"] is not None and "refused file:///etc/passwd" in result["error"]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_ctrl_c_with_a_pdf_asked_for_stops_every_process_with_one_line(tmp_path):
    """Ctrl-C reaches the process group: the run and its render process both stop, one line on
    stderr, nothing left running, no file written."""
    import os
    import signal
    import time

    from test_hardening import session_left, start_as_from_a_terminal, wait_for_children

    child = start_as_from_a_terminal(
        [sys.executable, "-m", "imbreport", "analyze", ARTICLE_CSV, "-o", "r.pdf", "-o", "r.json"],
        tmp_path,
    )
    try:
        assert wait_for_children(child.pid, 60), "the render process never started"
        time.sleep(0.5)
        os.killpg(child.pid, signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    text = stderr.decode()
    assert child.returncode == 130, text
    assert "Traceback" not in text and text.strip().count("\n") == 0, text
    assert session_left(child.pid) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_stopped_process_is_given_up_on_and_the_work_done_here():
    """A process that never answers (stopped, stuck) costs the run its timeout, not the run."""
    result = _run(
        f"""
        import json, os, signal, time
        from imbreport import render_process
        from imbreport.pdf import layout_pdf
        render_process.ANSWER_TIMEOUT_SECONDS = 2.0
        process = render_process.RenderProcess.start()
        os.kill(process.pid, signal.SIGSTOP)
        labels = {{"title": "t", "generator": "g"}}
        started = time.monotonic()
        answer = process.pdf({SMALL_HTML!r} * 2000, labels, "a4")  # more than a pipe holds
        waited = time.monotonic() - started
        try:
            os.kill(process.pid, 0)
            gone = False
        except ProcessLookupError:
            gone = True
        print(json.dumps({{"answer": answer, "gave_up": 1.5 < waited < 30, "gone": gone}}))
        """
    )
    assert result == {"answer": None, "gave_up": True, "gone": True}


def test_the_process_and_a_fork_of_the_run_stop_when_the_run_is_killed():
    """``kill -9`` of the run: its render process and a fork sharing its work exit at once
    (they die with their parent) instead of working on for nobody."""
    import os
    import signal
    import time

    script = """
        import os, sys, time
        from imbreport.render_process import RenderProcess
        from imbreport.workers import forked_map
        process = RenderProcess.start()
        print(process.pid, flush=True)
        def slow(x):
            print(os.getpid(), flush=True)
            time.sleep(30)
        forked_map(slow, [1, 2])
        """
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True
    )
    try:
        pids = {int(child.stdout.readline()) for _ in range(3)}  # helper, then both workers
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        others = pids - {child.pid}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in others):
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in others), others
    finally:
        if child.poll() is None:
            child.kill()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
