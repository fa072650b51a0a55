"""Wide-table columns of filtered images: filter part and discretisation read apart."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurorad.studies import validation
from neurorad.studies.common import (columns_for_discretisation, discretisation_of,
                                     discretisations_in, filter_of, filters_in,
                                     study_settings)

COLUMNS = ["T1__stat_mean", "T1__cm_contrast_3D_avg_fbn32", "T1__cm_contrast_3D_avg_fbn8",
           "T1__stat_mean__log_s2", "T1__cm_contrast_3D_avg_fbn32__log_s2",
           "FA__ih_mean_fbn8__wavelet_db3_llh_l1_riavg"]


def test_filter_part_and_discretisation_of_wide_columns():
    assert [filter_of(c) for c in COLUMNS] == ["", "", "", "log_s2", "log_s2",
                                               "wavelet_db3_llh_l1_riavg"]
    assert [discretisation_of(c) for c in COLUMNS] == [None, "fbn32", "fbn8", None, "fbn32",
                                                       "fbn8"]
    assert filters_in(COLUMNS) == ["log_s2", "wavelet_db3_llh_l1_riavg"]
    assert discretisations_in(COLUMNS) == ["fbn8", "fbn32"]
    assert columns_for_discretisation(COLUMNS, "fbn8") == [
        "T1__stat_mean", "T1__cm_contrast_3D_avg_fbn8", "T1__stat_mean__log_s2",
        "FA__ih_mean_fbn8__wavelet_db3_llh_l1_riavg"]


def test_study_settings_with_filters():
    spec = {"filter": "mean", "dimensions": "3d", "boundary": "mirror", "support_voxels": 3}
    s = study_settings("seed-protocol", [8], filters=[spec])
    assert s.filters.specs == (spec,) and s.filters.keep_original
    assert study_settings("seed-protocol", [8], filters=None).filters is None


def test_by_filter_validates_each_image_type_alone():
    rng = np.random.default_rng(0)
    n = 40
    y = np.repeat([0, 1], n // 2)
    X = pd.DataFrame({"T1__stat_mean": rng.normal(size=n),
                      "T1__stat_var": rng.normal(size=n),
                      "T1__stat_mean__log_s2": y + 0.1 * rng.normal(size=n),
                      "T1__stat_var__log_s2": rng.normal(size=n)})
    groups = np.arange(n)
    out = validation.by_filter(X, y, groups, task="classification", model="lasso_lr",
                               outer_folds=3, repeats=1, seed=0, fast=True, n_bootstrap=50)
    auc = out[out.metric == "roc_auc"].set_index("filter")
    assert list(auc.index) == ["original", "log_s2"]
    assert (auc["n_features"] == 2).all()
    # Only the response map carries the label: it separates, the original does not.
    assert auc.loc["log_s2", "estimate"] > 0.9 > auc.loc["original", "estimate"]
    assert validation.by_filter(X[["T1__stat_mean", "T1__stat_var"]], y, groups,
                                task="classification", model="lasso_lr", outer_folds=3,
                                repeats=1, seed=0).empty
