"""``workers.forked_map`` (issue #17): small data's fits and the figures shared with a forked copy
of the process — the same results in the same order, whatever happens to the child."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from imbreport.workers import forked_map

FRESH_PROCESS = """
import os, time
from imbreport.workers import forked_map

def slow_square(x):
    time.sleep(0.05)
    return x * x, os.getpid()

results = forked_map(slow_square, list(range(9)))
assert [value for value, _ in results] == [x * x for x in range(9)], results
pids = [pid for _, pid in results]
assert os.getpid() in pids and len(set(pids) - {os.getpid()}) == 1, pids

# one long item first: while this process works on it, the copy takes all the short ones
def uneven(x):
    time.sleep(1.0 if x == 0 else 0.02)
    return os.getpid()

pids = forked_map(uneven, list(range(8)))
assert pids[0] == os.getpid() and set(pids[1:]) == {pids[1]} != {os.getpid()}, pids
print("ok")
"""


def test_results_come_back_in_order_and_the_processes_share_the_work_as_it_comes():
    # a fresh process: in the test session other tests' threads may be alive (no fork then)
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_failing_child_is_replaced_by_the_parent():
    parent = os.getpid()

    def only_here(x):
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return x + 1

    assert forked_map(only_here, [1, 2, 3, 4]) == [2, 3, 4, 5]


def test_an_unpicklable_result_falls_back_to_the_parent():
    results = forked_map(lambda x: lambda: x, [1, 2, 3])
    assert [make() for make in results] == [1, 2, 3]


def test_no_fork_while_another_thread_runs():
    parent = os.getpid()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        pids = {pid for pid in forked_map(lambda _: os.getpid(), range(6))}
    finally:
        stop.set()
        other.join()
    assert pids == {parent}


def test_one_process_is_the_serial_loop():
    assert forked_map(lambda x: os.getpid(), range(4), processes=1) == [os.getpid()] * 4


def test_an_error_in_the_parent_kills_the_child_and_leaves_no_zombie():
    parent = os.getpid()

    def slow_child_failing_parent(x):
        if os.getpid() == parent:
            raise KeyboardInterrupt
        import time

        time.sleep(30)
        return x

    before = _children()
    with pytest.raises(KeyboardInterrupt):
        forked_map(slow_child_failing_parent, [1, 2])
    assert _children() == before


def _children() -> set[int]:
    try:
        text = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read()
    except OSError:
        return set()
    return {int(pid) for pid in text.split()}


def test_more_items_than_tickets_are_shared_in_batches():
    """Beyond ``MAX_TICKETS`` items, each ticket stands for a batch: every item once, in order."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, time\n"
            "from imbreport.workers import MAX_TICKETS, forked_map\n"
            "n = 2 * MAX_TICKETS + 7\n"
            "results = forked_map(lambda x: (time.sleep(0.0005), x, os.getpid())[1:], range(n))\n"
            "assert [x for x, _ in results] == list(range(n))\n"
            "assert len({pid for _, pid in results}) == 2\n"
            "print('ok')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "ok", done.stderr
