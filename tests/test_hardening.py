"""Unattended runs (issue #14): private outputs, bounded input, all-or-nothing writes, exit 2 up
front, printable console lines, Markdown that notifies no one, signals that leave nothing behind.

Most tests stop before any fitting (the checks run first); a few run the real command on small
data, and the signal tests start ``imbreport`` as a separate process and look for leftover
processes (by session id) and ``/dev/shm`` entries after it exits.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from imbreport import files
from imbreport.cli import main
from imbreport.errors import EnvironmentFailure
from imbreport.render import WORD_JOINER, markdown_escape

ROOT = Path(__file__).resolve().parent.parent
FAST = ("--bootstrap", "100", "--n-jobs", "1", "--strategies", "logreg,balanced")
EARLIER = "an earlier report"


def small_csv(folder: Path, name: str = "data.csv", rows: int = 120, **columns) -> Path:
    rng = np.random.default_rng(0)
    y = (np.arange(rows) % 6 == 0).astype(int)
    frame = pd.DataFrame({"signal": rng.normal(size=rows) + 2 * y, "noise": rng.normal(size=rows)})
    for name_, values in columns.items():
        frame[name_] = values
    frame["label"] = y
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["analyze", *args], env=env)


def must_not_run(*args, **kwargs):
    raise AssertionError("the run started although the options could not be used")


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if loading or fitting starts: every check must come first."""
    monkeypatch.setattr("imbreport.data.load_dataset", must_not_run)
    monkeypatch.setattr("imbreport.evaluate.evaluate", must_not_run)


def assert_usage_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.stderr.count("Error:") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


# --- file modes ----------------------------------------------------------------------------


def test_new_outputs_respect_the_umask(tmp_path):
    previous = os.umask(0o077)
    try:
        files.write_all([(str(tmp_path / "a.json"), b"{}"), (str(tmp_path / "b.md"), b"x")])
    finally:
        os.umask(previous)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "b.md").stat().st_mode & 0o777 == 0o600
    previous = os.umask(0o022)
    try:
        files.write_atomic(str(tmp_path / "c.html"), b"<p>")
    finally:
        os.umask(previous)
    assert (tmp_path / "c.html").stat().st_mode & 0o777 == 0o644


def test_a_replaced_output_keeps_its_mode(tmp_path):
    private = tmp_path / "report.html"
    private.write_text(EARLIER)
    private.chmod(0o600)
    files.write_atomic(str(private), b"new")
    assert private.read_bytes() == b"new"
    assert private.stat().st_mode & 0o777 == 0o600


def test_the_command_writes_a_private_report_under_umask_077(tmp_path):
    data = small_csv(tmp_path)
    code = (
        "import os, sys; os.umask(0o077); from imbreport.cli import main; "
        "sys.argv = ['imbreport', 'analyze', *sys.argv[1:]]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(data), "-o", "r.json", "-q", *FAST],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o600


# --- all-or-nothing writes -----------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(files.TEMP_PREFIX))


def test_a_failure_on_the_last_output_leaves_every_earlier_output_as_it_was(tmp_path, monkeypatch):
    first, second, third = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "new.md"
    first.write_text(EARLIER)
    second.write_text(EARLIER)
    real_replace = os.replace
    moved = []

    def replace(source, target):
        if str(target) == str(third):
            raise OSError(errno.EPERM, "Operation not permitted", str(target))
        moved.append(target)
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    items = [(str(first), b"new"), (str(second), b"new"), (str(third), b"new")]
    with pytest.raises(EnvironmentFailure, match="not permitted"):
        files.write_all(items)
    assert len(moved) >= 2, "the first outputs were moved before the failure"
    assert first.read_text() == EARLIER and second.read_text() == EARLIER
    assert not third.exists()
    assert leftovers(tmp_path) == []


def test_a_full_disk_names_the_cause_and_changes_nothing(tmp_path, monkeypatch):
    (tmp_path / "r.json").write_text(EARLIER)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(EnvironmentFailure, match="disk is full"):
        files.write_all([(str(tmp_path / "r.json"), b"new"), (str(tmp_path / "r.md"), b"x")])
    assert (tmp_path / "r.json").read_text() == EARLIER
    assert not (tmp_path / "r.md").exists() and leftovers(tmp_path) == []


def test_a_full_disk_during_a_run_exits_4_with_the_cause(tmp_path, monkeypatch):
    data = small_csv(tmp_path)
    (tmp_path / "r.json").write_text(EARLIER)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    result = run(str(data), "-o", str(tmp_path / "r.json"), *FAST)
    assert result.exit_code == 4, result.output
    assert "disk is full" in result.stderr and "internal error" not in result.stderr
    assert (tmp_path / "r.json").read_text() == EARLIER


def test_a_name_too_long_is_refused_before_the_run(tmp_path, no_work):
    data = small_csv(tmp_path)
    result = run(str(data), "-o", str(tmp_path / ("r" * 250 + ".html")), "-o", "ok.json")
    assert_usage_error(result, "too long")


# --- an output that is the input ----------------------------------------------------------


@pytest.mark.parametrize("how", ["same name", "relative name", "hard link", "symlink"])
def test_an_output_that_is_the_input_is_refused(tmp_path, monkeypatch, no_work, how):
    data = small_csv(tmp_path, name="data.json")
    before = data.read_bytes()
    monkeypatch.chdir(tmp_path)
    target = {"same name": str(data), "relative name": "./data.json"}.get(how)
    if how == "hard link":
        os.link(data, tmp_path / "linked.json")
        target = "linked.json"
    if how == "symlink":
        os.symlink(data, tmp_path / "pointer.json")
        target = "pointer.json"
    result = run(str(data), "-o", "r.html", "-o", target)
    assert_usage_error(result, "is the input file")
    assert data.read_bytes() == before and not (tmp_path / "r.html").exists()


def test_an_output_that_is_the_previous_report_is_refused(tmp_path, monkeypatch, no_work):
    data = small_csv(tmp_path)
    previous = ROOT / "sample_reports" / "article.json"
    copy = tmp_path / "previous.json"
    copy.write_bytes(previous.read_bytes())
    result = run(str(data), "--compare", str(copy), "-o", str(copy))
    assert_usage_error(result, "is the input file")


# --- bounded input -------------------------------------------------------------------------


def test_a_decompression_bomb_stops_at_the_limit(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as stream:
        stream.write(b"a,b,label\n")
        block = b"1,2,0\n" * 100_000
        for _ in range(30):  # 18 MB of text in a file of a few hundred KB
            stream.write(block)
    assert bomb.stat().st_size < 1_000_000
    result = run(str(bomb), "--max-input-size", "5M", "-o", str(tmp_path / "r.json"))
    assert_usage_error(result, "decompressed", "larger than the input size limit of 5M")
    assert not (tmp_path / "r.json").exists()


def test_an_endless_device_stops_at_the_limit(tmp_path):
    result = run("/dev/zero", "--max-input-size", "2M", "-o", str(tmp_path / "r.json"))
    assert_usage_error(result, "larger than the input size limit of 2M")


def test_a_large_plain_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    data = small_csv(tmp_path)
    result = run(str(data), "--max-input-size", "1K", "-o", str(tmp_path / "r.json"))
    assert_usage_error(result, "larger than the input size limit of 1K", "--max-input-size")


def test_the_size_limit_lets_a_compressed_file_under_it_through(tmp_path):
    data = small_csv(tmp_path)
    packed = tmp_path / "data.csv.gz"
    packed.write_bytes(gzip.compress(data.read_bytes()))
    from imbreport.data import load_dataset
    from imbreport.options import AnalysisOptions

    limit = len(data.read_bytes())  # exactly the text's size: allowed
    dataset = load_dataset(str(packed), AnalysisOptions(max_input_size=limit))
    assert len(dataset.y) == 120


@pytest.mark.parametrize("value", ["lots", "-1", "0", "5X"])
def test_a_bad_size_is_a_usage_error(tmp_path, value, no_work):
    result = run(str(small_csv(tmp_path)), "--max-input-size", value)
    assert result.exit_code == 2 and "max-input-size" in result.stderr


# --- exit 2 up front: config files, previous reports, option ranges -----------------------


@pytest.mark.parametrize(
    "content",
    [
        b"seed = \xff\xfe\n",
        b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n",
        b"seed = {" + b"a = {" * 3000 + b"}" * 3001 + b"\n",
    ],
    ids=["not UTF-8", "arrays 5000 deep", "tables 3000 deep"],
)
def test_a_hostile_config_file_is_exit_2_with_one_line(tmp_path, content, no_work):
    config = tmp_path / "imbreport.toml"
    config.write_bytes(content)
    result = run(str(small_csv(tmp_path)), "--config", str(config))
    assert_usage_error(result, "imbreport.toml")


@pytest.mark.parametrize(
    "content",
    ["tool = 5\n", "[tool]\nimbreport = 3\n", "\xff", "[tool.imbreport]\nseed = 'x'\n"],
)
def test_a_broken_pyproject_nobody_asked_for_is_exit_2(tmp_path, monkeypatch, content, no_work):
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_bytes(content.encode("latin-1"))
    result = run(str(small_csv(tmp_path)))
    assert_usage_error(result, "pyproject.toml")


def previous_report(tmp_path: Path, change) -> Path:
    report = json.loads((ROOT / "sample_reports" / "article.json").read_text("utf-8"))
    change(report)
    path = tmp_path / "previous.json"
    text = json.dumps(report, allow_nan=True).replace('"__1e400__"', "1e400")  # parses as inf
    path.write_text(text, encoding="utf-8")
    return path


def _metric(report) -> dict:
    return report["strategies"][1]["metrics"]["pr_auc"]


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda r: _metric(r).update(value="0.8"), "is not of type"),
        (lambda r: _metric(r).update(ci=[0.5]), "too short"),
        (lambda r: _metric(r).update(value=float("nan")), "NaN"),
        (lambda r: _metric(r).update(ci=[float("-inf"), 1.0]), "Infinity"),
        (lambda r: r["dataset"].update(positives="fifty"), "positives"),
        (lambda r: _metric(r).update(value="__1e400__"), "not a finite number"),
        (lambda r: _metric(r).update(ci=[-1e200, 1e200]), "outside what the metric can be"),
        (lambda r: r["dataset"].update(positives=10**6), "positives is not between"),
        (lambda r: r["dataset"].update(sampling_rate=1e-320), "sampling_rate"),
    ],
    ids=[
        "string metric",
        "one-element interval",
        "NaN",
        "Infinity",
        "string count",
        "1e400",
        "huge interval",
        "more positives than rows",
        "tiny sampling rate",
    ],
)
def test_a_malformed_previous_report_is_refused_up_front(tmp_path, change, fragment, no_work):
    previous = previous_report(tmp_path, change)
    result = run(str(small_csv(tmp_path)), "--compare", str(previous))
    assert_usage_error(result, "previous report", fragment)


def test_a_deeply_nested_previous_report_is_refused_up_front(tmp_path, no_work):
    previous = tmp_path / "previous.json"
    previous.write_text("[" * 100_000 + "]" * 100_000)
    result = run(str(small_csv(tmp_path)), "--compare", str(previous))
    assert_usage_error(result, "previous report", "nested too deeply")


def test_the_sample_reports_pass_the_check_for_previous_reports():
    from imbreport.api import read_previous

    for path in (ROOT / "sample_reports").glob("*.json"):
        assert read_previous(path)["schema_version"]


@pytest.mark.parametrize(
    "option, value",
    [
        ("--seed", "-5"),
        ("--seed", str(2**40)),
        ("--cost-fp", "nan"),
        ("--cost-fp", "inf"),
        ("--cost-fn", "1e308"),
        ("--n-jobs", "-7"),
    ],
)
def test_out_of_range_numbers_are_refused_up_front(tmp_path, option, value, no_work):
    objective = ("--threshold-objective", "cost", "--cost-fp", "1", "--cost-fn", "5")
    result = run(str(small_csv(tmp_path)), *objective, option, value)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and option.lstrip("-").replace("-", "_") in (
        result.stderr.replace("-", "_")
    )


def test_the_api_refuses_non_finite_and_fractional_numbers():
    from imbreport.errors import ConfigError
    from imbreport.options import make_config

    for options in ({"cost_fp": float("inf")}, {"seed": 1.5}, {"folds": 3.0}, {"seed": -1}):
        with pytest.raises(ConfigError):
            make_config(**options)
    assert make_config(seed=np.int64(7)).analysis.seed == 7


def test_a_bad_source_date_epoch_is_exit_2_before_the_run(tmp_path):
    # a fresh process: numpy.f2py reads SOURCE_DATE_EPOCH when the engine is first imported
    done = subprocess.run(
        [sys.executable, "-m", "imbreport", "analyze", str(small_csv(tmp_path)), "-o", "r.json"],
        cwd=tmp_path,
        env={**os.environ, "SOURCE_DATE_EPOCH": "yesterday"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: SOURCE_DATE_EPOCH") and "Traceback" not in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_a_closed_stdout_for_json_is_refused_up_front(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "imbreport", "analyze", str(small_csv(tmp_path)), "-o", "-"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 2, done.stderr
    assert "stdout is closed" in done.stderr


def test_out_of_memory_suggests_a_sample(tmp_path, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr("imbreport.evaluate.evaluate", no_memory)
    result = run(str(small_csv(tmp_path)), "-o", str(tmp_path / "r.json"))
    assert result.exit_code == 4, result.output
    assert "--sample" in result.stderr and "internal error" not in result.stderr


def test_a_closed_stdout_is_named_not_called_a_bug(tmp_path):
    data = small_csv(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "imbreport", "analyze", str(data), "-o", "-", *FAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    child.stdout.close()  # the reading program went away
    _, stderr = child.communicate(timeout=300)
    assert child.returncode == 4, stderr
    assert b"closed" in stderr and b"internal error" not in stderr


# --- what reaches the terminal and the pull request ----------------------------------------

ESCAPES = "\x1b[2J\x1b]0;owned\x07"


def test_terminal_escapes_from_the_data_never_reach_the_console(tmp_path):
    rows = 120
    data = small_csv(tmp_path, **{f"col{ESCAPES}": np.arange(rows)})
    result = run(str(data), "--target", f"missing{ESCAPES}")
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "col?[2J" in result.stderr  # named, made harmless


def test_labels_with_escapes_print_harmlessly_and_markdown_links_nothing(tmp_path):
    hostile = "\x1b[2J@octocat #12 https://evil.example www.evil.example"
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(1)
    y = np.arange(150) % 5 == 0
    pd.DataFrame(
        {"x": rng.normal(size=150) + 2 * y, "label": np.where(y, hostile, "ordinary")}
    ).to_csv(data, index=False)
    result = run(str(data), "-o", str(tmp_path / "s.md"), *FAST)
    assert result.exit_code in (0, 1), result.output
    assert "positive class '?[2J@octocat" in result.stderr
    assert "\x1b" not in result.stderr
    summary = (tmp_path / "s.md").read_text("utf-8")
    for linking in ("@octocat", "#12", "https://", "www.evil"):
        assert linking not in summary, (linking, summary)
    assert f"@{WORD_JOINER}octocat" in summary


@pytest.mark.parametrize(
    "text, absent",
    [
        ("ping @alice", "@alice"),
        ("mail bob@example.com", "@example"),
        ("fixes #123", "#123"),
        ("see GH-42", "GH-42"),
        ("http://x.example/a", "http://"),
        ("HTTPS://x.example", "HTTPS://"),
        ("WWW.x.example", "WWW."),
    ],
)
def test_markdown_escape_breaks_mentions_references_and_links(text, absent):
    escaped = markdown_escape(text)
    assert absent not in escaped
    assert escaped.replace(WORD_JOINER, "") == text.replace(".", ".")


# --- signals and worker processes ----------------------------------------------------------


def session_processes(session: int) -> list[int]:
    """Processes still alive in the session ``session`` (zombies excepted)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, sid = fields[0], int(fields[3])
        if sid == session and state != "Z":
            alive.append(int(entry.name))
    return alive


def shm_entries() -> set[str]:
    shm = Path("/dev/shm")
    return {p.name for p in shm.iterdir()} if shm.exists() else set()


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


@pytest.fixture(scope="module")
def parallel_csv(tmp_path_factory) -> Path:
    """Large enough that the worker processes start (more than evaluate.IN_PROCESS_CELLS)."""
    folder = tmp_path_factory.mktemp("parallel")
    rng = np.random.default_rng(3)
    n = 20_000
    y = (rng.random(n) < 0.05).astype(int)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=n) + (i == 0) * y for i in range(6)})
    frame["label"] = y
    path = folder / "big.csv"
    frame.to_csv(path, index=False)
    return path


#: The command, with the fits in joblib's worker processes (as on large data) or in a fork.
ENGINES = {
    "fork": [sys.executable, "-m", "imbreport"],
    "joblib": [
        sys.executable,
        "-c",
        "import sys, imbreport.evaluate as e; e.FORKED_CELLS = 0; "
        "from imbreport.cli import main; sys.argv[0] = 'imbreport'; main()",
    ],
}


def start_as_from_a_terminal(command: list[str], cwd: Path) -> subprocess.Popen:
    """``command`` in a session of its own (its pid is the session and group id), with a
    terminal's signal handling; stderr captured, stdout discarded."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_as_from_a_terminal,
    )


def wait_for_children(pid: int, seconds: float) -> bool:
    """Whether ``pid`` has a child process within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not children(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(children(pid))


def session_left(session: int, seconds: float = 15) -> list[int]:
    """The processes of ``session`` still alive after waiting up to ``seconds`` for them."""
    deadline = time.monotonic() + seconds
    while session_processes(session) and time.monotonic() < deadline:
        time.sleep(0.1)
    return session_processes(session)


def _as_from_a_terminal() -> None:
    """Default Ctrl-C and hang-up handling in the child, as a command typed in a terminal has.
    A test run started in the background (``pytest &``, some CI runners) ignores SIGINT, and a
    child inherits that "ignore" (Python then installs no Ctrl-C handler): the run would rightly
    go on and the test would measure the runner, not imbreport."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("engine", ["joblib", "fork"])
@pytest.mark.parametrize(
    "signum, code, word",
    [
        (signal.SIGHUP, 129, "hung up"),
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGINT, 130, "interrupted"),
    ],
    ids=["HUP", "TERM", "INT"],
)
def test_a_signal_while_workers_run_leaves_no_process_and_no_shm(
    parallel_csv, tmp_path, signum, code, word, engine
):
    shm_before = shm_entries()
    child = start_as_from_a_terminal(
        [*ENGINES[engine], "analyze", str(parallel_csv), "-o", "r.html"], tmp_path
    )
    try:
        # the first worker is being spawned: signal it while it imports
        assert wait_for_children(child.pid, 120), "the worker processes never started"
        time.sleep(0.3)
        if signum in (signal.SIGINT, signal.SIGHUP):  # Ctrl-C, a closed terminal: the group
            os.killpg(child.pid, signum)
        else:
            child.send_signal(signum)
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    text = stderr.decode()
    assert child.returncode == code, text
    assert word in text and "Traceback" not in text, text
    assert text.strip().count("\n") == 0, text  # one line
    assert session_left(child.pid) == []
    assert shm_entries() - shm_before == set()
    assert not (tmp_path / "r.html").exists() and leftovers(tmp_path) == []


def test_a_suggested_option_is_a_code_span_copied_as_typed():
    from imbreport.render import markdown_code

    assert markdown_code("--categorical '@dave'") == "` --categorical '@dave' `"
    assert markdown_code("a`b``c") == "``` a`b``c ```"
    assert "\x1b" not in markdown_code("x\x1b[2J\ny")


def test_a_line_break_in_a_name_cannot_forge_a_console_line():
    from imbreport.cli import printable

    assert printable("label\nError: forged") == "label Error: forged"
    assert printable("a\x1b[2Jb") == "a?[2Jb"
