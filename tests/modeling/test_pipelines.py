"""In-fold transformers, the SVM's probabilities, harmonisation and the permutation test."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neurorad.modeling import evaluate
from neurorad.modeling.pipelines import (BatchLocationScale, CalibratedSVC, CorrelationFilter,
                                         MedianImputeScale)


def test_correlation_filter_keeps_first_of_each_correlated_pair():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 50))
    X = np.column_stack([a, 2 * a + 0.01 * b, b, c, -c + 0.01 * a])
    # |r| by hand: (0, 1) ~ 1, (3, 4) ~ 1, the rest small
    r = np.abs(np.corrcoef(X.T))
    assert r[0, 1] > 0.99 and r[3, 4] > 0.99 and r[0, 2] < 0.5
    filt = CorrelationFilter(0.9).fit(X)
    assert filt.get_support().tolist() == [True, False, True, True, False]
    assert filt.transform(X).shape == (50, 3)


def _one_pass_filter(X, threshold):
    """The straightforward procedure: the full |r| matrix, then one greedy pass."""
    with np.errstate(all="ignore"):
        corr = np.abs(np.corrcoef(X.T))
    corr[np.isnan(corr)] = 0.0          # constant columns: no correlation, kept
    keep = np.ones(X.shape[1], dtype=bool)
    for j in range(X.shape[1]):
        if keep[j]:
            keep[j + 1:] &= ~(corr[j, j + 1:] > threshold)
    return keep


@pytest.mark.parametrize("block", [1, 7, 64, 512])
def test_blocked_correlation_filter_equals_the_one_pass_filter(block, monkeypatch):
    # Clusters of strongly correlated columns (radiomic features at several grey levels),
    # chains whose neighbours correlate but whose ends do not, a constant column.
    rng = np.random.default_rng(5)
    n = 40
    base = rng.normal(size=(n, 12))
    cols = []
    for k in range(12):
        for _ in range(rng.integers(1, 6)):
            cols.append(base[:, k] + rng.normal(scale=rng.choice([0.05, 0.3, 1.0]), size=n))
    walk = rng.normal(size=n)
    for _ in range(15):
        walk = walk + 0.45 * rng.normal(size=n)
        cols.append(walk.copy())
    cols.insert(5, np.full(n, 3.0))
    X = np.column_stack(cols)[:, rng.permutation(len(cols))]
    expected = _one_pass_filter(X, 0.9)
    assert 5 < expected.sum() < X.shape[1] - 5          # the case is not trivial
    monkeypatch.setattr(CorrelationFilter, "block", block)
    assert CorrelationFilter(0.9).fit(X).get_support().tolist() == expected.tolist()


def test_median_impute_scale_equals_nanmedian_imputation():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 6))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 2] = np.nan                                   # all missing -> median 0
    X[:, 4] = rng.normal(size=30)                      # none missing
    fitted = MedianImputeScale().fit(X)
    median = np.nanmedian(np.where(np.isnan(X).all(axis=0), 0.0, X), axis=0)
    np.testing.assert_array_equal(fitted.median_, median)


def test_batch_harmonisation_uses_training_parameters():
    rng = np.random.default_rng(1)
    batch = np.repeat([0.0, 1.0], 30)
    values = rng.normal(size=(60, 2)) + np.where(batch[:, None] == 1, [5.0, -3.0], 0.0)
    X = np.column_stack([values, batch])
    out = BatchLocationScale().fit(X).transform(X)
    assert out.shape == (60, 2)
    np.testing.assert_allclose(out[batch == 0].mean(axis=0), out[batch == 1].mean(axis=0),
                               atol=1e-9)
    # a test sample is mapped with its batch's training mean/sd (by hand)
    mean1, sd1 = values[batch == 1].mean(axis=0), values[batch == 1].std(axis=0)
    pooled_mean, pooled_sd = values.mean(axis=0), values.std(axis=0)
    new = np.array([[6.0, -2.0, 1.0]])
    expected = (new[0, :2] - mean1) / sd1 * pooled_sd + pooled_mean
    np.testing.assert_allclose(BatchLocationScale().fit(X).transform(new)[0], expected)


def test_svm_probabilities_keep_the_decision_order():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(40, 3)), np.resize([0, 1], 40)    # no signal: Platt slope ~ 0
    model = CalibratedSVC(C=1.0, random_state=0).fit(X, y)
    test = rng.normal(size=(30, 3))
    rho = stats.spearmanr(model.decision_function(test), model.predict_proba(test)[:, 1])
    assert rho.statistic > 0.999
    np.testing.assert_allclose(model.predict_proba(test).sum(axis=1), 1.0)


def test_harmonisation_removes_a_site_effect_inside_the_folds():
    # The label is confounded with nothing; the features carry a large site shift that is
    # unrelated to the label, plus a small true signal in f0.
    rng = np.random.default_rng(3)
    n = 60
    y = np.resize([0, 1], n)
    site = rng.integers(0, 2, n)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    X["a"] += 1.5 * y
    X += 6.0 * site[:, None]
    kw = dict(models=("null", "lasso_lr"), repeats=1, seed=0, fast=True, n_bootstrap=100)
    plain = evaluate(X, y, **kw)
    harmonised = evaluate(X, y, batch=site, **kw)
    auc = lambda r: r.metrics.query("model == 'lasso_lr' and metric == 'roc_auc'").estimate.iloc[0]  # noqa: E731,E501
    assert harmonised.settings["harmonised"]
    assert auc(harmonised) > 0.8
    assert auc(harmonised) >= auc(plain) - 0.05


def test_permutation_test_p_values():
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(30, 5)), columns=list("abcde"))
    y = np.resize([0, 1], 30)
    X["a"] += 2.0 * y
    kw = dict(models=("lasso_lr",), outer_folds=3, inner_folds=2, repeats=1, seed=0,
              fast=True, n_bootstrap=50, n_permutations=19)
    planted = evaluate(X, y, **kw).tests.query("versus == 'permutation'").iloc[0]
    assert planted.p_value == pytest.approx(1 / 20)          # no permutation beats the truth
    assert abs(planted.statistic - 0.5) < 0.1                 # permuted AUCs sit at chance
    # fresh noise (the remaining columns of X happen to carry chance association with y:
    # Mann-Whitney p = 0.018 for "b", which the permutation test rightly picks up)
    noise = pd.DataFrame(np.random.default_rng(5).normal(size=(30, 4)), columns=list("bcde"))
    null = evaluate(noise, y, **kw).tests.query("versus == 'permutation'").iloc[0]
    assert null.p_value > 0.05 and abs(null.statistic - 0.5) < 0.1
