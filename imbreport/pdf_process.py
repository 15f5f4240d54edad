"""The PDF laid out by a process of its own, started when the run starts.

WeasyPrint costs about a second before it lays out the first page (its import, then finding and
loading the fonts). A small file's whole report takes a few seconds, and during its first second
or two this process only imports pandas and scikit-learn on one of the two cores. ``start`` forks
a copy of this process at that moment, before anything large is imported or read; the copy
imports WeasyPrint, lays out a line of text, and waits. When the HTML is ready, ``render`` hands
it over and gets the PDF's bytes back: the same ``pdf.layout_pdf`` call, so the same bytes.

The copy is only a head start. If it cannot be started, dies, or fails to lay out the report,
``render`` returns ``None`` and the caller lays the PDF out itself (and then meets the error, if
there is one, where it always did). The copy reads nothing but what it is sent, writes nothing
but its answers (its stdin, stdout and stderr are ``/dev/null``), stops on Ctrl-C or a closed
terminal like any process of the run, and is killed by ``close``.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import threading

_LENGTH = struct.Struct("<Q")


class PdfProcess:
    """A forked process that lays out PDFs on request (see the module's docstring)."""

    def __init__(self, pid: int, requests: int, answers: int):
        self.pid = pid
        self._requests = requests  # our end of the pipe to the process
        self._answers = answers  # our end of the pipe from it
        self._alive = True

    @classmethod
    def start(cls) -> PdfProcess | None:
        """Fork the process now; ``None`` where fork is unavailable or another thread runs (a
        fork would copy that thread's locks, held, but not the thread)."""
        if not hasattr(os, "fork") or threading.active_count() != 1:
            return None
        to_child, requests = os.pipe()
        answers, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(requests)
            os.close(answers)
            _serve(to_child, from_child)  # never returns
        os.close(to_child)
        os.close(from_child)
        return cls(pid, requests, answers)

    def render(self, html: str, labels: dict[str, str], paper: str) -> bytes | None:
        """The PDF of ``html`` laid out by the process, or ``None`` if it could not."""
        if not self._alive:
            return None
        try:
            _send(self._requests, (html, labels, paper))
            answer = _receive(self._answers)
        except (OSError, EOFError, pickle.UnpicklingError):
            answer = None
        if not isinstance(answer, bytes):
            self.close()  # failed or gone: the caller lays out this PDF and any other itself
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

    def __enter__(self) -> PdfProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _serve(requests: int, answers: int) -> None:
    """The forked process: import and warm up WeasyPrint, then answer each request with the PDF's
    bytes (or ``None`` when the layout fails) until the pipe closes; exit without running the
    parent's exit handlers."""
    status = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)  # stop at once and quietly, like a tool's child
        devnull = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(devnull, descriptor)  # hold none of the caller's terminal or pipes
        from imbreport.pdf import layout_pdf, warm_up

        warm_up()
        while True:
            try:
                html, labels, paper = _receive(requests)
            except EOFError:
                break
            try:
                pdf = layout_pdf(html, labels, paper)
            except Exception:
                pdf = None
            _send(answers, pdf)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


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
            raise EOFError("the PDF process closed its pipe")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
