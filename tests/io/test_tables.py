"""CSV round trip of result tables: names pandas would read as NaN stay names."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurorad.io.tables import read_table_csv, write_table_csv
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
    })


def test_metrics_table_round_trips_exactly(tmp_path):
    table = _metrics()
    write_table_csv(table, tmp_path / "metrics.csv")
    back = read_table_csv(tmp_path / "metrics.csv")
    pd.testing.assert_frame_equal(back, table)
    # The hazard being fixed: plain pandas loses the names and the leading zeros.
    naive = pd.read_csv(tmp_path / "metrics.csv")
    assert naive["model"].isna().sum() == len(NA_LOOKING_NAMES)
    assert naive["group"].tolist()[:3] == [0, 1, 2]


def test_save_tables_csv_equals_its_parquet(tmp_path):
    written = save_tables(tmp_path, metrics=_metrics())
    from_csv = read_table_csv(written["metrics"])
    pd.testing.assert_frame_equal(from_csv, pd.read_parquet(tmp_path / "metrics.parquet"))
    assert from_csv["model"].tolist() == NA_LOOKING_NAMES
