"""CSV files of neurorad's result tables, written and read back without changing a value.

pandas' default CSV reading turns the strings ``"null"``, ``"NA"``, ``"nan"``, ``"None"``
(and a dozen more) into NaN, and text that looks like a number (a subject ``"007"``, an
interval printed as ``"1.000"``) into numbers. A model named ``null`` (the chance-level
model of :mod:`neurorad.modeling`) or a subject named ``NA`` would then silently disappear
from a re-read table. Every neurorad table goes through this pair of functions instead:

* :func:`write_table_csv` writes a missing value as an empty field, every float with all
  the digits it needs (``repr``), and next to ``<name>.csv`` a ``<name>.schema.json``
  giving each column's type (Frictionless Table Schema: ``string``, ``integer``,
  ``number``, ``boolean``; https://specs.frictionlessdata.io/table-schema/);
* :func:`read_table_csv` treats only the empty field as missing, keeps every other text as
  written, and reads the ``string`` columns of the schema as text (without a schema: the
  identifier columns :data:`TEXT_COLUMNS`).

Limitation: an empty string and a missing value are the same empty field in CSV; they come
back as missing. The Parquet copy that :func:`neurorad.studies.common.save_tables` writes
next to each CSV keeps every dtype.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

#: Columns of neurorad tables that hold names or identifiers: read as text when a CSV has
#: no schema beside it.
TEXT_COLUMNS = ("subject", "group", "roi", "image", "label", "model", "class", "feature",
                "feature_set", "metric", "split", "target", "task", "discretisation",
                "effect_measure", "test", "settings_id", "study")


# pandas 2 parses floats round-trip only when asked; pandas 3 always does and deprecates asking.
_ROUND_TRIP_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else \
    {"float_precision": "round_trip"}


def schema_path(path: str | os.PathLike) -> Path:
    """``<name>.schema.json`` beside ``<name>.csv``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".csv") + ".schema.json")


def _field_type(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column):
        return "boolean"
    if pd.api.types.is_integer_dtype(column):
        return "integer"
    if pd.api.types.is_float_dtype(column):
        return "number"
    return "string"


def write_table_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` (without its index) as UTF-8 CSV, and its Table Schema beside it.

    A missing value is an empty field. Column names must be unique strings.
    """
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"{Path(path).as_posix()}: duplicate column names {names}")
    frame.to_csv(path, index=False, na_rep="", encoding="utf-8")
    schema = {"fields": [{"name": str(name), "type": _field_type(frame[name])}
                         for name in frame.columns],
              "missingValues": [""]}
    schema_path(path).write_text(json.dumps(schema, indent=1) + "\n", encoding="utf-8")


def _text_columns_of_schema(path: Path, header) -> list[str] | None:
    sidecar = schema_path(path)
    if not sidecar.exists():
        return None
    fields = json.loads(sidecar.read_text(encoding="utf-8")).get("fields", [])
    names = [f["name"] for f in fields]
    if names != list(header):
        raise ValueError(f"{path.as_posix()}: its schema {sidecar.name} lists the columns "
                         f"{names}, the file has {list(header)} (one of them was edited)")
    return [f["name"] for f in fields if f.get("type", "string") == "string"]


def read_table_csv(path: str | os.PathLike, *, text_columns=None) -> pd.DataFrame:
    """Read a table written by :func:`write_table_csv`, keeping every string exactly.

    Parameters
    ----------
    path : path-like
        The CSV file.
    text_columns : iterable of str, optional
        Columns read as text whatever they look like (absent ones are ignored). Default:
        the ``string`` columns of the schema beside the file, or :data:`TEXT_COLUMNS` when
        there is none.

    Returns
    -------
    DataFrame
        Only empty fields are NaN; ``"null"``, ``"NA"``, ``"nan"``, ``"None"`` stay strings.
        Other columns get pandas' type inference (numbers, booleans); floats come back
        equal to the written values bit for bit.

    Raises
    ------
    ValueError
        When the schema beside the file lists other columns than the file has.
    """
    path = Path(path)
    header = pd.read_csv(path, nrows=0, encoding="utf-8").columns
    if text_columns is None:
        text_columns = _text_columns_of_schema(path, header)
        if text_columns is None:
            text_columns = TEXT_COLUMNS
    return pd.read_csv(path, keep_default_na=False, na_values=[""],
                       dtype={c: str for c in text_columns if c in header},
                       encoding="utf-8", **_ROUND_TRIP_FLOATS)
