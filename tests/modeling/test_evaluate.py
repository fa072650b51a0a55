"""evaluate(): planted signals, grouped vs leaky splits, reproducibility, errors, units."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurorad.modeling import evaluate, leakage_contrast

FAST = dict(fast=True, n_bootstrap=300)


def _row(result, model, metric, cls=None):
    m = result.metrics
    sel = (m["model"] == model) & (m["metric"] == metric)
    sel &= m["class"].isna() if cls is None else (m["class"] == cls)
    return m[sel].iloc[0]


def test_grouped_null_covers_chance_while_ungrouped_is_inflated(make_clustered):
    # Three null data sets; ROIs of a patient nearly identical. A 95% interval misses 0.5 in
    # about 1 of 20 cases, so among the 6 (data set, model) intervals at most one may miss.
    covered = []
    for seed in (11, 12, 13):
        X, y, groups = make_clustered(n_patients=20, rois_per_patient=3, n_features=6,
                                      signal=0.0, seed=seed)
        table, results = leakage_contrast(X, y, groups=groups, models=("null", "svm", "rf"),
                                          repeats=1, seed=0, **FAST)
        auc = table[table["metric"] == "roc_auc"].set_index(["split", "model"])
        for model in ("svm", "rf"):
            row = auc.loc[("grouped", model)]
            covered.append(row.ci_low <= 0.5 <= row.ci_high)
            leaky = auc.loc[("ungrouped", model)]
            # Near-duplicate ROIs of the test patient sit in the training set: memorised.
            assert leaky.estimate > 0.8 and leaky.ci_low > 0.5, (seed, model, leaky.to_dict())
        assert auc.loc[("grouped", "null"), "estimate"] == 0.5
    assert sum(covered) >= 5, covered
    # (the mean of the grouped estimates is checked on 30 data sets in test_chance.py)


def test_planted_signal_is_recovered(make_clustered):
    X, y, groups = make_clustered(n_patients=30, rois_per_patient=2, n_features=30,
                                  signal=2.0, roi_noise=0.5, seed=3)
    res = evaluate(X, y, groups=groups, models=("null", "lasso_lr"), repeats=2, seed=1, **FAST)
    auc = _row(res, "lasso_lr", "roc_auc")
    assert auc.estimate > 0.85 and auc.ci_low > 0.6
    assert _row(res, "lasso_lr", "bacc").estimate > 0.75
    test = res.tests[(res.tests["model"] == "lasso_lr") & (res.tests["versus"] == "null")]
    assert test["p_value"].iloc[0] < 1e-3
    # the planted features are the ones selected most often
    counts = res.selected_features.query("model == 'lasso_lr'")["feature"].value_counts()
    assert set(counts.index[:2]) == {"f0", "f1"}
    # every fold selected f0 (10 folds: 2 repeats x 5)
    assert counts["f0"] == 10


def test_seed_makes_results_reproducible(make_clustered):
    X, y, groups = make_clustered(n_patients=20, rois_per_patient=2, signal=1.0, seed=5)
    kw = dict(groups=groups, models=("null", "lasso_lr", "rf"), repeats=1, **FAST)
    a = evaluate(X, y, seed=4, **kw)
    b = evaluate(X, y, seed=4, **kw)
    c = evaluate(X, y, seed=5, **kw)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    assert not a.predictions["p_1"].equals(c.predictions["p_1"])


def test_regression_planted_and_null(make_regression):
    X, y = make_regression(n=60, signal=1.0, seed=2)
    res = evaluate(X, y, task="regression", models=("null", "lasso"), repeats=2, seed=0,
                   **FAST)
    assert _row(res, "lasso", "spearman_rho").estimate > 0.6
    assert _row(res, "lasso", "r2").estimate > 0.3
    null_rho = _row(res, "null", "spearman_rho")
    assert null_rho.estimate == 0.0 and _row(res, "null", "r2").estimate == pytest.approx(0.0)
    # mae of the null model by hand: |y - training mean| per fold, averaged over folds
    preds = res.predictions.query("model == 'null'")
    by_hand = preds.assign(err=(preds.y_true - preds.y_pred).abs()).groupby(
        ["repeat", "fold"])["err"].mean().mean()
    assert _row(res, "null", "mae").estimate == pytest.approx(by_hand)


def test_shuffle_scheme_uses_30_percent_test_patients(make_regression):
    X, y = make_regression(n=40, seed=1)
    res = evaluate(X, y, task="regression", models=("null", "lasso"), scheme="shuffle",
                   repeats=5, seed=0, n_bootstrap=100)
    sizes = res.predictions.query("model == 'null'").groupby("repeat").size()
    assert (sizes == 12).all() and len(sizes) == 5


def test_multiclass_one_vs_rest_rows(make_clustered):
    X, y, groups = make_clustered(n_patients=30, rois_per_patient=1, n_features=8,
                                  n_classes=3, signal=0.0, seed=2)
    # plant class 2 only: shift f0 for class-2 samples
    X = X.copy()
    X.loc[y == 2, "f0"] += 4.0
    res = evaluate(X, y, models=("null", "lasso_lr"), repeats=1, seed=0, **FAST)
    per_class = res.metrics[res.metrics["class"].notna() & (res.metrics["metric"] == "roc_auc")
                            & (res.metrics["model"] == "lasso_lr")].set_index("class")
    assert set(per_class.index) == {0, 1, 2}
    assert per_class.loc[2, "estimate"] > 0.9
    assert per_class.loc[2, "estimate"] > per_class.loc[0, "estimate"]
    macro = _row(res, "lasso_lr", "roc_auc").estimate
    by_hand = res.fold_metrics.query("model == 'lasso_lr' and metric == 'roc_auc'").dropna(
        subset=["class"]).groupby(["repeat", "fold"])["value"].mean().mean()
    assert macro == pytest.approx(by_hand)


def test_patient_unit_aggregates_by_majority_vote(make_clustered):
    X, y, groups = make_clustered(n_patients=20, rois_per_patient=3, signal=1.5, seed=8)
    res = evaluate(X, y, groups=groups, models=("null", "lasso_lr"), repeats=1, seed=0,
                   unit="patient", **FAST)
    units = res.unit_predictions.query("model == 'lasso_lr'")
    assert len(units) == 20 and units["group"].is_unique
    rois = res.predictions.query("model == 'lasso_lr'")
    votes = rois.groupby("group")["y_pred"].mean()
    mean_p = rois.groupby("group")["p_1"].mean()
    for g, row in units.set_index("group").iterrows():
        assert row.p_1 == pytest.approx(mean_p[g])
        if votes[g] != 0.5:
            assert row.y_pred == int(votes[g] > 0.5)


@pytest.mark.parametrize("case, message", [
    ("few_samples", "patients .* but outer_folds=5"),
    ("small_class", "classes with fewer patients than outer_folds=5"),
    ("constant", "target is constant"),
    ("non_numeric", "non-numeric feature columns: site"),
    ("nan_column", "NaN in every sample: f1"),
    ("mixed_patient", "patients whose samples have different targets: P0, P1"),
])
def test_clear_errors(case, message):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(20, 3)), columns=["f0", "f1", "f2"])
    y = np.resize([0, 1], 20)
    groups = np.repeat([f"P{i}" for i in range(10)], 2)
    kw = {}
    if case == "few_samples":
        X, y, groups = X.iloc[:4], y[:4], groups[:4]
    elif case == "small_class":
        y = np.zeros(20, int)
        y[:3] = 1
        groups = None
    elif case == "constant":
        y = np.ones(20)
    elif case == "non_numeric":
        X["site"] = "A"
    elif case == "nan_column":
        X["f1"] = np.nan
    elif case == "mixed_patient":
        kw["unit"] = "patient"
    with pytest.raises(ValueError, match=message):
        evaluate(X, y, groups=groups, models=("null",), repeats=1, source="feat.parquet",
                 **FAST, **kw)


def test_error_names_the_source():
    X = pd.DataFrame({"f0": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="^feat.parquet: "):
        evaluate(X, [1, 1, 1, 1], models=("null",), source="feat.parquet")


def test_string_labels_positive_class_and_parallel_equals_serial(make_clustered):
    X, y, groups = make_clustered(n_patients=20, rois_per_patient=2, signal=2.0, seed=9)
    labels = np.where(y == 1, "mosaic", "germline")
    kw = dict(groups=groups, models=("null", "lasso_lr"), repeats=1, seed=0, **FAST)
    serial = evaluate(X, labels, **kw)
    assert serial.settings["positive_class"] == "mosaic"       # the larger label
    assert {"p_germline", "p_mosaic"} <= set(serial.predictions.columns)
    assert _row(serial, "lasso_lr", "roc_auc").estimate > 0.8
    flipped = evaluate(X, labels, positive_class="germline", **kw)
    # sensitivity for one positive class is specificity for the other
    assert _row(flipped, "lasso_lr", "sens").estimate == pytest.approx(
        _row(serial, "lasso_lr", "spec").estimate)
    parallel = evaluate(X, labels, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(serial.metrics, parallel.metrics)


def test_regression_tests_table_has_columns_and_permutation(make_regression):
    X, y = make_regression(n=30, signal=1.5, seed=4)
    res = evaluate(X, y, task="regression", models=("lasso",), outer_folds=3, repeats=1,
                   seed=0, n_bootstrap=50, fast=True, n_permutations=9)
    perm = res.tests.query("versus == 'permutation'").iloc[0]
    assert perm.metric == "spearman_rho" and perm.p_value == pytest.approx(0.1)
    empty = evaluate(X, y, task="regression", models=("null",), outer_folds=3, repeats=1,
                     n_bootstrap=10).tests
    assert list(empty.columns)[:4] == ["model", "versus", "class", "metric"] and empty.empty


def test_fast_keeps_explicit_repeats_and_defaults_to_three(make_regression):
    # issue 5: fast=True used to cut the PET study's random splits silently to 3 / 30.
    X, y = make_regression(n=30, n_features=4, seed=4)
    explicit = evaluate(X, y, task="regression", models=("null",), scheme="shuffle",
                        repeats=5, fast=True, n_bootstrap=20)
    assert sorted(explicit.predictions["repeat"].unique()) == [0, 1, 2, 3, 4]
    assert explicit.settings["repeats"] == 5
    many = evaluate(X, y, task="regression", models=("null",), scheme="shuffle",
                    repeats=35, fast=True, n_bootstrap=20)
    assert many.predictions["repeat"].nunique() == 35
    default = evaluate(X, y, task="regression", models=("null",), outer_folds=3, fast=True,
                       n_bootstrap=20)
    assert default.predictions["repeat"].nunique() == 3


def test_batched_permutations_equal_one_evaluation_per_permutation(make_clustered):
    # permutation_splits="resplit": the permutation test fits all permutations' splits in one batch (in parallel here);
    # the straightforward procedure -- one complete evaluation per permuted label vector,
    # serially -- must give the same permuted statistics, hence the same p-value.
    from neurorad.modeling.splits import permuted_labels

    X, y, groups = make_clustered(n_patients=16, rois_per_patient=3, n_features=6,
                                  signal=1.0, seed=11)
    kw = dict(groups=groups, models=("null", "lasso_lr"), outer_folds=3, seed=4, **FAST)
    batched = evaluate(X, y, repeats=2, n_permutations=4, permutation_repeats=1, n_jobs=2,
                       permutation_splits="resplit", **kw)
    rng = np.random.default_rng([4, 15485863])          # the test's permutation stream
    by_hand = []
    for i in range(4):
        y_perm = permuted_labels(y, groups, rng)
        one = evaluate(X, y_perm, repeats=1, n_jobs=1, **{**kw, "seed": 4 + 1 + i})
        by_hand.append(_row(one, "lasso_lr", "roc_auc").estimate)
    perm = batched.tests.query("versus == 'permutation' and model == 'lasso_lr'").iloc[0]
    observed = _row(batched, "lasso_lr", "roc_auc").estimate
    assert perm.statistic == pytest.approx(np.mean(by_hand), abs=1e-12)
    assert perm.se == pytest.approx(np.std(by_hand), abs=1e-12)
    assert perm.p_value == pytest.approx(
        (1 + sum(v >= observed - 1e-12 for v in by_hand)) / 5)


def test_fit_transform_equals_fit_then_transform():
    from neurorad.modeling.pipelines import PreprocessOptions, make_preprocessor

    rng = np.random.default_rng(12)
    X = rng.normal(size=(40, 30))
    X[:, 10:20] = X[:, :10] + 0.1 * rng.normal(size=(40, 10))     # correlated pairs
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, 25] = 2.0                                                # constant
    opts = PreprocessOptions(0.0, 0.9, None)
    fused = make_preprocessor("classification", opts)
    out = fused.fit_transform(X)
    plain = make_preprocessor("classification", opts).fit(X)
    np.testing.assert_array_equal(out, plain.transform(X))
    assert out.shape[1] < 29


@pytest.mark.parametrize("n", [3, 4, 5])
def test_tiny_regression_is_a_clear_error(n):
    """Issue 14, finding 11: not scikit-learn's 'Found array with 0 feature(s)'."""
    from neurorad.errors import InputError

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, 4)), rng.normal(size=n)
    smallest = n - -(-n // 2)  # n - ceil(n / 2)
    with pytest.raises(InputError, match=f"{n} patients .* smallest training set has "
                                         f"{smallest}, too few"):
        evaluate(X, y, task="regression", outer_folds=2, fast=True, n_bootstrap=20,
                 repeats=1)


def test_permutation_time_is_logged_when_asked(make_clustered, tmp_path, monkeypatch):
    import json

    X, y, groups = make_clustered(n_patients=12, rois_per_patient=2, n_features=4, seed=13)
    log = tmp_path / "timing.jsonl"
    monkeypatch.setenv("NEURORAD_TIMING_LOG", str(log))
    evaluate(X, y, groups=groups, models=("null",), outer_folds=3, repeats=1, n_bootstrap=10,
             n_permutations=3)
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["stage"] == "permutations" and record["n_permutations"] == 3
    assert record["wall_s"] >= 0 and record["driver_cpu_s"] >= 0
    monkeypatch.delenv("NEURORAD_TIMING_LOG")
    evaluate(X, y, groups=groups, models=("null",), outer_folds=3, repeats=1, n_bootstrap=10,
             n_permutations=3)
    assert len(log.read_text().splitlines()) == 1          # not logged without the variable
