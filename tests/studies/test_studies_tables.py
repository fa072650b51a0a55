"""Reshaping of evaluation results into the report tables (values checked by hand)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurorad.studies import dai, glioma, nf2, pet
from neurorad.studies.common import ModelTable, StudyInputError
from neurorad.studies.validation import (feasible_folds, format_interval, headline,
                                         published_comparison, side_by_side)


def _metrics():
    rows = []
    for split, shift in (("grouped", 0.0), ("leaky", 0.2)):
        for model, est in (("null", 0.5), ("svm", 0.7)):
            for metric in ("roc_auc", "acc"):
                rows.append({"model": model, "metric": metric, "class": None, "split": split,
                             "estimate": est + shift, "ci_low": est + shift - 0.1,
                             "ci_high": est + shift + 0.1})
    return pd.DataFrame(rows)


def test_format_interval():
    assert format_interval(0.71234, 0.5, 0.9) == "0.712 [0.500; 0.900]"
    assert format_interval(0.7, math.nan, math.nan) == "0.700"
    assert format_interval(math.nan, 0, 1) == "–"


def test_side_by_side_puts_grouped_next_to_leaky():
    table = side_by_side(_metrics(), ["roc_auc"])
    assert list(table.columns) == [("roc_auc", "grouped"), ("roc_auc", "leaky")]
    assert table.loc["svm", ("roc_auc", "grouped")] == "0.700 [0.600; 0.800]"
    assert table.loc["svm", ("roc_auc", "leaky")] == "0.900 [0.800; 1.000]"


def test_published_comparison_lines_up_dai_outcome():
    comp = published_comparison(_metrics(), "dai", "outcome")
    svm_auc = comp[(comp.model == "svm") & (comp.metric == "roc_auc")].iloc[0]
    assert svm_auc.published == 0.997
    assert svm_auc.ours_grouped == "0.700 [0.600; 0.800]"
    assert svm_auc.ours_leaky == "0.900 [0.800; 1.000]"
    # Published rows for models we did not run say so instead of disappearing.
    assert (comp[comp.model == "rf"].ours_grouped == "not run").all()


def test_headline_takes_grouped_and_leaky_and_the_published_value():
    head = headline(_metrics(), study="dai", model="svm", metric="roc_auc", task="outcome")
    assert (head.estimate, head.ci_low, head.ci_high) == pytest.approx((0.7, 0.6, 0.8))
    assert head.leaky == pytest.approx(0.9)
    assert head.published == 0.997 and head.chance == 0.5
    assert head.contains_chance is False
    with pytest.raises(ValueError, match="no grouped rf/roc_auc row"):
        headline(_metrics(), study="dai", model="rf", metric="roc_auc")


def test_headline_carries_permutation_p_cohort_and_published_interval():
    permutation = pd.DataFrame({"model": ["null", "svm"], "metric": ["roc_auc", "roc_auc"],
                                "observed": [0.5, 0.7], "permuted_mean": [0.5, 0.51],
                                "permuted_sd": [0.05, 0.06], "p_value": [0.6, 0.03],
                                "method": ["label permutation"] * 2})
    head = headline(_metrics(), study="dai", model="svm", metric="roc_auc", task="outcome",
                    permutation=permutation, n_permutations=99, cohort="43 subjects")
    assert head.permutation_p == pytest.approx(0.03) and head.n_permutations == 99
    assert head.cohort == "43 subjects"
    assert head.published_ci_low is None  # the DAI study published no interval
    # No test run for this model: no p, and no permutation count claimed.
    none = headline(_metrics(), study="dai", model="svm", metric="roc_auc",
                    permutation=permutation[permutation.model == "null"], n_permutations=99)
    assert none.permutation_p is None and none.n_permutations == 0


def test_cohort_text_by_hand():
    from types import SimpleNamespace

    from neurorad.studies.validation import cohort_text

    one = SimpleNamespace(groups=pd.Series(["a", "b", "c"]))
    assert cohort_text(one) == "3 patients, one ROI each"
    fifteen = SimpleNamespace(groups=pd.Series(["a"] * 15 + ["b"] * 15))
    assert cohort_text(fifteen, unit="subjects") == "2 subjects, 15 ROIs each"
    mixed = SimpleNamespace(groups=pd.Series(["a", "a", "a", "b", "c"]))
    assert cohort_text(mixed, rows="tumours") == "3 patients, 5 tumours (1-3 per patient)"


def test_feasible_folds_follow_the_rarest_class():
    y = ["a"] * 6 + ["b"] * 6
    groups = ["p1", "p1", "p2", "p2", "p3", "p3", "q1", "q2", "q3", "q4", "q5", "q6"]
    assert feasible_folds(y, groups, 5) == 3      # 'a' has 3 patients
    assert feasible_folds(y, groups, 2) == 2
    assert feasible_folds(["a", "a", "b"], ["p", "p", "q"], 5) == 0  # 1 patient per class


def test_rho_distribution_by_hand():
    rho = pd.DataFrame({"model": ["lasso"] * 4, "spearman_rho": [0.1, 0.5, -0.2, 0.3]})
    row = pet.rho_distribution(rho).loc["lasso"]
    assert row["n_splits"] == 4 and row["median"] == pytest.approx(0.2)
    assert row["share_positive"] == pytest.approx(0.75)


def test_glioma_layout_has_the_published_columns_in_order():
    m = _metrics().assign(**{"class": "glioblastoma"})
    layout = glioma.published_layout(m, "grouped")
    assert list(layout.columns) == ["ACC", "ROC AUC"]  # only those evaluated, in table order
    assert layout.loc[("glioblastoma", "svm"), "ROC AUC"] == "0.700 [0.600; 0.800]"


def _table():
    index = pd.MultiIndex.from_tuples(
        [(s, s, r) for s in ("s1", "s2") for r in ("thal_L", "cc_genu")],
        names=["subject", "group", "roi"])
    X = pd.DataFrame({"FA__stat_mean": [0.3, 0.7, 0.31, 0.69],
                      "FA__morph_volume": [10.0, 10.0, 10.0, 10.0]}, index=index)
    targets = pd.DataFrame({"outcome": [None, None, "bad", "bad"]}, index=index)
    return ModelTable(X=X, targets=targets, groups=pd.Series(index.get_level_values("group"),
                                                             index=index))


def test_dai_subject_by_roi_and_task_rows():
    wide = dai.subject_by_roi(_table())
    assert wide.loc[("s2", "s2"), "cc_genu:FA__stat_mean"] == 0.69
    assert wide.loc[("s1", "s1"), "thal_L:FA__stat_mean"] == 0.3
    assert wide.shape == (2, 4)
    assert dai.task_rows(_table(), "outcome").n_rows == 2
    with pytest.raises(StudyInputError, match="'diagnosis' is not in the manifest"):
        dai.task_rows(_table(), "diagnosis")


def test_nf2_volume_column_of_one_image():
    assert nf2.size_columns(["T1__morph_volume", "T2__morph_volume", "T1__stat_mean"]) == [
        "T1__morph_volume"]
    with pytest.raises(StudyInputError, match="morph_volume"):
        nf2.size_columns(["T1__stat_mean"])


def test_pet_keeps_tumour_rows_only():
    table = _table()
    kept = pet.tumour_rows(table, "cc_genu")
    assert list(kept.X.index.get_level_values("roi")) == ["cc_genu", "cc_genu"]
    assert list(kept.X.columns) == ["FA__stat_mean"]  # constant volume dropped
    with pytest.raises(StudyInputError, match="tumour_voi"):
        pet.tumour_rows(table)
    assert np.isclose(kept.X["FA__stat_mean"].sum(), 0.7 + 0.69)
