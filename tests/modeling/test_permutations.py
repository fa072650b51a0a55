"""The shared-partition permutation test equals the straightforward procedure.

``permutation_splits="shared"`` fits the label-free preprocessing once per training set and
reuses it for the observed and every permuted label vector. These tests compare it with the
plain procedure -- :func:`fit_split` (preprocessor refitted for every label vector) on the
same fixed splits -- and check that the observed run of ``evaluate`` is unchanged.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurorad.modeling import evaluate
from neurorad.modeling.fitting import fit_split, fit_split_labels
from neurorad.modeling.models import make_model
from neurorad.modeling.pipelines import PreprocessOptions
from neurorad.modeling.scoring import headline_statistic, to_units
from neurorad.modeling.splits import outer_splits, permuted_labels



def _assert_same_fits(a, b):
    assert [f.model for f in a] == [f.model for f in b]
    for fa, fb in zip(a, b):
        assert fa.params == fb.params
        np.testing.assert_array_equal(fa.test, fb.test)
        np.testing.assert_array_equal(fa.predicted, fb.predicted)
        if fa.proba is not None:
            np.testing.assert_allclose(fa.proba, fb.proba, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(fa.features, fb.features)
        np.testing.assert_allclose(fa.importance, fb.importance, rtol=0, atol=1e-12)


def _with_nan_and_batch(X, seed):
    X = np.asarray(X, dtype=float).copy()
    rng = np.random.default_rng(seed)
    X[rng.random(X.shape) < 0.05] = np.nan
    batch = rng.integers(0, 3, size=len(X)).astype(float)
    return np.column_stack([X, batch])       # evaluate appends the batch code last


@pytest.mark.parametrize("top_k, harmonise", [(None, False), (3, True)])
def test_shared_preprocessing_gives_the_fits_of_fit_split(top_k, harmonise, make_clustered):
    X, y, groups = make_clustered(n_patients=15, rois_per_patient=2, n_features=8,
                                  signal=0.7, seed=31)
    X = _with_nan_and_batch(X, 1) if harmonise else np.asarray(X, dtype=float)
    rng = np.random.default_rng(5)
    labels = [y] + [permuted_labels(y, groups, rng) for _ in range(3)]
    specs = [make_model(m, "classification", 2, 0, fast=True, rf_trees=10)
             for m in ("null", "lasso_lr", "svm", "rf")]
    prep = PreprocessOptions(0.0, 0.9, top_k, harmonise=harmonise)
    kw = dict(task="classification", classes=np.unique(y), prep_options=prep, inner_folds=3,
              seed=9, grouped=True, n_features=8)
    split = outer_splits(y, groups, task="classification", outer_folds=3, repeats=1,
                         seed=2)[1]
    shared = fit_split_labels(X, labels, groups, split, specs, **kw)
    assert len(shared) == len(labels)
    for y_i, fits in zip(labels, shared):
        _assert_same_fits(fits, fit_split(X, y_i, groups, split, specs, strata=y, **kw))
    # the observed labels' fits are those of the plain procedure stratified on themselves
    _assert_same_fits(shared[0], fit_split(X, y, groups, split, specs, **kw))


def test_shared_preprocessing_regression(make_regression):
    X, y = make_regression(n=24, n_features=6, seed=4)
    X, groups = X.to_numpy(), np.arange(24)
    rng = np.random.default_rng(1)
    labels = [y, rng.permutation(y)]
    specs = [make_model(m, "regression", 0, 0, fast=True, rf_trees=10)
             for m in ("null", "lasso", "svr", "rf")]
    kw = dict(task="regression", classes=None, prep_options=PreprocessOptions(top_k=4),
              inner_folds=3, seed=3, grouped=True, n_features=6)
    split = outer_splits(y, groups, task="regression", scheme="shuffle", repeats=1,
                         seed=0)[0]
    shared = fit_split_labels(X, labels, groups, split, specs, **kw)
    for y_i, fits in zip(labels, shared):
        _assert_same_fits(fits, fit_split(X, y_i, groups, split, specs, strata=y, **kw))


def _naive_null(X, y, groups, *, models, seed, outer_folds, n_permutations, fast=True,
                rf_trees=None, top_k=None):
    """The straightforward shared-partition permutation test: for each permuted label vector,
    ``fit_split`` (preprocessor refitted) on the observed run's first-repeat splits."""
    y, groups = np.asarray(y), np.asarray(groups)
    classes = np.unique(y)
    specs = [make_model(m, "classification", len(classes), seed, fast, rf_trees)
             for m in models]
    splits = [s for s in outer_splits(y, groups, task="classification",
                                      outer_folds=outer_folds, repeats=1, seed=seed)]
    rng = np.random.default_rng([seed, 15485863])
    codes = np.unique(groups, return_inverse=True)[1]
    null = {m: [] for m in models}
    for _ in range(n_permutations):
        y_perm = permuted_labels(y, groups, rng)
        fits = [f for s in splits for f in fit_split(
            np.asarray(X, float), y_perm, groups, s, specs, task="classification",
            classes=classes, prep_options=PreprocessOptions(top_k=top_k), inner_folds=3,
            seed=seed, grouped=True, n_features=X.shape[1], strata=y)]
        units = [to_units(f, y_perm, codes, "classification", classes, "roi") for f in fits]
        for m, v in headline_statistic(units, "classification", classes, classes[1]).items():
            null[m].append(v)
    return {m: np.asarray(v) for m, v in null.items()}


@pytest.mark.parametrize("top_k, n_jobs", [(None, 2), (3, 1)])
def test_shared_permutation_test_equals_naive_loop(top_k, n_jobs, make_clustered):
    X, y, groups = make_clustered(n_patients=18, rois_per_patient=2, n_features=7,
                                  signal=0.6, seed=41)
    models = ("null", "lasso_lr", "svm", "rf")
    res = evaluate(X, y, groups=groups, models=models, outer_folds=3, repeats=2, seed=6,
                   fast=True, rf_trees=10, n_bootstrap=20, n_permutations=5,
                   permutation_repeats=1, top_k=top_k, n_jobs=n_jobs)
    null = _naive_null(X, y, groups, models=models, seed=6, outer_folds=3, n_permutations=5,
                       rf_trees=10, top_k=top_k)
    perm = res.tests.query("versus == 'permutation'").set_index("model")
    for m in models:
        observed = perm.loc[m, "estimate"]
        assert perm.loc[m, "statistic"] == pytest.approx(np.nanmean(null[m]), abs=1e-12)
        assert perm.loc[m, "se"] == pytest.approx(np.nanstd(null[m]), abs=1e-12)
        assert perm.loc[m, "p_value"] == pytest.approx(
            (1 + np.sum(null[m] >= observed - 1e-12)) / 6, abs=1e-12)
    assert perm.loc["null", "statistic"] == 0.5          # a constant predictor: AUC 0.5
    assert "shared splits" in perm.loc["lasso_lr", "method"]


def _observed_tables(res):
    return {name: getattr(res, name).reset_index(drop=True)
            for name in ("metrics", "predictions", "selected_features", "fold_metrics",
                         "hyperparameters")} | {
        "tests": res.tests.query("versus != 'permutation'").reset_index(drop=True)}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_observed_run_is_the_same_with_and_without_permutations(n_jobs, make_clustered):
    X, y, groups = make_clustered(n_patients=15, rois_per_patient=2, n_features=6,
                                  signal=0.8, seed=8)
    kw = dict(groups=groups, models=("null", "lasso_lr", "rf"), outer_folds=3, repeats=2,
              seed=3, fast=True, rf_trees=10, n_bootstrap=30, n_jobs=n_jobs)
    plain = _observed_tables(evaluate(X, y, **kw))
    for design in ("shared", "resplit"):
        with_perm = _observed_tables(evaluate(X, y, n_permutations=3, permutation_repeats=1,
                                              permutation_splits=design, **kw))
        for name, table in plain.items():
            pd.testing.assert_frame_equal(table, with_perm[name], check_exact=True,
                                          obj=f"{design}: {name}")


def test_observed_metrics_match_the_code_before_sharing(make_clustered):
    # Expected values: printed by this same call with the code before the shared-partition
    # permutation test (main at 58e6ea9, where fit_split was the only path), full precision.
    X, y, groups = make_clustered(n_patients=18, rois_per_patient=2, n_features=12,
                                  signal=0.8, seed=21)
    X.iloc[3, 2] = np.nan
    batch = np.resize(["s1", "s2", "s3"], len(y))
    expected = {
        "plain": {"lasso_lr": 0.5509259259259259, "svm": 0.5532407407407406,
                  "rf": 0.6666666666666666},
        "topk": {"lasso_lr": 0.5046296296296297, "svm": 0.4444444444444444,
                 "rf": 0.539351851851852},
        "batch": {"lasso_lr": 0.5509259259259259, "svm": 0.5416666666666666,
                  "rf": 0.4791666666666667},
    }
    for name, extra in {"plain": {}, "topk": dict(top_k=4), "batch": dict(batch=batch)}.items():
        for n_permutations in (0, 2):
            res = evaluate(X, y, groups=groups, outer_folds=3, repeats=2, seed=7,
                           n_bootstrap=30, rf_trees=15, n_permutations=n_permutations,
                           **extra)
            auc = res.metrics.query("metric == 'roc_auc' and `class`.isna()",
                                    engine="python").set_index("model").estimate
            for model, value in expected[name].items():
                assert auc[model] == pytest.approx(value, abs=1e-12), (name, model)


def test_one_class_permuted_training_set_is_fitted_as_the_null_model(make_clustered):
    # On partitions stratified on the observed labels a permuted vector can leave a training
    # set with one class; the models then predict the training prior (AUC 0.5 on the fold).
    X, y, groups = make_clustered(n_patients=12, rois_per_patient=1, n_features=5, seed=2)
    split = outer_splits(y, groups, task="classification", outer_folds=3, repeats=1,
                         seed=0)[0]
    y_bad = np.where(np.isin(np.arange(len(y)), split.train), y[0], y)
    y_bad[split.test] = 1 - y[0]
    specs = [make_model(m, "classification", 2, 0, fast=True, rf_trees=5)
             for m in ("null", "lasso_lr", "svm", "rf")]
    kw = dict(task="classification", classes=np.array([0, 1]),
              prep_options=PreprocessOptions(), inner_folds=3, seed=0, grouped=True,
              n_features=5)
    observed, degenerate = fit_split_labels(np.asarray(X), [y, y_bad], groups, split, specs,
                                            **kw)
    for f in degenerate:
        assert np.all(f.predicted == y[0]) and np.all(f.proba[:, y[0]] == 1.0)
    _assert_same_fits(degenerate, fit_split(np.asarray(X), y_bad, groups, split, specs,
                                            strata=y, **kw))
    assert any(len(f.features) for f in observed)


def test_permutation_splits_option_is_checked(make_clustered):
    X, y, groups = make_clustered(n_patients=10, seed=1)
    with pytest.raises(ValueError, match="permutation_splits"):
        evaluate(X, y, groups=groups, permutation_splits="fixed")


# -- the RBF SVM on shared squared distances (same fits as libsvm's own kernel) ----------

def test_squared_distances_match_scipy():
    from scipy.spatial.distance import cdist

    from neurorad.modeling.pipelines import squared_distances

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(30, 50)), rng.normal(size=(7, 50))
    own, other = squared_distances(a, b)
    np.testing.assert_allclose(own, cdist(a, a, "sqeuclidean"), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(other, cdist(b, a, "sqeuclidean"), rtol=1e-12, atol=1e-10)
    assert np.all(np.diag(own) == 0.0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_svm_on_shared_distances_equals_libsvm_kernel(n_classes):
    from neurorad.modeling.pipelines import CalibratedSVC, squared_distances

    rng = np.random.default_rng(n_classes)
    y = np.resize(np.arange(n_classes), 45)
    X = rng.normal(size=(45, 20)) + 0.7 * y[:, None] * (np.arange(20) < 3)
    test = rng.normal(size=(12, 20))
    own, other = squared_distances(X, test)
    for C in (0.1, 1.0, 10.0):
        plain = CalibratedSVC(C=C, random_state=4).fit(X, y)
        shared = CalibratedSVC(C=C, random_state=4).fit(X, y, sq_distances=own)
        np.testing.assert_allclose(shared.decision_function(test, sq_distances=other),
                                   plain.decision_function(test), rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.array(shared.sigmoids_), np.array(plain.sigmoids_),
                                   rtol=1e-9)
        np.testing.assert_allclose(shared.predict_proba(test, sq_distances=other),
                                   plain.predict_proba(test), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(shared.predict(test, sq_distances=other),
                                      plain.predict(test))


def test_evaluate_is_the_same_without_the_shared_distances(make_clustered, monkeypatch):
    # The SVM's shared squared distances against libsvm computing the kernel itself:
    # same hyper-parameters, predictions, metrics and permutation p-values.
    from neurorad.modeling import fitting

    X, y, groups = make_clustered(n_patients=16, rois_per_patient=2, n_features=9,
                                  signal=0.6, seed=17)
    kw = dict(groups=groups, models=("null", "svm"), outer_folds=3, repeats=2, seed=5,
              n_bootstrap=30, n_permutations=3, permutation_repeats=1)
    shared = evaluate(X, y, **kw)
    monkeypatch.setattr(fitting._Design, "extra", lambda self, estimator: ({}, {}))
    plain = evaluate(X, y, **kw)
    assert list(shared.hyperparameters.params) == list(plain.hyperparameters.params)
    pd.testing.assert_frame_equal(shared.predictions, plain.predictions, check_exact=False,
                                  rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(shared.metrics, plain.metrics, check_exact=False, rtol=0,
                                  atol=1e-12)
    pd.testing.assert_frame_equal(shared.tests, plain.tests, check_exact=False, rtol=0,
                                  atol=1e-12)
