"""CSV round trip of result tables: names pandas would read as NaN stay names."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurorad.io.tables import read_table_csv, schema_path, write_table_csv
from neurorad.studies.common import save_tables

# Every one of these is in pandas' default NA list; as names they must survive.
NA_LOOKING_NAMES = ["null", "NA", "nan", "None", "N/A", "NaN", "<NA>", "NULL"]


def _metrics() -> pd.DataFrame:
    n = len(NA_LOOKING_NAMES)
    return pd.DataFrame({
        "subject": ["NA", "007", "None", "s4", "nan", "null", "1e3", "s8"][:n],
        "group": [f"{i:03d}" for i in range(n)],              # patient ids "000", "001", ...
        "model": NA_LOOKING_NAMES,
        "metric": ["roc_auc"] * n,
        "class": [np.nan, "NA", np.nan, "null", np.nan, np.nan, "0", np.nan][:n],
        "estimate": np.linspace(0.1, 0.9, n) / 3,          # floats with 16-17 digits
        "ci_low": [np.nan, 0.0, -1e-300, 0.25, np.inf, 1 / 7, 2.5e-8, 0.3],
        "n_folds": np.arange(n, dtype=np.int64),
        "significant": [True, False] * (n // 2),
        # Free text that looks numeric (an interval printed with three decimals).
        "published_ci": ["1.000", "0.935", "0.890", "1e-3", "", "0.5", "1", "0.10"][:n],
    })


def test_metrics_table_round_trips_exactly(tmp_path):
    table = _metrics()
    write_table_csv(table, tmp_path / "metrics.csv")
    back = read_table_csv(tmp_path / "metrics.csv")
    # CSV has one empty field for "" and for missing: "" comes back missing (documented).
    expected = table.assign(published_ci=table["published_ci"].replace("", np.nan))
    pd.testing.assert_frame_equal(back, expected)
    # The hazard being fixed: plain pandas loses the names and the leading zeros.
    naive = pd.read_csv(tmp_path / "metrics.csv")
    assert naive["model"].isna().sum() == len(NA_LOOKING_NAMES)
    assert naive["group"].tolist()[:3] == [0, 1, 2]


def test_save_tables_csv_equals_its_parquet(tmp_path):
    table = _metrics().drop(columns="published_ci")
    written = save_tables(tmp_path, metrics=table)
    from_csv = read_table_csv(written["metrics"])
    pd.testing.assert_frame_equal(from_csv, pd.read_parquet(tmp_path / "metrics.parquet"))
    assert from_csv["model"].tolist() == NA_LOOKING_NAMES


def test_schema_types_and_fallback_without_it(tmp_path):
    path = tmp_path / "t.csv"
    write_table_csv(_metrics(), path)
    types = {f["name"]: f["type"] for f in json.loads(schema_path(path).read_text())["fields"]}
    assert (types["model"], types["estimate"], types["n_folds"], types["significant"],
            types["published_ci"]) == ("string", "number", "integer", "boolean", "string")
    schema_path(path).unlink()
    back = read_table_csv(path)                      # identifier columns still kept as text
    assert back["group"].tolist()[:2] == ["000", "001"]
    assert back["model"].tolist() == NA_LOOKING_NAMES
    assert back["published_ci"].iloc[0] == 1.0       # free text needs the schema


def test_schema_of_another_table_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    write_table_csv(_metrics(), path)
    pd.read_csv(path).drop(columns="estimate").to_csv(path, index=False)
    with pytest.raises(ValueError, match="t.csv: its schema t.schema.json lists the columns"):
        read_table_csv(path)
