"""Fitting all models on one outer split: nested tuning, in-fold preprocessing, predictions.

The preprocessor (imputation, filters, scaling, selection) is fitted once per training set --
each inner training fold and the outer training fold -- and shared by all models, because it
does not depend on the model. Hyper-parameters are chosen by the inner cross-validation on the
outer training set only (stratified, and grouped by patient when the outer split is).

:func:`fit_split` is the straightforward procedure for one label vector.
:func:`fit_split_labels` does the same for several label vectors on one split (the observed
labels and their permutations, see :func:`neurorad.modeling.evaluate.permutation_test`): the
steps of the preprocessor that do not look at the labels are fitted once per training set and
shared by all label vectors, only the label-dependent ones (univariate ``top_k``) and the
models are refitted per label vector. Both give the same fits for the same label vector.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from neurorad.modeling.metrics import weighted_auc
from neurorad.modeling.models import get_model
from neurorad.modeling.pipelines import (ModelSpec, PreprocessOptions, make_label_step,
                                         CalibratedSVC, make_preprocessor,
                                         selected_input_columns, squared_distances,
                                         with_params)
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


def inner_score(estimator, X, y, task: str, classes, **extra) -> float:
    """Inner-CV criterion: ROC AUC (binary), balanced accuracy (multi-class), -MSE.
    ``extra``: passed to the estimator's prediction methods (``sq_distances``)."""
    if task == "regression":
        return -float(np.mean((estimator.predict(X, **extra) - y) ** 2))
    if len(classes) == 2:
        if hasattr(estimator, "decision_function"):
            score = estimator.decision_function(X, **extra)
        else:
            score = estimator.predict_proba(X, **extra)[
                :, list(estimator.classes_).index(classes[1])]
        return float(weighted_auc(y == classes[1], np.ravel(score), np.ones((1, len(y))))[0])
    pred = estimator.predict(X, **extra)
    recalls = [np.mean(pred[y == c] == c) for c in classes if np.any(y == c)]
    return float(np.mean(recalls))


def inner_splits(strata, groups, *, task, inner_folds, seed, grouped) -> list[Split]:
    """The inner (tuning) folds of a training set, stratified on ``strata``; [] when the
    training set cannot be split (a class with a single patient)."""
    units = groups if grouped else np.arange(len(strata))
    k = feasible_inner_folds(strata, units, task, inner_folds)
    if k < 2:
        return []
    return kfold_splits(strata, units, task=task, n_folds=k, repeats=1, seed=seed,
                        grouped=grouped)


def _one_class(y, task: str) -> bool:
    """A classification training set with a single class (possible only for a permuted
    label vector on partitions stratified on the observed labels)."""
    return task == "classification" and len(np.unique(y)) < 2


class _Design:
    """A preprocessed training matrix and its held-out rows (validation or test fold).

    The RBF SVM (:class:`~neurorad.modeling.pipelines.CalibratedSVC`) gets the squared
    distances of these rows to the training rows, computed on first use and then shared by
    every grid point, the calibration folds and every label vector that uses this design,
    instead of libsvm recomputing the distances in each fit."""

    def __init__(self, fit_x, held_x):
        self.fit_x, self.held_x = fit_x, held_x
        self._distances = None

    def extra(self, estimator) -> tuple[dict, dict]:
        """Extra keyword arguments of ``estimator``'s ``fit`` and of its prediction
        methods."""
        if not isinstance(estimator, CalibratedSVC):
            return {}, {}
        if self._distances is None:
            self._distances = squared_distances(self.fit_x, self.held_x)
        return {"sq_distances": self._distances[0]}, {"sq_distances": self._distances[1]}


def _add_grid_scores(scores, tunable, design: _Design, fit_y, val_y, task, classes) -> None:
    """Add each grid point's inner-CV score on one inner fold to ``scores`` (in place).

    A non-finite score (e.g. a validation fold with one class) and a training fold with one
    class (nothing to fit) add nothing."""
    if _one_class(fit_y, task):
        return
    for spec in tunable:
        for i, params in enumerate(spec.grid):
            est = with_params(spec, {**params, **spec.tuning_params})
            fit_extra, val_extra = design.extra(est)
            est.fit(design.fit_x, fit_y, **fit_extra)
            value = inner_score(est, design.held_x, val_y, task, classes, **val_extra)
            scores[spec.name][i] += value if np.isfinite(value) else 0.0


def _best_params(specs, scores) -> dict:
    return {s.name: (s.grid[int(np.argmax(scores[s.name]))] if s.name in scores else
                     (s.grid[0] if s.grid else {})) for s in specs}


def tune(specs, X, y, groups, *, task, classes, prep_options, inner_folds, seed, grouped,
         strata=None):
    """Pick each model's hyper-parameters by inner CV; returns ``{model: params}``.

    Ties go to the first grid entry (grids are ordered from the most regularised). When the
    training set cannot be split (a class with one patient), the first grid entry is used.
    ``strata`` (default ``y``): the labels the inner folds are stratified on.
    """
    tunable = [s for s in specs if len(s.grid) > 1]
    inner = inner_splits(y if strata is None else strata, groups, task=task,
                         inner_folds=inner_folds, seed=seed, grouped=grouped) \
        if tunable else []
    scores = {s.name: np.zeros(len(s.grid)) for s in tunable} if inner else {}
    for split in inner:
        prep = make_preprocessor(task, prep_options)
        fit_x = prep.fit_transform(X[split.train], y[split.train])
        val_x = prep.transform(X[split.test])
        _add_grid_scores(scores, tunable, _Design(fit_x, val_x), y[split.train], y[split.test],
                         task, classes)
    return _best_params(specs, scores)


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


def _fit_models(specs, best, split: Split, design: _Design, y_train, columns, *, task,
                classes, split_seed) -> list[FoldFit]:
    """Fit every model with its chosen parameters on a preprocessed training set; predict
    the preprocessed test set.

    A classification training set with a single class (only a permuted label vector on
    partitions stratified on the observed labels can produce one) cannot be fitted: every
    model then predicts that class with the training prior, as the null model does."""
    results = []
    for spec in specs:
        est = with_params(spec, best[spec.name])
        if "random_state" in est.get_params():
            est.set_params(random_state=split_seed)
        if _one_class(y_train, task):
            est = DummyClassifier(strategy="prior")
        fit_extra, test_extra = design.extra(est)
        fit_x, test_x = design.fit_x, design.held_x
        est.fit(fit_x, y_train, **fit_extra)
        result = FoldFit(spec.name, split.repeat, split.fold, split.test,
                         params=best[spec.name])
        if task == "classification":
            proba = np.zeros((len(split.test), len(classes)))
            raw = est.predict_proba(test_x, **test_extra)
            for j, c in enumerate(est.classes_):
                proba[:, list(classes).index(c)] = raw[:, j]
            result.proba, result.predicted = proba, est.predict(test_x, **test_extra)
        else:
            result.predicted = est.predict(test_x, **test_extra)
            result.train_mean = float(np.mean(y_train))
        importance = _importance(spec.name, est)
        if spec.name == "null" or isinstance(est, DummyClassifier):
            result.features = np.array([], dtype=int)
        elif importance is None:
            result.features, result.importance = columns, np.full(len(columns), np.nan)
        else:
            keep = importance > 0 if get_model(spec.name, task).sparse else \
                np.ones(len(columns), bool)
            result.features, result.importance = columns[keep], importance[keep]
        results.append(result)
    return results


def _split_seed(seed: int, split: Split) -> int:
    return int(np.random.SeedSequence([seed, split.repeat, split.fold]).generate_state(1)[0])


class _Caught:
    """Collect ConvergenceWarnings (counted) and re-emit every other warning."""

    def __enter__(self):
        self._context = warnings.catch_warnings(record=True)
        self.caught = self._context.__enter__()
        warnings.simplefilter("always", ConvergenceWarning)
        return self

    def __exit__(self, *exc):
        self._context.__exit__(*exc)
        self.n_convergence = sum(issubclass(w.category, ConvergenceWarning)
                                 for w in self.caught)
        for w in self.caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return False


def fit_split(X, y, groups, split: Split, specs: list[ModelSpec], *, task, classes,
              prep_options: PreprocessOptions, inner_folds: int, seed: int, grouped: bool,
              n_features: int, strata=None) -> list[FoldFit]:
    """Tune, fit and predict every model on one outer split.

    The straightforward procedure: the preprocessor is fitted on every inner and the outer
    training set for this label vector ``y``. ``strata`` (default ``y``): the labels the
    inner folds are stratified on (the observed labels when ``y`` is a permutation on shared
    partitions).
    """
    train, test = split.train, split.test
    split_seed = _split_seed(seed, split)
    with _Caught() as caught:
        best = tune(specs, X[train], y[train], groups[train], task=task, classes=classes,
                    prep_options=prep_options, inner_folds=inner_folds, seed=split_seed,
                    grouped=grouped, strata=None if strata is None else strata[train])
        prep = make_preprocessor(task, prep_options)
        fit_x, test_x = prep.fit_transform(X[train], y[train]), prep.transform(X[test])
        results = _fit_models(specs, best, split, _Design(fit_x, test_x), y[train],
                              selected_input_columns(prep, n_features), task=task,
                              classes=classes, split_seed=split_seed)
    if results:
        results[0].convergence_warnings = caught.n_convergence
    return results


class _SharedFold:
    """One training set's label-free preprocessing, fitted once: the transformed training
    and held-out rows, plus the label-dependent step (``top_k``) refitted per label vector."""

    def __init__(self, X_train, X_held_out, task, prep_options):
        self.prep = make_preprocessor(task, replace(prep_options, top_k=None))
        fit_x = self.prep.fit_transform(X_train)
        self.design = _Design(fit_x, self.prep.transform(X_held_out))
        self.task, self.options = task, prep_options

    def for_labels(self, y_train) -> tuple[_Design, Pipeline]:
        """The design (shared unless ``top_k`` selects per label vector) and the fitted
        preprocessor for one training label vector."""
        step = make_label_step(self.task, self.options)
        if step is None:
            return self.design, self.prep
        fit_x = step[1].fit_transform(self.design.fit_x, y_train)
        return (_Design(fit_x, step[1].transform(self.design.held_x)),
                Pipeline(self.prep.steps + [step]))


def fit_split_labels(X, labels, groups, split: Split, specs: list[ModelSpec], *, task,
                     classes, prep_options: PreprocessOptions, inner_folds: int, seed: int,
                     grouped: bool, n_features: int, strata=None) -> list[list[FoldFit]]:
    """:func:`fit_split` for several label vectors on the same split, sharing what does not
    depend on the labels.

    Parameters
    ----------
    labels : sequence of arrays (n_samples,) -- e.g. the observed labels and permutations
    strata : array or None -- labels the inner folds are stratified on (default:
        ``labels[0]``); the same inner folds serve every label vector
    (others as :func:`fit_split`)

    Returns
    -------
    list (one per label vector) of lists of :class:`FoldFit` (one per model); entry ``i``
    equals ``fit_split(X, labels[i], ..., strata=strata)``.

    Notes
    -----
    Imputation, variance filter, z-scoring, correlation filter and batch harmonisation do not
    look at the labels, so each is fitted once per training set (the outer one and each
    inner one) and its output reused for every label vector; the univariate ``top_k``
    selection and the models are fitted per label vector. Each label vector sees exactly the
    transformed matrices :func:`fit_split` would compute for it, so the fits are the same.
    The RBF SVM's squared distances (label-free too) are likewise computed once per
    training set and shared by its grid points, calibration folds and the label vectors
    (in :func:`fit_split` once per training set, shared by the grid points).
    """
    labels = [np.asarray(y) for y in labels]
    strata = labels[0] if strata is None else np.asarray(strata)
    train, test = split.train, split.test
    split_seed = _split_seed(seed, split)
    out = []
    with _Caught() as caught:
        tunable = [s for s in specs if len(s.grid) > 1]
        X_train, groups_train = X[train], groups[train]
        inner = inner_splits(strata[train], groups_train, task=task, inner_folds=inner_folds,
                             seed=split_seed, grouped=grouped) if tunable else []
        shared_inner = [_SharedFold(X_train[s.train], X_train[s.test], task, prep_options)
                        for s in inner]
        shared_outer = _SharedFold(X_train, X[test], task, prep_options)
        for y in labels:
            y_train = y[train]
            scores = {s.name: np.zeros(len(s.grid)) for s in tunable} if inner else {}
            for s, shared in zip(inner, shared_inner):
                design, _ = shared.for_labels(y_train[s.train])
                _add_grid_scores(scores, tunable, design, y_train[s.train], y_train[s.test],
                                 task, classes)
            design, prep = shared_outer.for_labels(y_train)
            out.append(_fit_models(specs, _best_params(specs, scores), split, design, y_train,
                                   selected_input_columns(prep, n_features), task=task,
                                   classes=classes, split_seed=split_seed))
    if out and out[0]:
        out[0][0].convergence_warnings = caught.n_convergence
    return out
