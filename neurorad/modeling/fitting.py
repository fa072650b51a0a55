"""Fitting all models on one outer split: nested tuning, in-fold preprocessing, predictions.

The preprocessor (imputation, filters, scaling, selection) is fitted once per training set --
each inner training fold and the outer training fold -- and shared by all models, because it
does not depend on the model. Hyper-parameters are chosen by the inner cross-validation on the
outer training set only (stratified, and grouped by patient when the outer split is).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from neurorad.modeling.metrics import weighted_auc
from neurorad.modeling.models import get_model
from neurorad.modeling.pipelines import (ModelSpec, PreprocessOptions, make_preprocessor,
                                         selected_input_columns, with_params)
from neurorad.modeling.splits import Split, feasible_inner_folds, kfold_splits


@dataclass
class FoldFit:
    """What one model produced on one outer split."""

    model: str
    repeat: int
    fold: int
    test: np.ndarray                   # sample indices of the test set
    proba: np.ndarray | None = None    # (n_test, n_classes), classification
    predicted: np.ndarray | None = None  # labels (classification) or values (regression)
    train_mean: float = np.nan         # regression: mean training target (null prediction)
    params: dict = field(default_factory=dict)
    features: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    importance: np.ndarray = field(default_factory=lambda: np.array([]))
    convergence_warnings: int = 0


def inner_score(estimator, X, y, task: str, classes) -> float:
    """Inner-CV criterion: ROC AUC (binary), balanced accuracy (multi-class), -MSE."""
    if task == "regression":
        return -float(np.mean((estimator.predict(X) - y) ** 2))
    if len(classes) == 2:
        if hasattr(estimator, "decision_function"):
            score = estimator.decision_function(X)
        else:
            score = estimator.predict_proba(X)[:, list(estimator.classes_).index(classes[1])]
        return float(weighted_auc(y == classes[1], np.ravel(score), np.ones((1, len(y))))[0])
    pred = estimator.predict(X)
    recalls = [np.mean(pred[y == c] == c) for c in classes if np.any(y == c)]
    return float(np.mean(recalls))


def tune(specs, X, y, groups, *, task, classes, prep_options, inner_folds, seed, grouped):
    """Pick each model's hyper-parameters by inner CV; returns ``{model: params}``.

    Ties go to the first grid entry (grids are ordered from the most regularised). When the
    training set cannot be split (a class with one patient), the first grid entry is used.
    """
    tunable = [s for s in specs if len(s.grid) > 1]
    best = {s.name: (s.grid[0] if s.grid else {}) for s in specs}
    units = groups if grouped else np.arange(len(y))
    k = feasible_inner_folds(y, units, task, inner_folds)
    if not tunable or k < 2:
        return best
    inner = kfold_splits(y, units, task=task, n_folds=k, repeats=1, seed=seed, grouped=grouped)
    scores = {s.name: np.zeros(len(s.grid)) for s in tunable}
    for split in inner:
        prep = make_preprocessor(task, prep_options)
        fit_x = prep.fit_transform(X[split.train], y[split.train])
        val_x = prep.transform(X[split.test])
        for spec in tunable:
            for i, params in enumerate(spec.grid):
                est = with_params(spec, {**params, **spec.tuning_params})
                est.fit(fit_x, y[split.train])
                value = inner_score(est, val_x, y[split.test], task, classes)
                scores[spec.name][i] += value if np.isfinite(value) else 0.0
    for spec in tunable:
        best[spec.name] = spec.grid[int(np.argmax(scores[spec.name]))]
    return best


def _importance(name: str, estimator) -> np.ndarray | None:
    """Per-feature importance, or None when the model uses every feature it gets."""
    inner = getattr(estimator, "regressor_", estimator)
    if hasattr(inner, "estimators_") and not hasattr(inner, "feature_importances_"):
        coefs = np.vstack([e.coef_ for e in inner.estimators_])   # one-vs-rest logistic
        return np.abs(coefs).max(axis=0)
    if hasattr(inner, "coef_"):
        return np.abs(np.atleast_2d(inner.coef_)).max(axis=0)
    if hasattr(inner, "feature_importances_"):
        return inner.feature_importances_
    return None


def fit_split(X, y, groups, split: Split, specs: list[ModelSpec], *, task, classes,
              prep_options: PreprocessOptions, inner_folds: int, seed: int, grouped: bool,
              n_features: int) -> list[FoldFit]:
    """Tune, fit and predict every model on one outer split."""
    train, test = split.train, split.test
    split_seed = int(np.random.SeedSequence([seed, split.repeat, split.fold]).generate_state(1)[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        best = tune(specs, X[train], y[train], groups[train], task=task, classes=classes,
                    prep_options=prep_options, inner_folds=inner_folds, seed=split_seed,
                    grouped=grouped)
        prep = make_preprocessor(task, prep_options)
        fit_x, test_x = prep.fit_transform(X[train], y[train]), prep.transform(X[test])
        columns = selected_input_columns(prep, n_features)
        results = []
        for spec in specs:
            est = with_params(spec, best[spec.name])
            if "random_state" in est.get_params():
                est.set_params(random_state=split_seed)
            est.fit(fit_x, y[train])
            result = FoldFit(spec.name, split.repeat, split.fold, test, params=best[spec.name])
            if task == "classification":
                proba = np.zeros((len(test), len(classes)))
                raw = est.predict_proba(test_x)
                for j, c in enumerate(est.classes_):
                    proba[:, list(classes).index(c)] = raw[:, j]
                result.proba, result.predicted = proba, est.predict(test_x)
            else:
                result.predicted = est.predict(test_x)
                result.train_mean = float(np.mean(y[train]))
            importance = _importance(spec.name, est)
            if spec.name == "null":
                result.features = np.array([], dtype=int)
            elif importance is None:
                result.features, result.importance = columns, np.full(len(columns), np.nan)
            else:
                keep = importance > 0 if get_model(spec.name, task).sparse else \
                    np.ones(len(columns), bool)
                result.features, result.importance = columns[keep], importance[keep]
            results.append(result)
    n_conv = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if results:
        results[0].convergence_warnings = n_conv
    return results
