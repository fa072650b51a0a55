"""Fold metrics against scikit-learn / SciPy, and weights against explicit repetition."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from neurorad.modeling.metrics import (binary_metrics, multiclass_metrics, regression_metrics,
                                       weighted_midranks)


@pytest.fixture
def binary_case():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 40).astype(bool)
    score = np.round(rng.uniform(size=40) * 0.5 + 0.4 * y, 1)   # rounded: ties on purpose
    pred = score >= 0.5
    return y, score, pred


def test_binary_metrics_match_sklearn(binary_case):
    y, score, pred = binary_case
    got = {k: v[0] for k, v in binary_metrics(y, score, pred, np.ones((1, len(y)))).items()}
    assert got["acc"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["bacc"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert got["sens"] == pytest.approx(skm.recall_score(y, pred))
    assert got["spec"] == pytest.approx(skm.recall_score(~y, ~pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score))
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, score))
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, score))


def test_weights_equal_repeating_samples(binary_case):
    y, score, pred = binary_case
    rng = np.random.default_rng(4)
    W = rng.integers(0, 4, size=(5, len(y))).astype(float)
    got = binary_metrics(y, score, pred, W)
    for b in range(len(W)):
        rep = np.repeat(np.arange(len(y)), W[b].astype(int))
        assert got["roc_auc"][b] == pytest.approx(skm.roc_auc_score(y[rep], score[rep]))
        assert got["pr_auc"][b] == pytest.approx(skm.average_precision_score(y[rep], score[rep]))
        assert got["bacc"][b] == pytest.approx(skm.balanced_accuracy_score(y[rep], pred[rep]))
        assert got["f1"][b] == pytest.approx(skm.f1_score(y[rep], pred[rep]))


def test_auc_undefined_without_a_class():
    W = np.array([[1.0, 1.0, 0.0, 0.0]])
    got = binary_metrics(np.array([1, 1, 0, 0], bool), np.array([.9, .8, .1, .2]),
                         np.array([1, 1, 0, 0], bool), W)
    assert np.isnan(got["roc_auc"][0]) and np.isnan(got["spec"][0])
    assert got["sens"][0] == 1.0


def test_multiclass_metrics_match_sklearn():
    rng = np.random.default_rng(5)
    y = np.repeat([0, 1, 2], 15)
    proba = rng.dirichlet(np.ones(3), size=len(y))
    proba[np.arange(len(y)), y] += 0.3
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    overall, per_class = multiclass_metrics(y, proba, pred, np.ones((1, len(y))))
    assert overall["acc"][0] == pytest.approx(skm.accuracy_score(y, pred))
    assert overall["bacc"][0] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert overall["f1"][0] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert overall["roc_auc"][0] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    onehot = np.eye(3)[y]
    assert overall["brier"][0] == pytest.approx(np.mean(((proba - onehot) ** 2).sum(axis=1)))
    for k in range(3):
        assert per_class[k]["roc_auc"][0] == pytest.approx(skm.roc_auc_score(y == k, proba[:, k]))
        assert per_class[k]["sens"][0] == pytest.approx(skm.recall_score(y == k, pred == k))


def test_regression_metrics_match_scipy_on_repeated_data():
    rng = np.random.default_rng(6)
    y = rng.normal(size=25)
    yhat = np.round(y + rng.normal(size=25), 1)
    W = np.vstack([np.ones(25), rng.integers(0, 3, 25)])
    got = regression_metrics(y, yhat, train_mean=0.3, W=W)
    for b in range(2):
        rep = np.repeat(np.arange(25), W[b].astype(int))
        yy, pp = y[rep], yhat[rep]
        assert got["spearman_rho"][b] == pytest.approx(stats.spearmanr(pp, yy).statistic)
        assert got["pearson_r"][b] == pytest.approx(stats.pearsonr(pp, yy).statistic)
        assert got["mae"][b] == pytest.approx(np.mean(np.abs(yy - pp)))
        assert got["rmse"][b] == pytest.approx(np.sqrt(np.mean((yy - pp) ** 2)))
        # out-of-sample R^2 against the training mean, by hand
        assert got["r2"][b] == pytest.approx(1 - np.sum((yy - pp) ** 2) /
                                             np.sum((yy - 0.3) ** 2))


def test_constant_prediction_has_zero_correlation_and_zero_r2():
    y = np.array([1.0, 2.0, 3.0, 5.0])
    got = regression_metrics(y, np.full(4, 2.5), train_mean=2.5, W=np.ones((1, 4)))
    assert got["spearman_rho"][0] == 0.0 and got["pearson_r"][0] == 0.0
    assert got["r2"][0] == 0.0


def test_midranks_with_ties():
    ranks = weighted_midranks(np.array([3.0, 1.0, 3.0, 2.0]), np.ones((1, 4)))
    np.testing.assert_allclose(ranks[0], stats.rankdata([3, 1, 3, 2]))
