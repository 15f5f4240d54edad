"""The HTML report and its PDF made by a process of their own, started when the run starts.

Before the first figure is drawn, matplotlib costs half a second to import and WeasyPrint about a
second (its import, then finding and loading the fonts). A small file's whole report takes a few
seconds, and during its first second or two this process only imports pandas and scikit-learn
on one of the two cores. ``start`` forks a copy of this process at that moment, before anything
large is imported or read; the copy imports what drawing and layout need, draws a figure and
lays out a line of text, and waits. When the evaluation is done, ``html`` hands it the report
(without the fitted model, which the report's pages do not show) and gets the HTML back, drawn
by the same ``render.Renderer`` code (figures shared with a fork of the copy, as they are
otherwise shared with a fork of this process); ``pdf`` does the same for the PDF's layout with
``pdf.layout_pdf``. Same code, same bytes.

The copy is only a head start. If it cannot be started, dies, or fails, ``html`` and ``pdf``
return ``None`` and the caller does the work itself (and then meets the error, if there is one,
where it always did). The copy reads nothing but what it is sent, writes nothing but its answers
(its stdin, stdout and stderr are ``/dev/null``), stops on Ctrl-C or a closed terminal like any
process of the run, and is killed by ``close``.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import threading

_LENGTH = struct.Struct("<Q")

#: The process's niceness: its warm-up outlasts this process's imports, and must not slow the
#: fits down (which use both cores); later, while it draws and lays out, this process waits.
NICENESS = 10


class RenderProcess:
    """A forked process that draws reports and lays out PDFs on request (see the module's
    docstring)."""

    def __init__(self, pid: int, requests: int, answers: int):
        self.pid = pid
        self._requests = requests  # our end of the pipe to the process
        self._answers = answers  # our end of the pipe from it
        self._alive = True

    @classmethod
    def start(cls, pdf: bool = True) -> RenderProcess | None:
        """Fork the process now (warming up WeasyPrint too if ``pdf``); ``None`` where fork is
        unavailable or another thread runs (a fork would copy that thread's locks, held, but
        not the thread)."""
        if not hasattr(os, "fork") or threading.active_count() != 1:
            return None
        to_child, requests = os.pipe()
        answers, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(requests)
            os.close(answers)
            _serve(to_child, from_child, pdf)  # never returns
        os.close(to_child)
        os.close(from_child)
        return cls(pid, requests, answers)

    def html(self, report) -> str | None:
        """The report's HTML (``render.Renderer.html``) made by the process, or ``None``."""
        from dataclasses import replace

        return self._ask(("html", replace(report, model=None)), str)

    def pdf(self, html: str, labels: dict[str, str], paper: str) -> bytes | None:
        """The PDF of ``html`` laid out by the process (``pdf.layout_pdf``), or ``None``."""
        return self._ask(("pdf", html, labels, paper), bytes)

    def _ask(self, request: tuple, kind: type):
        if not self._alive:
            return None
        try:
            _send(self._requests, request)
            answer = _receive(self._answers)
        except Exception:  # gone, or something in the report that does not pickle
            answer = None
        if not isinstance(answer, kind):
            self.close()  # failed or gone: the caller does this work and the rest itself
            return None
        return answer

    def close(self) -> None:
        """Stop the process (it holds nothing worth finishing) and reap it."""
        if not self._alive:
            return
        self._alive = False
        for descriptor in (self._requests, self._answers):
            try:
                os.close(descriptor)
            except OSError:
                pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass

    def __enter__(self) -> RenderProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _serve(requests: int, answers: int, pdf: bool) -> None:
    """The forked process: import and warm up, then answer each request (``None`` when it fails)
    until the pipe closes; exit without running the parent's exit handlers."""
    status = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)  # stop at once and quietly, like a tool's child
        os.nice(NICENESS)  # the run's own work first; the warm-up takes what is left
        devnull = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(devnull, descriptor)  # hold none of the caller's terminal or pipes
        _warm_up(pdf)
        while True:
            try:
                request = _receive(requests)
            except EOFError:
                break
            try:
                answer = _answer(*request)
            except Exception:
                answer = None
            _send(answers, answer)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _warm_up(pdf: bool) -> None:
    """What the first report would otherwise pay for: imports, a figure, a line of layout."""
    import pandas  # noqa: F401  (unpickling a report needs it)

    from imbreport import plots, render  # noqa: F401

    plots.warm_up()
    if pdf:
        from imbreport.pdf import warm_up

        warm_up()


def _answer(kind: str, *arguments):
    if kind == "html":
        from imbreport.render import Renderer

        (report,) = arguments
        return Renderer(report).html()
    if kind == "pdf":
        from imbreport.pdf import layout_pdf

        return layout_pdf(*arguments)
    raise ValueError(f"unknown request {kind!r}")


def _send(descriptor: int, value) -> None:
    payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    _write_all(descriptor, _LENGTH.pack(len(payload)) + payload)


def _receive(descriptor: int):
    (length,) = _LENGTH.unpack(_read_exactly(descriptor, _LENGTH.size))
    return pickle.loads(_read_exactly(descriptor, length))


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _read_exactly(descriptor: int, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(descriptor, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the render process closed its pipe")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
