"""Univariate screening (tests, BH q-values, effect sizes) and embedding separation nulls."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neurorad.modeling import embed, embedding_separation, univariate_screen


def test_mann_whitney_screen_matches_scipy_and_bh_by_hand():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    X = pd.DataFrame(rng.normal(size=(40, 6)), columns=[f"f{i}" for i in range(6)])
    X["f0"] += 1.5 * y
    table = univariate_screen(X, y).set_index("feature")
    u = stats.mannwhitneyu(X.f0[y == 1], X.f0[y == 0])
    assert table.loc["f0", "p_value"] == pytest.approx(u.pvalue)
    assert table.loc["f0", "effect_size"] == pytest.approx(2 * u.statistic / 400 - 1)
    assert table.loc["f0", "effect_size"] > 0.5 and table.loc["f0", "significant"]
    # Benjamini-Hochberg by hand: q_(i) = min_{j >= i} p_(j) m / j
    p = table["p_value"].sort_values().to_numpy()
    q = np.minimum.accumulate((p * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    np.testing.assert_allclose(table["q_value"].sort_values().to_numpy(), np.minimum(q, 1))


def test_kruskal_and_spearman():
    rng = np.random.default_rng(1)
    y3 = np.repeat([0, 1, 2], 10)
    X = pd.DataFrame({"a": rng.normal(size=30) + y3, "b": rng.normal(size=30)})
    kw = univariate_screen(X, y3).set_index("feature")
    h = stats.kruskal(*(X.a[y3 == k] for k in range(3)))
    assert kw.loc["a", "p_value"] == pytest.approx(h.pvalue)
    assert kw.loc["a", "effect_size"] == pytest.approx(h.statistic / 29)
    yc = rng.normal(size=30)
    sp = univariate_screen(X, yc, task="regression").set_index("feature")
    assert sp.loc["b", "effect_size"] == pytest.approx(stats.spearmanr(X.b, yc).statistic)


def test_rois_are_averaged_per_patient():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(12), 3)
    y = np.repeat(np.resize([0, 1], 12), 3)
    X = pd.DataFrame({"a": rng.normal(size=36)})
    table = univariate_screen(X, y, groups=groups)
    means = X.a.groupby(groups).mean()
    labels = pd.Series(y).groupby(groups).first()
    u = stats.mannwhitneyu(means[labels == 1], means[labels == 0])
    assert table.loc[0, "n"] == 12
    assert table.loc[0, "p_value"] == pytest.approx(u.pvalue)


def test_embedding_null_is_patient_level():
    # 15 patients x 4 near-identical ROIs; labels per patient, unrelated to the features.
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(15), 4)
    centre = rng.normal(size=(15, 8))
    X = pd.DataFrame(centre[groups] + 0.05 * rng.normal(size=(60, 8)))
    labels = np.repeat(rng.permutation(np.resize([0, 1], 15)), 4)
    coords = embed(X, "pca")
    assert list(coords.columns) == ["dim1", "dim2"]
    patient = embedding_separation(coords, labels, groups=groups, n_permutations=199)
    roi = embedding_separation(coords, labels, n_permutations=199)
    assert patient["p_value"] > 0.05          # correct null: nothing to see
    assert roi["p_value"] < patient["p_value"]  # ROI-level null is anti-conservative


def test_embedding_detects_planted_separation():
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1], 20)
    X = rng.normal(size=(40, 10))
    X[:, :3] += 2.5 * labels[:, None]
    coords = embed(X, "tsne", seed=0)
    res = embedding_separation(coords, labels, n_permutations=99)
    assert res["p_value"] == pytest.approx(0.01) and res["statistic"] > res["null_mean"]
