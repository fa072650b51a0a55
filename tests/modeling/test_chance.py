"""On targets unrelated to the features the evaluation lands at chance -- not above, not below.

Pooling out-of-fold predictions of different folds into one AUC / rho is biased below chance
(each fold's model inherits a training prior shifted against its test fold); the fold-wise
estimator is not. These tests draw many small null data sets (ROIs of a patient strongly
alike, labels per patient), check the mean estimate, the interval coverage, and show that the
pooled statistic *is* biased on the same predictions (so the test could fail).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from neurorad.modeling import evaluate

N_DATASETS = 30


def _metric(result, model, metric):
    m = result.metrics
    return m[(m.model == model) & (m.metric == metric) & m["class"].isna()].iloc[0]


@pytest.mark.slow
def test_null_classification_is_at_chance_with_nominal_coverage(make_clustered):
    aucs, covered, pooled_null = [], [], []
    for i in range(N_DATASETS):
        # 21 patients (11 vs 10): fold prevalences differ slightly, as in real cohorts
        X, y, groups = make_clustered(n_patients=21, rois_per_patient=2, n_features=6,
                                      seed=1000 + i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = evaluate(X, y, groups=groups, models=("null", "svm"), repeats=1, seed=i,
                           fast=True, n_bootstrap=200, correlation_threshold=None)
        row = _metric(res, "svm", "roc_auc")
        aucs.append(row.estimate)
        covered.append(row.ci_low <= 0.5 <= row.ci_high)
        assert _metric(res, "null", "roc_auc").estimate == 0.5
        null_pred = res.predictions.query("model == 'null'")
        pooled_null.append(roc_auc_score(null_pred.y_true, null_pred.p_1))
    aucs = np.asarray(aucs)
    # mean AUC within 3 standard errors of 0.5 (SE from the spread across data sets)
    se = aucs.std(ddof=1) / np.sqrt(N_DATASETS)
    assert abs(aucs.mean() - 0.5) < max(3 * se, 0.02), (aucs.mean(), se)
    assert np.mean(covered) >= 0.8, np.mean(covered)
    # the same predictions pooled over folds: the null model's prior anti-correlates
    assert np.mean(pooled_null) < 0.48, np.mean(pooled_null)
    print(f"mean AUC {aucs.mean():.3f} (SE {se:.3f}), coverage {np.mean(covered):.2f}, "
          f"pooled null AUC {np.mean(pooled_null):.3f}")


@pytest.mark.slow
def test_null_regression_rho_is_zero_not_negative():
    rhos, pooled_null = [], []
    for i in range(30):
        rng = np.random.default_rng(2000 + i)
        X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = evaluate(X, y, task="regression", models=("null", "svr"), repeats=1,
                           seed=i, fast=True, n_bootstrap=50, correlation_threshold=None)
        rhos.append(_metric(res, "svr", "spearman_rho").estimate)
        null_pred = res.predictions.query("model == 'null'")
        pooled_null.append(stats.spearmanr(null_pred.y_pred, null_pred.y_true).statistic)
        assert _metric(res, "null", "r2").estimate == 0.0
    rhos = np.asarray(rhos)
    se = rhos.std(ddof=1) / np.sqrt(len(rhos))
    assert abs(rhos.mean()) < max(3 * se, 0.03), (rhos.mean(), se)
    assert np.mean(pooled_null) < -0.05
    print(f"mean rho {rhos.mean():.3f} (SE {se:.3f}), pooled null rho {np.mean(pooled_null):.3f}")


def test_in_fold_selection_does_not_leak():
    # 500 noise features, 40 samples: selecting the top 10 on all data would give AUC ~0.9;
    # selected inside each training fold, the AUC stays at chance.
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(40, 500)), np.resize([0, 1], 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate(X, y, models=("null", "lasso_lr"), repeats=2, seed=0, fast=True,
                       n_bootstrap=300, top_k=10)
    row = _metric(res, "lasso_lr", "roc_auc")
    assert row.ci_low <= 0.5 <= row.ci_high
    assert (res.selected_features.groupby(["model", "repeat", "fold"]).size() <= 10).all()
