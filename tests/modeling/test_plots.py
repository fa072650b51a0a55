"""Figures: curve computations against scikit-learn, and every plot draws what it says."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve  # noqa: E402

from neurorad import plots  # noqa: E402
from neurorad.modeling import embed, embedding_separation, evaluate, univariate_screen  # noqa


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 6)), columns=[f"f{i}" for i in range(6)])
    y = np.resize([0, 1], 40)
    X["f0"] += 1.2 * y
    return evaluate(X, y, models=("null", "lasso_lr"), repeats=2, seed=0, fast=True,
                    n_bootstrap=50)


def test_roc_and_pr_curves_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 30).astype(bool)
    score = np.round(rng.uniform(size=30) + 0.5 * y, 1)
    roc = plots.fold_curves(y, score, np.ones((1, 30)), "roc")[0]
    fpr, tpr, _ = roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(roc, np.interp(plots.GRID, fpr, tpr))
    pr = plots.fold_curves(y, score, np.ones((1, 30)), "pr")[0]
    precision, recall, _ = precision_recall_curve(y, score)
    expected = [precision[recall >= r].max() for r in plots.GRID]
    np.testing.assert_allclose(pr, expected)


def test_confusion_and_calibration_tables(result):
    units = result.unit_predictions.query("model == 'lasso_lr'")
    table = plots.confusion_counts(result, "lasso_lr")
    np.testing.assert_allclose(table.to_numpy(),
                               confusion_matrix(units.y_true, units.y_pred) / 2)
    cal = plots.calibration_table(result, "lasso_lr", n_bins=5)
    observed, predicted = calibration_curve(units.y_true, units.p_1, n_bins=5)
    np.testing.assert_allclose(cal["observed"], observed)
    np.testing.assert_allclose(cal["predicted"], predicted)


def test_every_plot_draws(result):
    fig, axes = plt.subplots(2, 4, figsize=(16, 8))
    ax = plots.plot_roc(result, ax=axes[0, 0])
    assert len(ax.get_lines()) == 3                      # two models + diagonal
    assert "lasso_lr" in ax.get_legend().get_texts()[1].get_text()
    plots.plot_pr(result, ax=axes[0, 1])
    ax = plots.plot_confusion(result, "lasso_lr", ax=axes[0, 2])
    assert len(ax.texts) == 4
    plots.plot_calibration(result, ax=axes[0, 3])
    X = pd.DataFrame(np.random.default_rng(2).normal(size=(40, 5)))
    y = np.resize([0, 1], 40)
    X[0] += 2 * y
    screen = univariate_screen(X, y)
    ax = plots.plot_volcano(screen, ax=axes[1, 0])
    assert len(ax.collections) == 2
    ax = plots.plot_feature_ranking(result, "lasso_lr", ax=axes[1, 1])
    freq = result.selected_features.query("model == 'lasso_lr'")["feature"].value_counts() / 10
    heights = sorted((p.get_width() for p in ax.patches), reverse=True)
    np.testing.assert_allclose(heights, freq.to_numpy())
    coords = embed(X)
    sep = embedding_separation(coords, y, n_permutations=19)
    ax = plots.plot_embedding(coords, y, separation=sep, ax=axes[1, 2])
    assert "p = " in ax.get_title()
    stacked = pd.concat([result.metrics.assign(level=lv) for lv in (8, 32)])
    ax = plots.plot_performance_vs_discretisation(stacked, ax=axes[1, 3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "32"]
    plt.close(fig)
    grid = plots.plot_clustered_heatmap(X, labels=y)
    assert grid.data2d.shape == (40, 5)
    plt.close("all")
