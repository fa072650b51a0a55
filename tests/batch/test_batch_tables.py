"""wide_table: pivot of the tidy feature table into the model input."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from neurorad.batch.tables import TIDY_COLUMNS, failures_frame, wide_table


def _tidy(rows):
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def test_wide_table_one_row_per_lesion_and_image_prefixed_columns():
    rows = [
        ("s1", "P1", "lesion_1", "T1", "abc", "stat_mean", 1.0),
        ("s1", "P1", "lesion_1", "T1", "abc", "morph_volume", 2.0),
        ("s1", "P1", "lesion_1", "T2", "abc", "stat_mean", 3.0),
        ("s1", "P1", "lesion_2", "T1", "abc", "stat_mean", 4.0),
        ("s2", "P1", "lesion_1", "T2", "abc", "stat_mean", 5.0),
    ]
    wide = wide_table(_tidy(rows))
    assert list(wide.index.names) == ["subject", "group", "roi"]
    assert list(wide.index) == [("s1", "P1", "lesion_1"), ("s1", "P1", "lesion_2"), ("s2", "P1", "lesion_1")]
    # images alphabetically, features in the tidy table's first-seen order
    assert list(wide.columns) == ["T1__stat_mean", "T1__morph_volume", "T2__stat_mean"]
    assert wide.loc[("s1", "P1", "lesion_1"), "T1__morph_volume"] == 2.0
    assert wide.loc[("s1", "P1", "lesion_1"), "T2__stat_mean"] == 3.0
    assert wide.loc[("s2", "P1", "lesion_1"), "T2__stat_mean"] == 5.0
    # pairs never extracted are missing, not zero
    assert math.isnan(wide.loc[("s2", "P1", "lesion_1"), "T1__stat_mean"])
    assert math.isnan(wide.loc[("s1", "P1", "lesion_2"), "T2__stat_mean"])


def test_wide_table_refuses_mixed_settings_and_duplicates():
    mixed = _tidy([("s1", "P1", "r", "T1", "a", "f", 1.0), ("s1", "P1", "r", "T1", "b", "f", 1.0)])
    with pytest.raises(ValueError, match="settings ids"):
        wide_table(mixed)
    dup = _tidy([("s1", "P1", "r", "T1", "a", "f", 1.0), ("s1", "P1", "r", "T1", "a", "f", 2.0)])
    with pytest.raises(ValueError, match="duplicated"):
        wide_table(dup)
    with pytest.raises(ValueError, match="lacks columns"):
        wide_table(pd.DataFrame({"subject": ["s1"]}))


def test_wide_table_of_empty_table_is_empty():
    wide = wide_table(_tidy([]))
    assert wide.shape == (0, 0)
    assert list(wide.index.names) == ["subject", "group", "roi"]


def test_failures_frame_keeps_columns_when_empty():
    assert list(failures_frame([]).columns) == [
        "subject", "group", "roi", "image", "settings_id", "error_type", "error_message"]
