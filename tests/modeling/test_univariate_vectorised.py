"""The column-wise univariate tests equal SciPy's per-feature calls (ties, NaN, small n)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from neurorad.modeling.univariate import column_ranks, univariate_screen


def _features(n, n_features=40, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, n_features))
    values[:, :12] = np.round(values[:, :12])           # heavy ties
    values[:, 12:20] = np.round(values[:, 12:20], 1)    # a few ties
    values[rng.random(values.shape) < 0.12] = np.nan
    values[:, -1] = 3.0                                 # constant
    return pd.DataFrame(values, columns=[f"x{j}" for j in range(n_features)])


def _by_feature(table):
    return table.set_index("feature")


def test_column_ranks_equal_scipy_rankdata_with_ties_and_nan():
    X = _features(17, seed=5).to_numpy()
    ranks, tie_term, n = column_ranks(X)
    for j in range(X.shape[1]):
        ok = ~np.isnan(X[:, j])
        np.testing.assert_allclose(ranks[ok, j], stats.rankdata(X[ok, j]))
        assert np.isnan(ranks[~ok, j]).all() and n[j] == ok.sum()
        _, t = np.unique(X[ok, j], return_counts=True)
        assert tie_term[j] == pytest.approx(np.sum(t ** 3 - t))


@pytest.mark.parametrize("n", [11, 16, 45])   # exact (a group <= 8, no ties) and normal
def test_mann_whitney_equals_scipy_per_feature(n):
    X = _features(n, seed=n)
    y = np.resize(["a", "b"], n)
    np.random.default_rng(n).shuffle(y)
    table = _by_feature(univariate_screen(X, y))
    for name in X.columns[:-1]:
        x = X[name].to_numpy()
        ok = ~np.isnan(x)
        ref = stats.mannwhitneyu(x[ok & (y == "b")], x[ok & (y == "a")])
        row = table.loc[name]
        assert row.statistic == pytest.approx(ref.statistic)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert row.effect_size == pytest.approx(
            2 * ref.statistic / ((ok & (y == "b")).sum() * (ok & (y == "a")).sum()) - 1)
        assert row.n == ok.sum()
    assert np.isnan(table.loc[X.columns[-1], "p_value"])     # constant: undefined
    defined = table.p_value.notna()
    expected_q = multipletests(table.p_value[defined], method="fdr_bh")[1]
    np.testing.assert_allclose(table.q_value[defined], expected_q)


def test_kruskal_equals_scipy_per_feature():
    X = _features(30, seed=2)
    y = np.resize([0, 1, 2], 30)
    table = _by_feature(univariate_screen(X, y))
    for name in X.columns[:-1]:
        x = X[name].to_numpy()
        ok = ~np.isnan(x)
        ref = stats.kruskal(*[x[ok & (y == c)] for c in range(3)])
        row = table.loc[name]
        assert row.statistic == pytest.approx(ref.statistic)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert row.effect_size == pytest.approx(ref.statistic / (ok.sum() - 1))


def test_spearman_equals_scipy_per_feature_with_tied_target():
    X = _features(25, seed=3)
    y = np.round(np.random.default_rng(3).normal(size=25), 1)
    table = _by_feature(univariate_screen(X, y, task="regression"))
    for name in X.columns[:-1]:
        x = X[name].to_numpy()
        ok = ~np.isnan(x)
        ref = stats.spearmanr(x[ok], y[ok])
        row = table.loc[name]
        assert row.statistic == pytest.approx(ref.statistic)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-9)
