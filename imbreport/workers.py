"""The worker processes that fit the strategies on large data: started early, released early.

Starting joblib's worker processes costs a second or two each (they import scikit-learn,
imbalanced-learn and XGBoost). ``start`` begins that in a background thread, as soon as it is
clear the data is large enough for them, so it overlaps with preparing the splits and the model
matrix; joblib then reuses the processes for the fits. ``release`` lets them exit while the
report renders. (Starting them before reading a large CSV gained nothing measurable on two
cores: the imports then slow the reading down as much.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def count(n_jobs: int) -> int:
    """The number of worker processes for the ``n_jobs`` option (-1 or 0: one per core)."""
    cores = os.cpu_count() or 1
    return cores if n_jobs in (-1, 0) else max(1, min(n_jobs, cores * 4))


def start(n_jobs: int) -> threading.Thread:
    """Start ``n_jobs`` worker processes in a background thread; join it before the fits.

    The thread starts with Ctrl-C and SIGHUP blocked (a thread inherits its creator's signal
    mask, and the processes it spawns inherit the thread's, across ``exec`` too), so the workers
    never receive them: a Ctrl-C or a closed terminal, which signal the whole process group,
    reach only the main process, which stops the workers itself (``stop``) instead of each
    worker printing its own traceback. The main thread blocks them only for the instant it
    takes to start the thread; one arriving then waits, and is handled as soon as that is done.
    """

    def run() -> None:
        from joblib import Parallel, delayed

        try:
            _start_resource_trackers()  # they unblock Ctrl-C in the thread that starts them
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGHUP})
            Parallel(n_jobs=n_jobs)(delayed(ready)() for _ in range(n_jobs))
        except BaseException:  # only a head start: the fits start (and report on) the pool anyway
            pass

    thread = threading.Thread(target=run, daemon=True)
    # started blocked, not blocked from within: the resource trackers it starts first ignore
    # Ctrl-C themselves but not SIGHUP, and die of a hang-up unless they inherit it blocked
    with _blocked(signal.SIGINT, signal.SIGHUP):
        thread.start()
    return thread


def _start_resource_trackers() -> None:
    """Start the processes that clean up after the workers (multiprocessing's and loky's), which
    the pool would otherwise start on first use, from the thread that starts it: starting one
    unblocks Ctrl-C in the calling thread (``multiprocessing.resource_tracker.ensure_running``)."""
    from multiprocessing import resource_tracker

    from joblib.externals.loky.backend import resource_tracker as loky_tracker

    resource_tracker.ensure_running()
    loky_tracker.ensure_running()


@contextlib.contextmanager
def _blocked(*signums: int):
    """Block ``signums`` in this thread (and in the threads it starts) until the block ends;
    a signal that arrives meanwhile is delivered then, not lost."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ready() -> int:
    """Run in each worker: import what the fits need."""
    import xgboost  # noqa: F401  (otherwise imported by the first XGBoost fit)

    import imbreport.fitting  # noqa: F401

    return os.getpid()


def stop() -> None:
    """Kill joblib's worker processes now (Ctrl-C, SIGTERM, SIGHUP): none is left behind holding
    the caller's pipes and memory."""
    try:
        executor = _pool()
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)
    except Exception:  # stopping anyway
        pass


def release() -> None:
    """Let joblib's worker processes exit now, in the background (the interpreter would otherwise
    wait for them at exit). A later analysis in the same process starts new ones."""
    try:
        executor = _pool()
        if executor is not None:
            executor.shutdown(wait=False)
    except Exception:  # an optimisation only
        pass


def _pool():
    """joblib's reusable pool of worker processes, or ``None`` when none was started."""
    from joblib.externals.loky import reusable_executor

    return getattr(reusable_executor, "_executor", None)


def can_fork() -> bool:
    """Whether ``forked_map`` would share its work now: fork exists, and no other thread runs."""
    return hasattr(os, "fork") and threading.active_count() == 1


def forked_map(function: Callable[[T], R], items: Sequence[T], processes: int = 2) -> list[R]:
    """``[function(item) for item in items]``, shared with one forked copy of this process.

    For work too small to pay for starting joblib's workers (each imports the libraries anew):
    a fork starts in milliseconds with everything already imported and every input already in
    memory. The two processes take the items one at a time, each the next one not yet taken
    (their positions wait in a pipe that both read), so neither sits idle while the other
    still has a long queue; with the items heaviest first, they finish close together. The
    child sends its results back through a pipe; the results come back in the order of
    ``items``, exactly as the serial loop gives them. If the child fails in any way its items
    are computed here, so the outcome never depends on the fork. Serial where fork is
    unavailable, with one item, or with ``processes`` 1.

    Fork only before any OpenMP work in this process (XGBoost's threads do not survive a fork)
    and with no other thread running: the callers fork before their first fit or figure.
    """
    items = list(items)
    # (another thread could hold a lock the child needs: then no fork)
    if processes < 2 or len(items) < 2 or not can_fork():
        return [function(item) for item in items]
    block = -(-len(items) // MAX_TICKETS)  # items per ticket: at most MAX_TICKETS tickets
    batches = [
        range(start, min(start + block, len(items))) for start in range(0, len(items), block)
    ]
    tickets = _tickets(len(batches))
    child, reader = _fork_child(function, items, batches, tickets)
    results: dict[int, R] = {}
    try:
        for batch in _taken(tickets):
            for index in batches[batch]:
                results[index] = function(items[index])
        received = _receive(child, reader)
    except BaseException:
        _kill(child)
        raise
    finally:
        os.close(reader)
        os.close(tickets)
    if isinstance(received, dict):
        for index, value in received.items():
            results.setdefault(index, value)
    for index in range(len(items)):  # the child failed: compute its share here
        if index not in results:
            results[index] = function(items[index])
    return [results[index] for index in range(len(items))]


#: Batches of items travel as 2-byte tickets, all written at once into a pipe before anything
#: reads it: 2,048 tickets fill 4 KiB, the smallest pipe buffer Linux gives (one page, when a
#: user holds too many pipes).
MAX_TICKETS = 2_048
_TICKET = struct.Struct("<H")


def _tickets(count: int) -> int:
    """The read end of a pipe holding the positions 0 … ``count`` − 1, its write end closed."""
    reader, writer = os.pipe()
    try:
        os.write(writer, b"".join(_TICKET.pack(index) for index in range(count)))
    finally:
        os.close(writer)
    return reader


def _taken(tickets: int):
    """The positions this process takes, one at a time, until none is left (a read of a pipe
    is atomic: no position is taken twice)."""
    while len(ticket := os.read(tickets, _TICKET.size)) == _TICKET.size:
        yield _TICKET.unpack(ticket)[0]


def _fork_child(function, items, batches, tickets: int) -> tuple[int, int]:
    import pickle

    reader, writer = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running the parent's exit handlers
        status = 1
        try:
            os.close(reader)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it quietly
            die_with_parent(parent)  # nobody left to use its work
            done = {
                index: function(items[index])
                for batch in _taken(tickets)
                for index in batches[batch]
            }
            payload = pickle.dumps(done, pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writer, "wb") as stream:
                stream.write(payload)
            status = 0
        except BaseException:
            pass
        finally:
            os._exit(status)
    os.close(writer)
    return pid, reader


def die_with_parent(parent: int) -> None:
    """In a forked child: be killed when ``parent`` exits (Linux ``PR_SET_PDEATHSIG``), and
    exit now if it already has. A child whose parent was killed (``kill -9``) has nobody to
    hand its work to, and must not hold the caller's pipes open."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pipes' end still stops it, later
        pass
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _receive(pid: int, reader: int) -> dict | None:
    """The child's results, or ``None`` if it failed."""
    import pickle

    chunks = []
    while chunk := os.read(reader, 1 << 20):
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not chunks:
        return None
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:
        return None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
