"""Property test of the CSV loader (issue #7): whatever the bytes, ``load_dataset`` either returns a
consistent ``Dataset`` or raises an ``ImbreportError``; never any other exception.

Generated files mix well-formed CSV (written by ``csv.writer`` with random quoting) and raw joins
that break quoting and row widths, in several encodings, delimiters, line endings and compressions.
"""

from __future__ import annotations

import csv
import gzip
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbreport.data import load_dataset
from imbreport.errors import ImbreportError
from imbreport.options import AnalysisOptions

SPECIAL_TEXT = [
    "",
    " ",
    "NA",
    "None",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "2024-01-31",
    "TRUE",
    "false",
    '"',
    "a,b",
    "x;y",
    "tab\there",
    "new\nline",
    "<script>alert(1)</script>",
    "$\\alpha$",
    "\u202eevil",
    '=HYPERLINK("http://x")',
    "caf\u00e9",
    "\ufeff",
]

plain_cells = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(-1e6, 1e6).map(lambda x: f"{x:.3f}"),
    st.sampled_from(["red", "green", "blue"]),
)
cells = st.one_of(
    plain_cells,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(SPECIAL_TEXT),
    st.text(max_size=6),
)
names = st.one_of(
    st.sampled_from(["target", "label", "a", "b", "id", " y ", "", "<b>x</b>", "caf\u00e9"]),
    st.text(max_size=5),
)


def sometimes(probability: float = 0.2):
    """True with about the given probability (so most files have few flaws); shrinks to False."""
    falses = round(1 / probability) - 1
    return st.sampled_from([False] * falses + [True])


@st.composite
def tables(draw) -> tuple[list[str], list[list[str]]]:
    width = 1 if draw(sometimes(0.05)) else draw(st.integers(2, 6))
    unique = not draw(sometimes())
    header = draw(st.lists(names, min_size=width, max_size=width, unique=unique))
    messy, ragged = draw(sometimes(0.3)), draw(sometimes())
    labels = draw(st.lists(cells if messy else plain_cells, min_size=2, max_size=3, unique=True))
    rows = []
    for _ in range(draw(st.integers(0, 5) if draw(sometimes()) else st.integers(6, 40))):
        row_width = draw(st.integers(0, width + 2)) if ragged and draw(sometimes()) else width
        row = draw(
            st.lists(cells if messy else plain_cells, min_size=row_width, max_size=row_width)
        )
        if row:
            row[-1] = draw(st.sampled_from(labels))
        rows.append(row)
    return header, rows


def write_text(draw, header: list[str], rows: list[list[str]], sep: str) -> str:
    if draw(sometimes()):  # no quoting at all: delimiters and newlines in cells break rows
        return "".join(sep.join(row) + "\n" for row in [header, *rows])
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    writer = csv.writer(buffer, delimiter=sep, quoting=quoting, lineterminator="\n")
    writer.writerows([header, *rows])
    return buffer.getvalue()


@st.composite
def csv_files(draw) -> tuple[bytes, AnalysisOptions]:
    header, rows = draw(tables())
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    text = write_text(draw, header, rows, sep)
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n"])))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(sometimes()):
        data = gzip.compress(data, mtime=0)
    wild = draw(sometimes(0.3))
    config = AnalysisOptions(
        target=draw(st.sampled_from([*header, "missing"])) if wild else None,
        positive_label=draw(cells) if wild else None,
        sep=sep if draw(st.booleans()) else None,
        decimal="," if sep != "," and draw(sometimes()) else ".",
        encoding=encoding if draw(st.booleans()) else None,
    )
    return data, config


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("loader-properties") / "data.csv"


def check_loads_or_explains(path, data: bytes, config: AnalysisOptions) -> None:
    path.write_bytes(data)
    try:
        dataset = load_dataset(str(path), config)
    except ImbreportError as exc:
        assert str(exc), "an error needs a message"
        return
    summary = dataset.summary()
    assert summary["rows_read"] == summary["rows_used"] + sum(summary["rows_dropped"].values())
    assert set(np.unique(dataset.y)) == {0, 1}
    assert min(dataset.positives, dataset.rows_used - dataset.positives) >= 2
    assert set(dataset.X.columns) == {*dataset.numeric, *dataset.categorical}
    assert len(dataset.X) == dataset.rows_used
    assert not any("\ufeff" in column for column in dataset.X.columns)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(csv_files())
def test_generated_csv_loads_or_raises_imbreport_error(scratch, generated):
    data, config = generated
    check_loads_or_explains(scratch, data, config)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=400))
def test_arbitrary_bytes_load_or_raise_imbreport_error(scratch, data):
    check_loads_or_explains(scratch, data, AnalysisOptions())
