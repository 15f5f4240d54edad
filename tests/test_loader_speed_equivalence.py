"""The loader's shortcuts for large files give the same ``Dataset`` as the plain way.

- Long tables share the numeric columns they keep unchanged with the parsed table instead of
  copying them into one block (``SHARE_COLUMNS_FROM_ROWS``): the contents, dtypes, column order,
  warnings and drop reasons are those of the copying path, and copy-on-write keeps the caller's
  frame and ``X`` apart.
- ASCII text is taken as UTF-8 without decoding it; the file is hashed while it is parsed.
"""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pandas as pd
import pytest

from imbreport import data
from imbreport.data import build_dataset, load_dataset
from imbreport.options import AnalysisOptions

LONG = data.SHARE_COLUMNS_FROM_ROWS + 500


def messy_numbers(n: int) -> pd.DataFrame:
    """Every kind of numeric column the checks treat differently, plus text and a 0/1 target."""
    rng = np.random.default_rng(11)
    y = np.zeros(n, dtype=int)
    y[: n // 10] = 1
    with_inf = rng.normal(size=n)
    with_inf[::7] = np.inf
    with_inf[3] = -np.inf
    with_nan = rng.normal(size=n)
    with_nan[::5] = np.nan
    return pd.DataFrame(
        {
            "plain": rng.normal(size=n) + y,
            "with_inf": with_inf,
            "with_nan": with_nan,
            "ints": rng.integers(0, 5, n),
            "nullable": pd.array([None if i % 4 == 0 else i % 9 for i in range(n)], "Int64"),
            "huge": rng.normal(size=n) * 1e250,
            "all_inf": np.full(n, np.inf),
            "all_missing": np.full(n, np.nan),
            "constant": np.full(n, 3.0),
            "row_id": np.arange(n),
            "text_numbers": [f"{v:.3f}" for v in rng.normal(size=n)],
            "colour": rng.choice(["red", "green", "blue"], n),
            "target": y,
        }
    )


def assert_same_dataset(shared, copied) -> None:
    pd.testing.assert_frame_equal(shared.X, copied.X, check_exact=True, check_column_type=True)
    np.testing.assert_array_equal(shared.y, copied.y)
    for field in ("numeric", "categorical", "dropped_columns", "warnings", "missing"):
        assert getattr(shared, field) == getattr(copied, field), field


def test_long_tables_share_columns_and_load_like_copied_ones(monkeypatch):
    frame = messy_numbers(LONG)
    shared = build_dataset(frame, AnalysisOptions(target="target"))
    assert np.shares_memory(shared.X["plain"].to_numpy(), frame["plain"].to_numpy())
    monkeypatch.setattr(data, "SHARE_COLUMNS_FROM_ROWS", 10**12)
    copied = build_dataset(frame, AnalysisOptions(target="target"))
    assert not np.shares_memory(copied.X["plain"].to_numpy(), frame["plain"].to_numpy())
    assert_same_dataset(shared, copied)


def test_numeric_checks_on_long_tables():
    frame = messy_numbers(LONG)
    dataset = build_dataset(frame, AnalysisOptions(target="target"))
    X = dataset.X
    numeric = ("plain", "with_inf", "with_nan", "ints", "nullable", "huge", "text_numbers")
    assert dataset.numeric == numeric
    assert dataset.categorical == ("colour",)
    assert list(X.columns) == [*numeric, "colour"]
    assert dataset.dropped_columns == {
        "all_inf": "all values missing or infinite",
        "all_missing": "all values missing",
        "constant": "constant",
        "row_id": "unique per row: looks like a row identifier (possible leakage)",
    }
    assert all(X[name].dtype == np.float64 for name in numeric)
    assert X["with_inf"].isna().sum() == len(range(0, LONG, 7)) + 1
    np.testing.assert_array_equal(X["plain"].to_numpy(), frame["plain"].to_numpy())
    np.testing.assert_array_equal(X["ints"].to_numpy(), frame["ints"].to_numpy(dtype=float))
    np.testing.assert_array_equal(X["huge"].to_numpy(), frame["huge"].to_numpy() / 1e250)
    np.testing.assert_array_equal(X["text_numbers"], pd.to_numeric(frame["text_numbers"]))
    assert X["nullable"].isna().sum() == len(range(0, LONG, 4))
    # numbers stored as text lose nothing, so they bring no warning of their own
    assert not any("non-numeric" in warning for warning in dataset.warnings)
    assert dataset.warnings[0:3] == (
        f"Column 'with_inf': {len(range(0, LONG, 7)) + 1} infinite value(s) treated as missing.",
        f"Column 'all_inf': {LONG} infinite value(s) treated as missing.",
        f"Column 'huge': values of magnitude up to {frame['huge'].abs().max():.3g} were rescaled "
        "by 1e-250 so that models can handle them (a constant factor changes no result).",
    )


def test_copy_on_write_keeps_the_callers_frame_and_X_apart():
    frame = messy_numbers(LONG)
    dataset = build_dataset(frame, AnalysisOptions(target="target"))
    before = dataset.X["plain"].copy()
    frame.loc[0, "plain"] = 12345.0
    frame["plain"] *= 2
    pd.testing.assert_series_equal(dataset.X["plain"], before)
    original = frame.loc[1, "plain"]
    dataset.X.loc[1, "plain"] = -1.0
    assert frame.loc[1, "plain"] == original


@pytest.mark.parametrize(
    "text",
    [
        "a,b,target\n1,x,0\n",
        "\ufeffa,b,target\n1,caf\u00e9,0\n",
        "a,b,target\n1,caf\u00e9,0\n",
    ],
)
@pytest.mark.parametrize("requested", [None, "utf-8", "utf8", "utf-8-sig", "latin-1"])
def test_ascii_shortcut_gives_the_decoded_text(text, requested):
    raw = text.encode("utf-8")
    expected = raw.decode(data._codec_name(requested) if requested else "utf-8-sig")
    utf8, notes = data._to_utf8(raw, requested)
    assert utf8.decode("utf-8") == expected.removeprefix("\ufeff")
    assert notes == []


@pytest.mark.parametrize("compress", [False, True])
def test_hash_is_that_of_the_file_on_disk(tmp_path, compress):
    frame = messy_numbers(60)[["plain", "colour", "target"]]
    raw = frame.to_csv(index=False).encode()
    raw = gzip.compress(raw, mtime=0) if compress else raw
    path = tmp_path / "data.csv"
    path.write_bytes(raw)
    assert load_dataset(str(path), AnalysisOptions()).sha256 == hashlib.sha256(raw).hexdigest()


def test_long_csv_loads_like_a_copied_one(tmp_path, monkeypatch):
    frame = messy_numbers(LONG).drop(columns=["nullable", "huge"])
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    shared = load_dataset(str(path), AnalysisOptions())
    monkeypatch.setattr(data, "SHARE_COLUMNS_FROM_ROWS", 10**12)
    assert_same_dataset(shared, load_dataset(str(path), AnalysisOptions()))
