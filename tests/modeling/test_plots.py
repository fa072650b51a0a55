"""Figures: curve computations against scikit-learn, and every plot draws what it says."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
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


def _level_rows(levels, models=("lasso_lr", "svm"), metric="roc_auc"):
    """Metric rows per (model, level) whose estimate encodes both: model k, level i ->
    0.6 + 0.01 i + 0.1 k, interval +- 0.05 (so each point can be told apart)."""
    rows = []
    for k, model in enumerate(models):
        for i, lv in enumerate(levels):
            est = 0.6 + 0.01 * i + 0.1 * k
            rows.append({"model": model, "metric": metric, "class": np.nan,
                         "discretisation": lv, "estimate": est, "ci_low": est - 0.05,
                         "ci_high": est + 0.05})
    return pd.DataFrame(rows)


def test_performance_vs_discretisation_orders_levels_by_method_then_number():
    shuffled = ["fbn128", "fbn16", "ep8", "fbn8", "fbn64", "fbs2p5"]
    table = _level_rows(shuffled)
    ax = plots.plot_performance_vs_discretisation(table)
    expected = ["ep8", "fbn8", "fbn16", "fbn64", "fbn128", "fbs2p5"]  # by hand
    assert [t.get_text() for t in ax.get_xticklabels()] == expected
    assert ax.get_xlabel() == "discretisation" and ax.get_ylabel() == "ROC AUC"
    assert len(ax.containers) == 2                           # one errorbar per model
    for k, container in enumerate(ax.containers):
        line, _, (whiskers,) = container
        x, y = (np.asarray(v, float) for v in line.get_data())
        # Each point sits at its level's tick (models offset by +-0.15) with its estimate.
        np.testing.assert_allclose(np.round(x), range(len(expected)))
        want = [0.6 + 0.01 * shuffled.index(lv) + 0.1 * k for lv in expected]
        np.testing.assert_allclose(y, want)
        np.testing.assert_allclose([seg[:, 1] for seg in whiskers.get_segments()],
                                   [[w - 0.05, w + 0.05] for w in want])
    chance = [ln for ln in ax.get_lines() if ln.get_label().startswith("chance")]
    assert len(chance) == 1 and set(chance[0].get_ydata()) == {0.5}
    plt.close("all")


def test_chance_line_follows_the_metric_or_the_caller():
    rho = _level_rows([8, 32, 128], metric="spearman_rho").drop(columns="discretisation")
    ax = plots.plot_performance_vs_discretisation(rho.assign(level=[8, 32, 128] * 2),
                                                  metric="spearman_rho")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "32", "128"]
    assert [set(ln.get_ydata()) for ln in ax.get_lines() if "chance" in ln.get_label()] == [{0}]
    bacc = _level_rows(["fbn8"], metric="bacc")
    ax = plots.plot_performance_vs_discretisation(bacc, metric="bacc")
    assert not [ln for ln in ax.get_lines() if "chance" in ln.get_label()]  # 1/K unknown
    ax = plots.plot_performance_vs_discretisation(bacc, metric="bacc", chance=0.25)
    assert [set(ln.get_ydata()) for ln in ax.get_lines() if "chance" in ln.get_label()] == [{0.25}]
    plt.close("all")


def _screen(seed, n=30, shift=2.0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(40, n)), columns=[f"f{i}" for i in range(n)])
    y = np.resize([0, 1], 40)
    X["f0"] += shift * y
    X["f1"] += shift * y
    return univariate_screen(X, y)


def test_volcano_facets_show_each_screen_with_its_discoveries():
    screens = {"variant_origin": _screen(3), "exon": _screen(4, shift=0.0)}
    stacked = pd.concat([s.assign(target=t) for t, s in screens.items()], ignore_index=True)
    axes = plots.plot_volcano(stacked, facet="target", fdr=0.05, label_top=2)
    assert len(axes) == 2
    for ax, (target, screen) in zip(axes, screens.items()):
        assert ax.get_title() == target
        assert (ax.get_xlabel(), ax.get_ylabel()) == (screen["effect_measure"].iloc[0],
                                                     "-log10 p")
        grey, red = ax.collections
        sig = screen["q_value"] <= 0.05
        assert (len(grey.get_offsets()), len(red.get_offsets())) == ((~sig).sum(), sig.sum())
        np.testing.assert_allclose(np.sort(red.get_offsets()[:, 1]),
                                   np.sort(-np.log10(screen.loc[sig, "p_value"])))
        assert red.get_label() == f"q <= 0.05 (BH): {sig.sum()}"
        assert sorted(t.get_text() for t in ax.texts) == \
            sorted(screen[sig].nsmallest(2, "p_value")["feature"])  # discoveries only
        low, high = ax.get_ylim()
        assert all(t.get_ha() == ("right" if t.xy[0] > 0 else "left") for t in ax.texts)
        label_y = sorted(t.xyann[1] for t in ax.texts)   # inwards, and never at one height
        assert all(b - a >= 0.07 * (high - low) - 1e-12 for a, b in zip(label_y, label_y[1:]))
    assert (screens["variant_origin"]["q_value"] <= 0.05).sum() >= 2  # the shifted features
    plt.close("all")


def test_embedding_panels_per_label_with_separation_titles():
    rng = np.random.default_rng(5)
    coords = pd.DataFrame(rng.normal(size=(24, 2)), columns=["dim1", "dim2"])
    labels = pd.DataFrame({"genotype": np.resize(["germline", "mosaic"], 24),
                           "exon": np.resize([1.0, 2.0, 3.0, np.nan], 24)})
    separation = pd.DataFrame({"label": ["genotype", "exon"], "silhouette": [0.1234, -0.02],
                               "null_mean": [0.01, 0.0], "p_value": [0.04, 0.5]})
    axes = plots.plot_embedding(coords, labels, separation=separation)
    assert [ax.get_title() for ax in axes] == [
        "genotype\nsilhouette 0.12 (null 0.01), p = 0.040",
        "exon\nsilhouette -0.02 (null 0.00), p = 0.500"]
    for ax in axes:
        assert sum(len(c.get_offsets()) for c in ax.collections) == 24
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("dim1", "dim2")
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == \
        ["1.0", "2.0", "3.0", "missing"]
    with pytest.raises(ValueError, match="2 panel"):
        plots.plot_embedding(coords, labels, ax=plt.subplots()[1])
    plt.close("all")


def test_embedding_classes_in_numeric_order_each_with_its_own_colour():
    coords = pd.DataFrame(np.random.default_rng(6).normal(size=(28, 2)), columns=["dim1", "dim2"])
    exons = np.resize(np.arange(1, 15), 28)                 # 14 integer classes
    ax = plots.plot_embedding(coords, exons, title="exon")
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [str(e) for e in range(1, 15)]
    colours = {tuple(np.round(h.get_color() if hasattr(h, "get_color") else h.get_facecolor()[0], 3))
               for h in legend.legend_handles}
    assert len(colours) == 14                               # tab10 would repeat 4 of them
    words = np.resize(["b", "a", "c"], 28)
    ax = plots.plot_embedding(coords, words, title="text classes")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    plt.close("all")


def test_grouped_vs_leaky_bars_whiskers_and_chance():
    metrics = pd.DataFrame({
        "model": ["null", "lasso_lr"] * 2, "split": ["grouped"] * 2 + ["leaky"] * 2,
        "metric": "roc_auc", "estimate": [0.5, 0.62, 0.51, 0.81],
        "ci_low": [0.4, 0.5, 0.45, 0.7], "ci_high": [0.6, 0.75, 0.6, 0.9]})
    ax = plots.plot_grouped_vs_leaky(metrics, "roc_auc", title="t")
    heights = [p.get_height() for p in ax.patches]
    assert heights == [0.5, 0.62, 0.51, 0.81]                 # grouped pair, then leaky
    assert [t.get_text() for t in ax.get_xticklabels()] == ["null", "lasso_lr"]
    whiskers = [c.lines[2][0] for c in ax.containers if isinstance(c, ErrorbarContainer)]
    lows_highs = [seg[:, 1].tolist() for w in whiskers for seg in w.get_segments()]
    np.testing.assert_allclose(lows_highs, np.column_stack([metrics.ci_low, metrics.ci_high]))
    assert [set(ln.get_ydata()) for ln in ax.get_lines() if "chance" in ln.get_label()] == [{0.5}]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "grouped by patient" in legend and "leaky (ROI split)" in legend
    ax = plots.plot_grouped_vs_leaky(metrics, "roc_auc", leaky_label="leaky (slice split)")
    assert "leaky (slice split)" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close("all")


def test_metric_over_splits_and_predicted_vs_observed():
    rho = pd.DataFrame({"model": ["lasso"] * 5 + ["rf"] * 5,
                        "spearman_rho": [0.1, 0.12, 0.3, -0.5, np.nan, 0.2, 0.21, 0.22, 0.9, 0.95]})
    ax = plots.plot_metric_over_splits(rho, published=0.6, published_ci=(0.4, 0.8))
    counts = [p.get_height() for p in ax.patches if p.get_height() > 0 and p.get_width() < 0.1]
    assert sum(counts) == 9                                   # the NaN split is not drawn
    vertical = {ln.get_label(): ln.get_xdata()[0] for ln in ax.get_lines()}
    assert vertical == {"published 0.6": 0.6, "chance (0)": 0.0}
    table = pd.DataFrame({"observed": [1.0, 2.0, 4.0], "predicted": [1.5, 1.0, 3.0]})
    ax = plots.plot_predicted_vs_observed(table, label="uptake index")
    identity = ax.get_lines()[0]
    assert identity.get_xydata().tolist() == [[1.0, 1.0], [4.0, 4.0]]
    assert ax.get_xlabel() == "observed uptake index"
    plt.close("all")
