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
import select
import signal
import struct
import threading
import time
import weakref

from imbreport.workers import die_with_parent

_LENGTH = struct.Struct("<Q")

#: How long the run waits for an answer before it stops the process and does the work itself
#: (a process stopped or stuck; a report's HTML or PDF takes seconds).
ANSWER_TIMEOUT_SECONDS = 300.0

#: The processes started here and still open, so that any other fork of this process closes its
#: copies of their pipes (else a fork outliving the run would keep a process waiting for work).
_OPEN: weakref.WeakSet = weakref.WeakSet()


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
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _serve(to_child, from_child, pdf, parent)  # never returns
        os.close(to_child)
        os.close(from_child)
        os.set_blocking(requests, False)  # written with a deadline (``_write_all``)
        process = cls(pid, requests, answers)
        _OPEN.add(process)
        return process

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
        deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
        try:
            _send(self._requests, request, deadline)
            answer = _receive(self._answers, deadline)
        except Exception:  # gone, stuck, or something in the report that does not pickle
            answer = None
        if not isinstance(answer, kind):
            self.close()  # failed or gone: the caller does this work and the rest itself
            return None
        return answer

    def close(self) -> None:
        """Stop the process (it holds nothing worth finishing; a fork it made for the figures
        dies with it) and reap it."""
        if not self._alive:
            return
        self._close_pipes()
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass

    def _close_pipes(self) -> None:
        self._alive = False
        _OPEN.discard(self)
        for descriptor in (self._requests, self._answers):
            try:
                os.close(descriptor)
            except OSError:
                pass


def _close_copies_in_fork() -> None:
    """In a new fork of this process: close its copies of every open render process's pipes."""
    for process in list(_OPEN):
        process._close_pipes()


os.register_at_fork(after_in_child=_close_copies_in_fork)


def _serve(requests: int, answers: int, pdf: bool, parent: int) -> None:
    """The forked process: import and warm up, then answer each request (``None`` when it fails)
    until the pipe closes; exit without running the parent's exit handlers."""
    status = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)  # stop at once and quietly, like a tool's child
        die_with_parent(parent)
        devnull = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(devnull, descriptor)  # hold none of the caller's terminal or pipes ...
        keep = sorted({requests, answers})  # ... nor any other file it had open
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, _open_max())
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


def _open_max() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 20)
    except (ValueError, OSError):
        return 1024


def _send(descriptor: int, value, deadline: float | None = None) -> None:
    payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    _write_all(descriptor, _LENGTH.pack(len(payload)) + payload, deadline)


def _receive(descriptor: int, deadline: float | None = None):
    (length,) = _LENGTH.unpack(_read_exactly(descriptor, _LENGTH.size, deadline))
    return pickle.loads(_read_exactly(descriptor, length, deadline))


def _write_all(descriptor: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        _wait(descriptor, select.POLLOUT, deadline)
        try:
            view = view[os.write(descriptor, view) :]
        except BlockingIOError:  # the pipe filled up meanwhile (a non-blocking descriptor)
            continue


def _read_exactly(descriptor: int, size: int, deadline: float | None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        _wait(descriptor, select.POLLIN, deadline)
        chunk = os.read(descriptor, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the render process closed its pipe")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _wait(descriptor: int, event: int, deadline: float | None) -> None:
    """Until ``descriptor`` is ready for ``event`` (or has hung up); ``TimeoutError`` past the
    ``deadline`` (``time.monotonic``; ``None``: no deadline)."""
    if deadline is None:
        return
    poller = select.poll()
    poller.register(descriptor, event)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the render process did not answer in time")
        if poller.poll(max(1, int(remaining * 1000))):
            return
