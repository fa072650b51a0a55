"""Tidy feature tables, failure tables and the wide model-input table.

The tidy table has one row per (subject, group, roi, image, settings_id, feature) and a float64
``value``: easy to filter, concatenate and store. Models want one row per lesion and one
column per (image, feature); :func:`wide_table` pivots to that shape.
"""
from __future__ import annotations

import pandas as pd

ID_COLUMNS = ["subject", "group", "roi", "image"]
TIDY_COLUMNS = [*ID_COLUMNS, "settings_id", "feature", "value"]
FAILURE_COLUMNS = [*ID_COLUMNS, "settings_id", "error_type", "error_message"]
WIDE_INDEX = ["subject", "group", "roi"]
WIDE_SEPARATOR = "__"


def empty_tidy() -> pd.DataFrame:
    """An empty tidy table with the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else str) for c in TIDY_COLUMNS})


def tidy_case_frame(case_ids: dict[str, str], settings_id: str, features: pd.DataFrame) -> pd.DataFrame:
    """Attach a case's identity (subject, group, roi, image) and settings id to its
    ``feature``/``value`` rows."""
    frame = features[["feature", "value"]].copy()
    for col in ID_COLUMNS:
        frame.insert(ID_COLUMNS.index(col), col, str(case_ids[col]))
    frame.insert(len(ID_COLUMNS), "settings_id", str(settings_id))
    frame["value"] = frame["value"].astype("float64")
    return frame


def concat_tidy(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-case tidy frames (an empty table when there are none)."""
    if not frames:
        return empty_tidy()
    return pd.concat(frames, ignore_index=True)[TIDY_COLUMNS]


def failures_frame(records: list[dict]) -> pd.DataFrame:
    """The failure table (columns :data:`FAILURE_COLUMNS`) from failure records."""
    frame = pd.DataFrame(records, columns=FAILURE_COLUMNS)
    return frame.astype({c: str for c in FAILURE_COLUMNS})


def wide_table(features: pd.DataFrame) -> pd.DataFrame:
    """One row per (subject, group, roi), one column per ``<image>__<feature>``.

    Parameters
    ----------
    features : tidy table (:data:`TIDY_COLUMNS`), e.g. ``BatchResult.features`` or
        ``pandas.read_parquet(out_dir / "features.parquet")``. It must hold a single
        ``settings_id``: values from different settings are not comparable columns.

    Returns
    -------
    DataFrame indexed by the MultiIndex (subject, group, roi), rows sorted by it; columns
    ordered by image name, then by the extractor's feature order. A (lesion, image) pair that
    failed or was not extracted shows as NaN.

    Raises
    ------
    ValueError
        When columns are missing, several settings ids are mixed, or a
        (subject, group, roi, image, feature) appears twice.
    """
    missing = [c for c in TIDY_COLUMNS if c not in features.columns]
    if missing:
        raise ValueError(f"wide_table: tidy feature table lacks columns {missing}")
    settings_ids = features["settings_id"].unique()
    if len(settings_ids) > 1:
        raise ValueError(
            f"wide_table: the table mixes {len(settings_ids)} settings ids {sorted(settings_ids)}; "
            "select one (features[features.settings_id == ID]) before pivoting"
        )
    dup = features.duplicated([*ID_COLUMNS, "feature"])
    if dup.any():
        first = features.loc[dup, [*ID_COLUMNS, "feature"]].iloc[0].to_dict()
        raise ValueError(f"wide_table: {int(dup.sum())} duplicated rows, e.g. {first}")
    if features.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=WIDE_INDEX))

    # Column order: images alphabetically, features in first-seen order (the extractor's order
    # groups families together, which reads better than alphabetical).
    feature_order = {f: i for i, f in enumerate(pd.unique(features["feature"]))}
    columns = (
        features[["image", "feature"]].drop_duplicates()
        .assign(_rank=lambda d: d["feature"].map(feature_order))
        .sort_values(["image", "_rank"], kind="stable")
    )
    column_names = [f"{i}{WIDE_SEPARATOR}{f}" for i, f in zip(columns["image"], columns["feature"])]

    keyed = features.assign(column=features["image"].astype(str) + WIDE_SEPARATOR + features["feature"].astype(str))
    wide = keyed.pivot(index=WIDE_INDEX, columns="column", values="value")
    wide = wide.reindex(columns=column_names).sort_index()
    wide.columns.name = None
    return wide
