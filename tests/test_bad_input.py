"""Bad input (issue #7): a clear error or an honest report, never a traceback, never lost rows, never
injected markup.

Three layers, fastest first:

- ``ERROR_CASES`` run the CLI on inputs it must refuse: exit code 2, ``Error: …`` on stderr naming
  the line, column or value and what would work, no traceback, no output written and an earlier
  report of the same name untouched.
- ``REPORT_CASES`` load messy but usable files with ``load_dataset`` and check the ``Dataset``
  (counts, classes, features, dropped columns, warnings); its ``summary()`` is the JSON ``dataset``
  block, so row reconciliation (read = used + dropped) is checked for every one of them.
- A few end-to-end runs render HTML, Markdown and JSON from hostile strings, few positives and
  messy features, and check the escaping and the JSON's row counts.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from imbreport.cli import main
from imbreport.data import load_dataset
from imbreport.errors import InputError
from imbreport.options import AnalysisOptions

FAST = ("--bootstrap", "100", "--n-jobs", "1", "--strategies", "logreg,balanced")
EARLIER = "<p>an earlier report</p>"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '" onmouseover="alert(1)'
IMG = '<img src="file:///etc/hostname">'
LINK = '<link rel=attachment href="file:///etc/passwd">'
MATHTEXT = "$\\alpha$"
RTL = "\u202eevil\u202c"
FORMULA = '=HYPERLINK("http://x","y")'
HOSTILE = (SCRIPT, ATTRIBUTE, IMG, LINK, MATHTEXT, RTL, FORMULA)
HOSTILE_FILE_NAME = "<svg onload=alert(1)>.csv"


# --- building input files ----------------------------------------------------------------------


def labelled_rows(n: int = 40, positives: int = 6) -> list[list[str]]:
    """Rows of a small learnable table: a numeric signal, a colour, a 0/1 target."""
    colours = ("red", "green", "blue")
    return [
        [
            f"{(i * 0.37) % 5 + (2.0 if i < positives else 0.0):.2f}",
            colours[i % 3],
            str(int(i < positives)),
        ]
        for i in range(n)
    ]


def csv_text(rows: list[list[str]], header=("a", "colour", "target"), sep: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    writer.writerows([list(header), *rows])
    return buffer.getvalue()


BASE = csv_text(labelled_rows())


def with_line(text: str, line_number: int, line: str) -> str:
    """``text`` with ``line`` inserted so that it becomes line ``line_number`` of the file."""
    lines = text.splitlines(keepends=True)
    lines.insert(line_number - 1, line + "\n")
    return "".join(lines)


def frame_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def table(n: int = 60, positives: int = 8, seed: int = 0, **columns) -> pd.DataFrame:
    """A learnable frame (``a``, ``colour``, ``target``) plus extra columns."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[:positives] = 1
    frame = pd.DataFrame(
        {"a": rng.normal(size=n) + 2.0 * y, "colour": rng.choice(["red", "green", "blue"], n)}
    )
    for name, values in columns.items():
        frame[name] = values(rng, n) if callable(values) else values
    frame["target"] = y
    return frame


def write_input(folder: Path, content, name: str = "data.csv") -> Path:
    """Write ``content`` (text, bytes or a frame) as ``name``; ``None`` writes nothing."""
    path = folder / name
    if isinstance(content, pd.DataFrame):
        content = frame_csv(content)
    if isinstance(content, str):
        content = content.encode("utf-8")
    if content is not None:
        path.write_bytes(content)
    return path


# --- running the CLI ---------------------------------------------------------------------------


def run_cli(*args: str):
    return CliRunner().invoke(main, ["analyze", *args])


def assert_refused(result, folder: Path, fragments: tuple[str, ...]) -> None:
    """Exit 2, one ``Error:`` line naming every fragment, no traceback, nothing written."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("Error: ") == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
    assert (folder / "report.html").read_text() == EARLIER
    assert not (folder / "report.json").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".imbreport-")]


# --- error cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCase:
    """An input the CLI must refuse, and what its message must name."""

    id: str
    content: object  # str | bytes | DataFrame | None (no file) | "folder"
    args: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    name: str = "data.csv"
    outputs: tuple[str, ...] = field(default=("report.html", "report.json"))


def zip_bytes() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


QUOTED_NEWLINE_THEN_SHORT = with_line(
    with_line(BASE, 3, '1.5,"two\nlines",0'), 7, "1.0,red"
)  # the quoted field spans lines 3-4, so the short row is physical line 7

ERROR_CASES = [
    # file
    ErrorCase("missing-file", None, expect=("does not exist",)),
    ErrorCase("directory", "folder", expect=("is a folder", "CSV file")),
    ErrorCase("empty", b"", expect=("is empty",)),
    ErrorCase("whitespace-only", b" \n\n \n", expect=("is empty",)),
    ErrorCase("header-only", "a,colour,target\n", expect=("header but no rows",)),
    ErrorCase("binary", bytes(range(256)) * 4, expect=("not a CSV text file",)),
    ErrorCase("xlsx", zip_bytes(), name="data.xlsx", expect=("ZIP archive", "Export the sheet")),
    ErrorCase("corrupt-gzip", gzip.compress(BASE.encode())[:30], name="d.csv.gz", expect=("gzip",)),
    ErrorCase(
        "too-many-fields",
        with_line(BASE, 5, "1,red,0,9"),
        expect=("Line 5 has 4 field(s)", "header has 3", "--sep"),
    ),
    ErrorCase(
        "too-few-fields",
        with_line(BASE, 9, "1,red"),
        expect=("Line 9 has 2 field(s)", "header has 3"),
    ),
    ErrorCase(
        "too-few-after-quoted-newline", QUOTED_NEWLINE_THEN_SHORT, expect=("Line 7 has 2 field(s)",)
    ),
    ErrorCase(
        "first-row-too-long", with_line(BASE, 2, "7,1,red,0"), expect=("Line 2 has 4 field(s)",)
    ),
    ErrorCase("unclosed-quote", with_line(BASE, 4, '1,"red,0'), expect=("line 4", "never closed")),
    ErrorCase(
        "duplicate-columns",
        csv_text(
            [[a, colour, a, target] for a, colour, target in labelled_rows()],
            header=("a", "colour", "a", "target"),
        ),
        expect=("Duplicate column names: 'a' (columns 1, 3)",),
    ),
    ErrorCase(
        "duplicate-after-strip",
        BASE.replace("a,colour,target", "a, a ,target", 1),
        expect=("'a' (columns 1, 2)",),
    ),
    ErrorCase("single-column", "a\n1\n2\n", expect=("Only one column", "--sep")),
    ErrorCase(
        "repeated-header",
        BASE + BASE,
        expect=("Line 42 repeats the header row", "Remove that line"),
    ),
    # encoding and format
    ErrorCase(
        "wrong-encoding",
        BASE.replace("red", "caf\u00e9").encode("latin-1"),
        args=("--encoding", "utf-8"),
        expect=("not valid utf-8", "line 2", "--encoding latin-1"),
    ),
    ErrorCase(
        "unknown-encoding",
        BASE,
        args=("--encoding", "klingon"),
        expect=("Unknown encoding 'klingon'",),
    ),
    ErrorCase(
        "sep-equals-decimal",
        BASE,
        args=("--sep", ",", "--decimal", ","),
        expect=("--sep and --decimal", "--sep ';'"),
    ),
    ErrorCase(
        "sep-too-long", BASE, args=("--sep", "::"), expect=("--sep must be a single character",)
    ),
    # target
    ErrorCase(
        "target-missing-case",
        BASE,
        args=("--target", "Target"),
        expect=(
            "'Target' is not in the file",
            "closest match is 'target'",
            "'a', 'colour', 'target'",
        ),
    ),
    ErrorCase(
        "target-missing-typo",
        BASE,
        args=("--target", "tagret"),
        expect=("closest match is 'target'", "Available columns"),
    ),
    ErrorCase(
        "one-class",
        csv_text([[str(i), "red", "0"] for i in range(30)]),
        expect=("single class ('0', 30 rows)", "two classes"),
    ),
    ErrorCase(
        "all-labels-missing",
        csv_text([[str(i), "red", ""] for i in range(30)]),
        expect=("Every value of the target column 'target' is missing",),
    ),
    ErrorCase(
        "three-classes",
        csv_text([[str(i), "red", "abc"[i % 3]] for i in range(30)]),
        expect=("3 classes", "'a': 10", "--positive-label"),
    ),
    ErrorCase(
        "continuous-target",
        frame_csv(table(target_raw=lambda rng, n: rng.normal(size=n)).drop(columns="target")),
        expect=("'target_raw'", "looks continuous", "--target"),
    ),
    ErrorCase(
        "positive-label-absent",
        BASE,
        args=("--positive-label", "yes"),
        expect=("--positive-label 'yes' is not a value", "'0': 34, '1': 6"),
    ),
    ErrorCase(
        "one-positive",
        csv_text(labelled_rows(40, positives=1)),
        expect=("Only 1 row(s) have the positive class '1'", "at least 2"),
    ),
    ErrorCase(
        "one-negative",
        csv_text(labelled_rows(40, positives=39)),
        args=("--positive-label", "1"),
        expect=("Only 1 row(s) are not '1'", "--positive-label"),
    ),
    # features
    ErrorCase(
        "no-features-left",
        frame_csv(
            table().assign(a=1.0, colour=np.nan, row_id=range(60))[
                ["a", "colour", "row_id", "target"]
            ]
        ),
        expect=(
            "No usable feature columns",
            "'a': constant",
            "'colour': all values missing",
            "'row_id': unique per row",
        ),
    ),
    ErrorCase(
        "unknown-categorical",
        BASE,
        args=("--categorical", "nope"),
        expect=("--categorical", "nope", "colour"),
    ),
    # outputs
    ErrorCase(
        "output-folder-missing",
        BASE,
        outputs=("missing/report.html",),
        expect=("'missing' does not exist",),
    ),
    ErrorCase(
        "output-folder-is-a-file",
        BASE,
        outputs=("data.csv/report.html",),
        expect=("is not a folder",),
    ),
    ErrorCase("output-is-a-folder", BASE, outputs=("sub.html",), expect=("is a folder",)),
    ErrorCase(
        "output-unknown-extension",
        BASE,
        outputs=("report.txt",),
        expect=("Unknown output extension '.txt'", ".html"),
    ),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda case: case.id)
def test_bad_input_is_refused(case: ErrorCase, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text(EARLIER)
    (tmp_path / "sub.html").mkdir()
    if case.content == "folder":
        (tmp_path / case.name).mkdir()
    else:
        write_input(tmp_path, case.content, case.name)
    outputs = [arg for path in case.outputs for arg in ("-o", path)]
    result = run_cli(case.name, *outputs, *case.args, *FAST)
    assert_refused(result, tmp_path, case.expect)


def test_unwritable_output_folder_is_refused_before_any_computation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text(EARLIER)
    write_input(tmp_path, BASE)
    (tmp_path / "locked").mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p).endswith("locked") else real_access(p, mode)
    )
    monkeypatch.setattr("imbreport.data.load_dataset", _must_not_run)
    monkeypatch.setattr("imbreport.evaluate.evaluate", _must_not_run)
    result = run_cli("data.csv", "-o", "locked/report.html", *FAST)
    assert_refused(result, tmp_path, ("'locked' is not writable",))


@pytest.mark.parametrize("output", ["missing/r.html", "r.txt"])
def test_output_problems_are_found_before_loading(output, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text(EARLIER)
    write_input(tmp_path, BASE)
    monkeypatch.setattr("imbreport.data.load_dataset", _must_not_run)
    assert_refused(run_cli("data.csv", "-o", output, *FAST), tmp_path, ())


def _must_not_run(*args, **kwargs):
    raise AssertionError("computation started although the output cannot be written")


# --- usable but messy files: the loader -------------------------------------------------------


@dataclass(frozen=True)
class ReportCase:
    """A messy file that must load, and what the ``Dataset`` must say about it."""

    id: str
    content: object  # str | bytes | DataFrame
    options: dict = field(default_factory=dict)
    rows_read: int = 40
    rows_dropped: dict = field(default_factory=dict)
    class_counts: dict | None = None
    positive: str | None = None
    numeric: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    dropped: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    name: str = "data.csv"
    cells: dict = field(default_factory=dict)  # column -> a value that must be among its cells


BASE_COUNTS = {"0": 34, "1": 6}
LATIN1 = BASE.replace("red", "caf\u00e9")


def missing_labels() -> str:
    rows = labelled_rows(40, positives=8)
    for i in (0, 10, 20, 30):
        rows[i][2] = ""
    rows[11][2] = "  "
    return csv_text(rows)


def na_labels() -> str:
    rows = labelled_rows(40, positives=8)
    for i, row in enumerate(rows):
        row[2] = "NA" if i < 8 else ("None" if i % 2 else "ok")
    rows[39][2] = ""
    return csv_text(rows)


def wide(n_rows: int, n_columns: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    extra = pd.DataFrame(
        rng.normal(size=(n_rows, n_columns)), columns=[f"f{i}" for i in range(n_columns)]
    )
    return pd.concat([extra, table(n_rows, 8)], axis=1)


POSITIVE = '" onclick="alert(2)'
NEGATIVE = MATHTEXT + " " + FORMULA


def hostile_frame(n: int = 80, positives: int = 10) -> pd.DataFrame:
    """Hostile strings as column names, as category values, and as both class labels."""
    rng = np.random.default_rng(7)
    y = np.arange(n) < positives
    return pd.DataFrame(
        {
            SCRIPT: rng.normal(size=n) + 2.5 * y,
            ATTRIBUTE: rng.normal(size=n) + 1.5 * y,
            IMG: [HOSTILE[i % len(HOSTILE)] for i in range(n)],
            LINK: rng.normal(size=n),
            MATHTEXT: rng.normal(size=n),
            RTL: rng.normal(size=n),
            "label": np.where(y, POSITIVE, NEGATIVE),
        }
    )


REPORT_CASES = [
    # file
    ReportCase(
        "utf-8",
        BASE,
        class_counts=BASE_COUNTS,
        positive="1",
        numeric=("a",),
        categorical=("colour",),
    ),
    ReportCase(
        "gzip", gzip.compress(BASE.encode(), mtime=0), name="data.csv.gz", class_counts=BASE_COUNTS
    ),
    ReportCase("bzip2", bz2.compress(BASE.encode()), name="data.csv.bz2", class_counts=BASE_COUNTS),
    ReportCase("xz", lzma.compress(BASE.encode()), name="data.csv.xz", class_counts=BASE_COUNTS),
    ReportCase("crlf", BASE.replace("\n", "\r\n"), class_counts=BASE_COUNTS, numeric=("a",)),
    ReportCase("blank-lines", "\n\n" + with_line(BASE, 6, ""), class_counts=BASE_COUNTS),
    ReportCase(
        "quoted-newline-and-delimiter",
        with_line(BASE, 2, '3.5,"red, or\nblue",1'),
        rows_read=41,
        class_counts={"0": 34, "1": 7},
        cells={"colour": "red, or\nblue"},
    ),
    ReportCase(
        "long-cell",
        with_line(BASE, 2, f'3.5,"{"x" * 10_000}",1'),
        rows_read=41,
        cells={"colour": "x" * 10_000},
    ),
    ReportCase(
        "unnamed-index-column",
        frame_csv(table(40).reset_index()).replace("index,", ",", 1),
        numeric=("a",),
        dropped={"unnamed_1": "unique per row: looks like a row identifier (possible leakage)"},
        warnings=("no name for column(s) at position(s) 1",),
    ),
    ReportCase(
        "trailing-delimiter",
        BASE.replace("\n", ",\n"),
        class_counts=BASE_COUNTS,
        dropped={"unnamed_4": "all values missing"},
    ),
    # encoding and format
    ReportCase("utf-8-bom", "\ufeff" + BASE, numeric=("a",), class_counts=BASE_COUNTS),
    ReportCase(
        "utf-8-bom-explicit", "\ufeff" + BASE, options={"encoding": "utf-8"}, numeric=("a",)
    ),
    ReportCase(
        "latin-1-detected",
        LATIN1.encode("latin-1"),
        cells={"colour": "caf\u00e9"},
        warnings=("read as Latin-1",),
    ),
    ReportCase(
        "latin-1-option",
        LATIN1.encode("latin-1"),
        options={"encoding": "latin-1"},
        cells={"colour": "caf\u00e9"},
    ),
    ReportCase(
        "utf-16-bom", LATIN1.encode("utf-16"), cells={"colour": "caf\u00e9"}, numeric=("a",)
    ),
    ReportCase(
        "semicolon-sniffed",
        csv_text(labelled_rows(), sep=";"),
        numeric=("a",),
        class_counts=BASE_COUNTS,
    ),
    ReportCase("tab-sniffed", csv_text(labelled_rows(), sep="\t"), numeric=("a",)),
    ReportCase("pipe-sniffed", csv_text(labelled_rows(), sep="|"), numeric=("a",)),
    ReportCase(
        "tab-option-escaped",
        csv_text(labelled_rows(), sep="\t"),
        options={"sep": "\\t"},
        numeric=("a",),
    ),
    ReportCase(
        "decimal-comma",
        csv_text(labelled_rows(), sep=";").replace(".", ","),
        options={"decimal": ","},
        numeric=("a",),
        cells={"a": 2.37},
    ),
    ReportCase(
        "semicolon-with-quoted-commas",
        csv_text([[*row[:1], f"{row[1]}, dark", row[2]] for row in labelled_rows()], sep=";"),
        categorical=("colour",),
        cells={"colour": "red, dark"},
    ),
    # target
    ReportCase(
        "some-labels-missing",
        missing_labels(),
        rows_dropped={"missing label": 5},
        class_counts={"0": 28, "1": 7},
    ),
    ReportCase(
        "na-and-none-labels",
        na_labels(),
        options={"positive_label": "NA"},
        rows_dropped={"missing label": 1},
        class_counts={"ok": 16, "None": 15, "NA": 8},
        positive="NA",
        warnings=("kept as classes of their own",),
    ),
    ReportCase(
        "labels-with-spaces", BASE.replace(",1\n", ", 1 \n"), class_counts=BASE_COUNTS, positive="1"
    ),
    ReportCase(
        "positive-label-normalised",
        BASE.replace(",1\n", ",1.0\n").replace(",0\n", ",0.0\n"),
        options={"positive_label": "1"},
        positive="1",
    ),
    ReportCase(
        "positive-label-case",
        BASE.replace(",1\n", ",Yes\n").replace(",0\n", ",No\n"),
        options={"positive_label": "yes"},
        positive="Yes",
    ),
    ReportCase(
        "three-classes-one-vs-rest",
        csv_text([[str(i % 7), "red", "abc"[i % 3]] for i in range(30)]),
        options={"positive_label": "c"},
        rows_read=30,
        positive="c",
        class_counts={"a": 10, "b": 10, "c": 10},
    ),
    ReportCase(
        "two-positives",
        csv_text(labelled_rows(40, positives=2)),
        class_counts={"0": 38, "1": 2},
        warnings=("Only 2 positive rows",),
    ),
    ReportCase(
        "ten-positives",
        csv_text(labelled_rows(40, positives=10)),
        warnings=("Only 10 positive rows",),
    ),
    ReportCase("target-by-name", BASE.replace("target", "Class"), class_counts=BASE_COUNTS),
    ReportCase("target-last-column", BASE.replace("target", "outcome"), class_counts=BASE_COUNTS),
    ReportCase(
        "boolean-target",
        BASE.replace(",1\n", ",True\n").replace(",0\n", ",False\n"),
        positive="True",
    ),
    # features
    ReportCase(
        "all-missing-column",
        frame_csv(table(40).assign(empty=np.nan)),
        dropped={"empty": "all values missing"},
    ),
    ReportCase(
        "constant-columns",
        frame_csv(table(40).assign(seven=7, word="same")),
        dropped={"seven": "constant", "word": "constant"},
    ),
    ReportCase(
        "infinities",
        frame_csv(table(40).assign(b=[np.inf, -np.inf] + list(range(38)))),
        numeric=("a", "b"),
        warnings=("Column 'b': 2 infinite value(s) treated as missing",),
    ),
    ReportCase(
        "huge-magnitudes",
        frame_csv(table(40).assign(big=lambda f: f["a"] * 1e300, small=lambda f: f["a"] * 1e-300)),
        numeric=("a", "big", "small"),
        warnings=("'big': values of magnitude", "'small': values of magnitude"),
    ),
    ReportCase(
        "id-columns",
        frame_csv(
            table(40).assign(row=range(40), customer_id=np.random.default_rng(1).permutation(40))
        ),
        dropped={
            "row": "unique per row: looks like a row identifier (possible leakage)",
            "customer_id": "unique per row: looks like a row identifier (possible leakage)",
        },
        warnings=("identifier-like",),
    ),
    ReportCase(
        "date-strings",
        frame_csv(
            table(40).assign(day=pd.date_range("2024-01-01", periods=40).strftime("%Y-%m-%d"))
        ),
        dropped={"day": "dates are not used as features"},
    ),
    ReportCase(
        "thousands-of-levels",
        frame_csv(table(3000, 60).assign(city=[f"city {i % 2500}" for i in range(3000)])),
        rows_read=3000,
        categorical=("colour", "city"),
    ),
    ReportCase(
        "mostly-numeric-text",
        frame_csv(table(40).assign(b=["?"] + [str(i) for i in range(39)])),
        numeric=("a", "b"),
        warnings=("1 non-numeric value(s) ('?')",),
    ),
    ReportCase(
        "boolean-text-column",
        frame_csv(table(40).assign(flag=["TRUE", "false"] * 20)),
        categorical=("colour", "flag"),
    ),
    ReportCase("more-columns-than-rows", frame_csv(wide(30, 200)), rows_read=30),
    ReportCase("thousands-of-columns", frame_csv(wide(40, 3000)), rows_read=40),
    ReportCase(
        "sample-keeps-positives",
        frame_csv(table(300, 10)),
        options={"sample": 120},
        rows_read=300,
        rows_dropped={"sampled out (--sample)": 180},
    ),
    # hostile strings are data like any other
    ReportCase(
        "hostile-strings",
        frame_csv(hostile_frame()),
        rows_read=80,
        positive=POSITIVE,
        numeric=(SCRIPT, ATTRIBUTE, LINK, MATHTEXT, RTL),
        categorical=(IMG,),
        cells={IMG: SCRIPT},
    ),
]


@pytest.mark.parametrize("case", REPORT_CASES, ids=lambda case: case.id)
def test_messy_input_loads_and_accounts_for_every_row(case: ReportCase, tmp_path):
    path = write_input(tmp_path, case.content, case.name)
    dataset = load_dataset(str(path), AnalysisOptions(**case.options))
    summary = dataset.summary()
    assert_rows_reconcile(summary)
    assert summary["rows_read"] == case.rows_read
    assert summary["rows_dropped"] == case.rows_dropped
    expected = {
        "class_counts": case.class_counts,
        "positive_label": case.positive,
    }
    for key, value in expected.items():
        if value is not None:
            assert summary[key] == value, key
    if case.numeric is not None:
        assert dataset.numeric == case.numeric
    if case.categorical is not None:
        assert dataset.categorical == case.categorical
    assert {k: v for k, v in dataset.dropped_columns.items() if k in case.dropped} == case.dropped
    for fragment in case.warnings:
        assert any(fragment in w for w in dataset.warnings), (fragment, dataset.warnings)
    for column, value in case.cells.items():
        assert value in set(dataset.X[column]), column
    assert not any(name.startswith("\ufeff") for name in [*dataset.X.columns, dataset.target])


def assert_rows_reconcile(summary: dict) -> None:
    dropped = sum(summary["rows_dropped"].values())
    assert summary["rows_read"] == summary["rows_used"] + dropped, summary
    assert summary["positives"] + summary["negatives"] == summary["rows_used"]


def test_na_labels_are_a_class_but_empty_cells_are_missing(tmp_path):
    dataset = load_dataset(
        str(write_input(tmp_path, na_labels())), AnalysisOptions(positive_label="NA")
    )
    assert "nan" not in {str(label).lower() for label in dataset.class_counts}
    assert dataset.negative_label == "rest"


def test_loader_errors_are_input_errors(tmp_path):
    """The Python API raises the same family as the CLI reports."""
    with pytest.raises(InputError, match="Line 5 has 4 field"):
        load_dataset(str(write_input(tmp_path, with_line(BASE, 5, "1,red,0,9"))), AnalysisOptions())


# --- end to end: rendered reports --------------------------------------------------------------


class Elements(HTMLParser):
    """Every element with its attributes, and all text (entities decoded), of an HTML page."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.svg_text: list[str] = []
        self._svg_depth = 0
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._svg_depth += tag == "svg"

    def handle_endtag(self, tag):
        self._svg_depth -= tag == "svg"

    def handle_data(self, data):
        self.text.append(data)
        if self._svg_depth:
            self.svg_text.append(data)


ALLOWED_URL_PREFIXES = ("#", "data:image/png;base64,")
FORBIDDEN_ELEMENTS = {
    "script",
    "iframe",
    "object",
    "embed",
    "link",
    "base",
    "form",
    "foreignobject",
}


def assert_no_markup_from_data(page: Elements) -> None:
    for tag, attrs in page.elements:
        assert tag not in FORBIDDEN_ELEMENTS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "xlink:href"):
                assert (value or "").strip().startswith(ALLOWED_URL_PREFIXES), (tag, name, value)


def run_report(folder: Path, frame: pd.DataFrame, *args: str, name: str = "data.csv"):
    """Run ``analyze`` on ``frame`` and return (result, html, markdown, json)."""
    write_input(folder, frame, name)
    out = folder / "out"
    out.mkdir()
    outputs = ("-o", str(out / "r.html"), "-o", str(out / "r.md"), "-o", str(out / "r.json"))
    result = run_cli(str(folder / name), *outputs, *FAST, *args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    report = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert_rows_reconcile(report["dataset"])
    return (
        result,
        (out / "r.html").read_text(encoding="utf-8"),
        (out / "r.md").read_text(encoding="utf-8"),
        report,
    )


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return run_report(folder, hostile_frame(), "--strategies", "logreg", name=HOSTILE_FILE_NAME)


def test_hostile_strings_appear_literally_in_html_and_figures(hostile_report):
    page = Elements(hostile_report[1])
    assert_no_markup_from_data(page)
    text = "".join(page.text)
    for value in (*HOSTILE, POSITIVE, NEGATIVE, HOSTILE_FILE_NAME):
        assert value in text, value
    # figure labels are shortened and carry an invisible U+200B before '=', but stay literal
    figure_text = "".join(page.svg_text).replace("\u200b", "")
    for label in (POSITIVE, NEGATIVE):
        assert label[:18] in figure_text, label


def test_hostile_strings_appear_exactly_in_json(hostile_report):
    dataset = hostile_report[3]["dataset"]
    assert set(dataset["features"]["numeric"]) == {SCRIPT, ATTRIBUTE, LINK, MATHTEXT, RTL}
    assert dataset["features"]["categorical"] == [IMG]
    assert (dataset["positive_label"], dataset["negative_label"]) == (POSITIVE, NEGATIVE)
    assert dataset["source"].endswith(HOSTILE_FILE_NAME)


def test_hostile_strings_are_escaped_in_markdown(hostile_report):
    markdown = hostile_report[2]
    for raw in ("<script", "<img", "<svg", "<link"):
        assert raw not in markdown, raw
    assert "&lt;svg onload=alert(1)&gt;.csv" in markdown


def test_mathtext_in_markdown_is_not_rendered_as_math(hostile_report):
    assert MATHTEXT in hostile_report[3]["dataset"]["negative_label"]
    assert "\\$" in hostile_report[2]


@pytest.fixture(scope="module")
def two_positives_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("few")
    return run_report(folder, table(60, positives=2), "--strategies", "logreg,smote", "-v")


def test_two_positives_give_a_report_with_adapted_folds_and_a_warning(two_positives_report):
    result, _html, _markdown, report = two_positives_report
    assert report["dataset"]["positives"] == 2
    assert report["protocol"]["folds"] == 2
    assert any("Only 2 positive rows" in w for w in report["warnings"])
    assert "Only 2 positive rows" in result.stderr


def test_smote_is_skipped_when_no_training_part_has_two_positives(two_positives_report):
    report = two_positives_report[3]
    smote = next(s for s in report["strategies"] if s["name"] == "smote")
    assert smote["status"] == "skipped"


def test_messy_features_give_an_honest_report(tmp_path):
    rng = np.random.default_rng(5)
    n = 120
    frame = table(n, 16).assign(
        inf=lambda f: f["a"].where(f.index > 1, np.inf),
        huge=lambda f: f["a"] * 1e300,
        row_id=range(n),
        day=pd.date_range("2024-01-01", periods=n).strftime("%Y-%m-%d"),
        constant=1,
        empty=np.nan,
        city=[f"c{v}" for v in rng.integers(0, 90, n)],
        essay=["x" * 10_000] + [f"note {i % 5}" for i in range(n - 1)],
    )
    frame["target"] = frame["target"].astype(object)
    frame.loc[[5, 50, 90], "target"] = None
    _result, html, _markdown, report = run_report(tmp_path, frame, "--strategies", "logreg")
    dataset = report["dataset"]
    assert dataset["rows_read"] == n
    assert dataset["rows_dropped"] == {"missing label": 3}
    assert set(dataset["dropped_columns"]) == {"row_id", "day", "constant", "empty"}
    assert {"inf", "huge", "a"} <= set(dataset["features"]["numeric"])
    assert {"city", "essay"} <= set(dataset["features"]["categorical"])
    assert all(s["status"] == "ok" for s in report["strategies"]), report["strategies"]
    assert_no_markup_from_data(Elements(html))


def test_numbers_stored_as_padded_text_are_numbers_without_a_warning(tmp_path):
    path = tmp_path / "padded.csv"
    rows = [f'"{i % 7} ",{"x" if i % 2 else "y"},{i % 2}' for i in range(60)]
    path.write_text("padded,letter,target\n" + "\n".join(rows) + "\n", encoding="utf-8")
    dataset = load_dataset(str(path), AnalysisOptions(target="target"))
    assert "padded" in dataset.numeric
    assert not any("non-numeric" in w for w in dataset.warnings)
