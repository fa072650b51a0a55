"""DeLong's test: AUC, variance against a bootstrap, size under the null."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from neurorad.modeling.delong import delong_covariance, delong_test, foldwise_delong


def test_auc_and_variance_against_bootstrap():
    rng = np.random.default_rng(0)
    y = np.repeat([True, False], [80, 120])
    a = rng.normal(size=200) + 1.0 * y
    b = a + rng.normal(size=200)               # correlated with a
    aucs, cov = delong_covariance(y, np.vstack([a, b]))
    assert aucs[0] == pytest.approx(roc_auc_score(y, a))
    assert aucs[1] == pytest.approx(roc_auc_score(y, b))
    # Second method: a stratified bootstrap of the AUC difference, with the rank-sum form
    # AUC = (R_pos - m (m + 1) / 2) / (m n).
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)

    def auc(score, p, n):
        ranks = rankdata(np.concatenate([score[p], score[n]]))
        return (ranks[:len(p)].sum() - len(p) * (len(p) + 1) / 2) / (len(p) * len(n))

    diffs = []
    for _ in range(2000):
        p, n = rng.choice(pos, len(pos)), rng.choice(neg, len(neg))
        diffs.append(auc(a, p, n) - auc(b, p, n))
    var_boot = np.var(diffs)
    var_delong = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    assert var_delong == pytest.approx(var_boot, rel=0.2)


def test_against_constant_score_is_one_sample_test():
    rng = np.random.default_rng(1)
    y = np.repeat([True, False], 30)
    a = rng.normal(size=60) + 0.8 * y
    res = delong_test(y, a, np.full(60, 0.3))
    aucs, cov = delong_covariance(y, a)
    assert res["auc_b"] == 0.5
    assert res["z"] == pytest.approx((aucs[0] - 0.5) / np.sqrt(cov[0, 0]))


def test_size_under_null():
    rng = np.random.default_rng(2)
    y = np.repeat([True, False], 25)
    pvals = [delong_test(y, rng.normal(size=50), rng.normal(size=50))["p_value"]
             for _ in range(400)]
    assert 0.02 < np.mean(np.asarray(pvals) < 0.05) < 0.09


def test_foldwise_combination_by_hand():
    # two repeats of two folds
    res = foldwise_delong([0.1, 0.3, 0.2, 0.2], [0.01, 0.03, 0.02, 0.02], [0, 0, 1, 1])
    se_r0 = np.sqrt(0.04) / 2
    se_r1 = np.sqrt(0.04) / 2
    assert res["difference"] == pytest.approx(0.2)
    assert res["se"] == pytest.approx((se_r0 + se_r1) / 2)
    assert res["z"] == pytest.approx(0.2 / 0.1)


def test_too_few_samples_raise():
    with pytest.raises(ValueError, match="at least 2 positives"):
        delong_test(np.array([True, False, False]), np.arange(3.0), np.zeros(3))
