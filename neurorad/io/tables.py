"""CSV files of neurorad's result tables, written and read back without changing a value.

pandas' default CSV reading turns the strings ``"null"``, ``"NA"``, ``"nan"``, ``"None"``
(and a dozen more) into NaN, and identifiers that look like numbers (``"007"``) into
integers. A model named ``null`` (the chance-level model of :mod:`neurorad.modeling`) or a
subject named ``NA`` would then silently disappear from a re-read table. Every neurorad
table goes through this pair of functions instead:

* :func:`write_table_csv` writes a missing value as an empty field and every float with
  all the digits it needs (``repr``), so ``read(write(x)) == x`` for floats;
* :func:`read_table_csv` treats only the empty field as missing, keeps every other text as
  written, and reads the identifier columns (:data:`TEXT_COLUMNS`) as text even when they
  look numeric.

Limitation: an empty string and a missing value are the same empty field in CSV; they come
back as missing. The Parquet copy that :func:`neurorad.studies.common.save_tables` writes
next to each CSV keeps every dtype.
"""
from __future__ import annotations

import os

import pandas as pd

#: Columns of neurorad tables that hold names or identifiers: always read as text.
TEXT_COLUMNS = ("subject", "group", "roi", "image", "label", "model", "class", "feature",
                "feature_set", "metric", "split", "target", "task", "discretisation",
                "effect_measure", "test", "settings_id", "study")


# pandas 2 parses floats round-trip only when asked; pandas 3 always does and deprecates asking.
_ROUND_TRIP_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else \
    {"float_precision": "round_trip"}


def write_table_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` (without its index) as UTF-8 CSV; a missing value is an empty field."""
    frame.to_csv(path, index=False, na_rep="", encoding="utf-8")


def read_table_csv(path: str | os.PathLike, *, text_columns=TEXT_COLUMNS) -> pd.DataFrame:
    """Read a table written by :func:`write_table_csv`, keeping every string exactly.

    Parameters
    ----------
    path : path-like
        The CSV file.
    text_columns : iterable of str
        Columns read as text whatever they look like (absent ones are ignored).

    Returns
    -------
    DataFrame
        Only empty fields are NaN; ``"null"``, ``"NA"``, ``"nan"``, ``"None"`` stay strings.
        Other columns get pandas' type inference (numbers, booleans); floats come back
        equal to the written values bit for bit (pandas >= 3 parses them round-trip).
    """
    header = pd.read_csv(path, nrows=0, encoding="utf-8").columns
    return pd.read_csv(path, keep_default_na=False, na_values=[""],
                       dtype={c: str for c in text_columns if c in header},
                       encoding="utf-8", **_ROUND_TRIP_FLOATS)
