"""In-fold preprocessing and the candidate models with their (small) inner-CV grids.

Everything that looks at data -- imputation, variance and correlation filters, univariate
selection, batch harmonisation, scaling -- is a scikit-learn transformer in the pipeline
returned by :func:`make_preprocessor`, fitted on a training fold only and then applied to
the matching test fold.

The preprocessor does not depend on the model, so the evaluation fits it once per
(outer or inner) training fold and shares it between the models; the models get a
pipeline of their own (e.g. target standardisation for regression).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.feature_selection import SelectKBest, f_classif, f_regression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC



class MedianImputeScale(BaseEstimator, TransformerMixin):
    r"""Median imputation, variance filter and z-scoring in one step (fitted on training data).

    For feature :math:`j` with training median :math:`m_j` (0 if the feature is missing in
    every training sample), missing values become :math:`m_j`; features whose imputed training
    variance is :math:`\le` ``variance_threshold`` are dropped; the rest are mapped to
    :math:`(x - \mu_j) / \sigma_j` with the training mean and (population) SD. One NumPy step
    instead of three scikit-learn ones: the evaluation fits it thousands of times.
    """

    def __init__(self, variance_threshold: float = 0.0):
        self.variance_threshold = variance_threshold

    def fit(self, X, y=None):
        self._fit_filled(X)
        return self

    def _fit_filled(self, X):
        """Fit; return the imputed training matrix (all columns)."""
        X = np.asarray(X, dtype=np.float64)
        median = _column_medians(X)
        self.median_ = np.where(np.isfinite(median), median, 0.0)
        filled = np.where(np.isnan(X), self.median_, X)
        var = filled.var(axis=0)
        self.support_ = var > self.variance_threshold
        self.mean_ = filled.mean(axis=0)[self.support_]
        self.scale_ = np.sqrt(var[self.support_])
        self.n_features_in_ = X.shape[1]
        return filled

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        filled = np.where(np.isnan(X), self.median_, X)[:, self.support_]
        return (filled - self.mean_) / self.scale_

    def fit_transform(self, X, y=None):
        """``fit(X).transform(X)`` (bit for bit) without imputing ``X`` twice."""
        filled = self._fit_filled(X)[:, self.support_]
        return (filled - self.mean_) / self.scale_

    def get_support(self):
        return self.support_


def _column_medians(X: np.ndarray) -> np.ndarray:
    """``np.nanmedian(X, axis=0)`` (NaN for an all-NaN column), with ``np.median`` on the
    columns without NaN: the same values, without NumPy's masked-array path that
    ``nanmedian`` takes for fewer than 600 rows (the bulk of a fold fit's time)."""
    missing = np.isnan(X).any(axis=0)
    median = np.empty(X.shape[1])
    median[~missing] = np.median(X[:, ~missing], axis=0)
    if missing.any():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN training column
            median[missing] = np.nanmedian(X[:, missing], axis=0)
    return median


class CorrelationFilter(BaseEstimator, TransformerMixin):
    r"""Drop features strongly correlated with an earlier kept feature.

    Greedy in column order: feature :math:`j` is kept unless
    :math:`|r_{jk}| > \text{threshold}` for a feature :math:`k < j` that was kept, where
    :math:`r` is the Pearson correlation on the training fold. Order-based tie breaking is
    deterministic and independent of the target (no leakage of ``y`` into the filter).
    Constant columns have no correlation and are kept (the variance filter removes them).
    """

    def __init__(self, threshold: float = 0.9):
        self.threshold = threshold

    #: Columns resolved per block (see :meth:`fit`).
    block = 512

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        unit = _unit_columns(X)
        self.support_ = greedy_correlation_support(unit, self.threshold, self.block)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return np.asarray(X)[:, self.support_]

    def get_support(self):
        return self.support_


def _unit_columns(X: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit Euclidean norm (constant columns become 0), so
    that ``U.T @ U`` is the Pearson correlation matrix."""
    centred = X - X.mean(axis=0)
    norms = np.sqrt((centred ** 2).sum(axis=0))
    norms[norms == 0] = np.inf
    return centred / norms


def greedy_correlation_support(unit: np.ndarray, threshold: float,
                               block: int = 512) -> np.ndarray:
    r"""Greedy correlation filter on unit columns: column :math:`j` is kept unless
    :math:`|r_{kj}| > t` for a kept column :math:`k < j`.

    Computed in blocks of ``block`` columns: a block's columns are first compared with the
    columns kept so far (one matrix product, :math:`n \times k` by :math:`n \times B`), the
    survivors are then resolved in column order with the block's own correlations. Column
    :math:`j` is dropped exactly when the one-pass rule drops it, but only correlations with
    *kept* columns are ever computed -- :math:`O(n p k)` work and :math:`O(B (k + B))`
    memory instead of the full :math:`p \times p` matrix (1 GB for 11 660 features).
    """
    n_features = unit.shape[1]
    keep = np.zeros(n_features, dtype=bool)
    kept_idx: list[int] = []
    for start in range(0, n_features, block):
        stop = min(start + block, n_features)
        candidate = np.ones(stop - start, dtype=bool)
        if kept_idx:
            against = np.abs(unit[:, kept_idx].T @ unit[:, start:stop])
            candidate &= ~(against > threshold).any(axis=0)
        positions = np.flatnonzero(candidate)
        if positions.size:
            own = np.abs(unit[:, start + positions].T @ unit[:, start + positions])
            alive = np.ones(positions.size, dtype=bool)
            for i in range(positions.size):
                if alive[i]:
                    alive[i + 1:] &= ~(own[i, i + 1:] > threshold)
            for i in np.flatnonzero(alive):
                keep[start + positions[i]] = True
                kept_idx.append(start + positions[i])
    return keep


class BatchLocationScale(BaseEstimator, TransformerMixin):
    r"""Per-batch location/scale harmonisation fitted on the training fold.

    The batch code travels as the **last column** of ``X`` (the evaluation appends it), so
    test samples are harmonised with the parameters learnt for their batch on training data.
    For feature :math:`f` and batch :math:`b`:
    :math:`x' = (x - \mu_{bf}) / \sigma_{bf} \cdot \sigma_f + \mu_f`, with pooled training
    mean/SD :math:`\mu_f, \sigma_f` -- the location/scale model of ComBat (Johnson et al.,
    Biostatistics 2007) without its empirical-Bayes shrinkage. Batches unseen in training
    are left unchanged (pooled parameters). The output drops the batch column.
    """

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        values, batch = X[:, :-1], X[:, -1]
        self.pooled_mean_ = np.nanmean(values, axis=0)
        self.pooled_sd_ = _safe_sd(values)
        self.params_ = {}
        for b in np.unique(batch):
            rows = values[batch == b]
            self.params_[b] = (np.nanmean(rows, axis=0), _safe_sd(rows))
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        values, batch = X[:, :-1].copy(), X[:, -1]
        for b in np.unique(batch):
            mean, sd = self.params_.get(b, (self.pooled_mean_, self.pooled_sd_))
            rows = batch == b
            values[rows] = (values[rows] - mean) / sd * self.pooled_sd_ + self.pooled_mean_
        return values


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    r"""RBF support vector classifier (balanced class weights) with Platt probabilities.

    ``predict`` and ``decision_function`` use the class-weighted SVM decision (balanced
    against imbalance). ``predict_proba`` maps the decision :math:`d` of each class
    (one-vs-rest shaped for :math:`K > 2`, then normalised) through
    :math:`p = 1 / (1 + e^{-(a d + b)})`, with :math:`a, b` fitted by logistic regression on
    3-fold internal cross-validated decision values (Platt 1999). The slope is kept
    positive (:math:`a \ge 10^{-6}`): on uninformative data the cross-validated slope can
    come out negative, and an inverted sigmoid would turn the SVM's ranking upside down;
    a flat sigmoid instead gives near-prior probabilities that keep the SVM's order.
    ``calibrate=False`` skips the calibration (inner-CV tuning only needs the decision).

    Every method takes an optional ``sq_distances``: the squared Euclidean distances of the
    rows of ``X`` to the training rows (:func:`squared_distances`). With it the kernel
    :math:`e^{-\gamma D^2}` is formed from these distances instead of libsvm computing it
    from ``X`` -- the distances do not depend on the labels, ``C`` or :math:`\gamma`, so the
    evaluation computes them once per training set and shares them between grid points and
    label vectors. :math:`\gamma` is still taken from ``X`` (``"scale"``:
    :math:`1 / (p \operatorname{var} X)` of the training rows of each fit, also inside the
    calibration folds), so the fit is the one of the plain path up to the order of the
    floating-point sums in the distances (decision values agree to ~1e-15; test).
    """

    def __init__(self, C: float = 1.0, gamma="scale", calibrate: bool = True,
                 random_state=None):
        self.C = C
        self.gamma = gamma
        self.calibrate = calibrate
        self.random_state = random_state

    def _svc(self, kernel="rbf"):
        return SVC(kernel=kernel, C=self.C, gamma=self.gamma, class_weight="balanced",
                   random_state=self.random_state)

    def _gamma_of(self, X) -> float:
        """The RBF gamma scikit-learn's SVC uses on training rows ``X``."""
        if not isinstance(self.gamma, str):
            return float(self.gamma)
        if self.gamma != "scale":
            return 1.0 / X.shape[1]                       # "auto"
        variance = X.var()
        return 1.0 / (X.shape[1] * variance) if variance != 0 else 1.0

    def _decision_columns(self, decision):
        decision = np.asarray(decision, float)
        return decision[:, None] if decision.ndim == 1 else decision

    def _held_out_decisions(self, X, y, cv, sq_distances):
        """``cross_val_predict(SVC, X, y, cv, method="decision_function")``, on kernels
        formed from ``sq_distances``."""
        out = None
        for train, test in cv.split(X, y):
            gamma = self._gamma_of(X[train])
            svc = self._svc("precomputed").fit(
                np.exp(-gamma * sq_distances[np.ix_(train, train)]), y[train])
            values = self._decision_columns(svc.decision_function(
                np.exp(-gamma * sq_distances[np.ix_(test, train)])))
            if out is None:
                out = np.empty((len(y), values.shape[1]))
            out[test] = values
        return out

    def fit(self, X, y, sq_distances=None):
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        if sq_distances is None:
            self.svc_ = self._svc().fit(X, y)
        else:
            self.gamma_ = self._gamma_of(X)
            self.svc_ = self._svc("precomputed").fit(np.exp(-self.gamma_ * sq_distances), y)
        self.classes_ = self.svc_.classes_
        self.sigmoids_ = None
        n_min = int(np.unique(y, return_counts=True)[1].min())
        if self.calibrate and n_min >= 2:
            cv = StratifiedKFold(min(3, n_min), shuffle=True, random_state=self.random_state)
            if sq_distances is None:
                held_out = self._decision_columns(cross_val_predict(
                    self._svc(), X, y, cv=cv, method="decision_function"))
            else:
                held_out = self._held_out_decisions(X, y, cv, sq_distances)
            targets = [y == self.classes_[1]] if held_out.shape[1] == 1 else \
                [y == c for c in self.classes_]
            self.sigmoids_ = []
            for column, target in zip(held_out.T, targets):
                fit = LogisticRegression(C=1e4).fit(column[:, None], target)
                self.sigmoids_.append((max(float(fit.coef_[0, 0]), 1e-6),
                                       float(fit.intercept_[0])))
        return self

    def decision_function(self, X, sq_distances=None):
        if sq_distances is None:
            return self.svc_.decision_function(X)
        return self.svc_.decision_function(np.exp(-self.gamma_ * sq_distances))

    def predict(self, X, sq_distances=None):
        if sq_distances is None:
            return self.svc_.predict(X)
        return self.svc_.predict(np.exp(-self.gamma_ * sq_distances))

    def predict_proba(self, X, sq_distances=None):
        if self.sigmoids_ is None:
            raise RuntimeError("CalibratedSVC was fitted with calibrate=False (or a class with "
                               "a single sample); no probabilities.")
        decision = self._decision_columns(self.decision_function(X, sq_distances))
        proba = np.column_stack([1 / (1 + np.exp(-(a * d + b)))
                                 for (a, b), d in zip(self.sigmoids_, decision.T)])
        if proba.shape[1] == 1:
            return np.column_stack([1 - proba[:, 0], proba[:, 0]])
        return proba / proba.sum(axis=1, keepdims=True)


def squared_distances(fit_x, *others) -> list[np.ndarray]:
    r"""Squared Euclidean distances :math:`\lVert a - b \rVert^2` of the rows of ``fit_x``
    and of each array in ``others`` to the rows of ``fit_x``.

    One matrix product per array, :math:`\lVert a \rVert^2 + \lVert b \rVert^2 -
    2 a \cdot b` clipped at 0 (the expansion libsvm evaluates pair by pair for the RBF
    kernel; only the order of the floating-point sums differs); the distance of a training
    row to itself is exactly 0.
    """
    fit_x = np.asarray(fit_x, dtype=np.float64)
    norms = np.einsum("ij,ij->i", fit_x, fit_x)
    out = []
    for rows in (fit_x, *others):
        rows = np.asarray(rows, dtype=np.float64)
        square = np.einsum("ij,ij->i", rows, rows)[:, None] + norms[None, :] - \
            2.0 * (rows @ fit_x.T)
        out.append(np.maximum(square, 0.0))
    np.fill_diagonal(out[0], 0.0)
    return out


def _safe_sd(values):
    with np.errstate(all="ignore"):
        sd = np.nanstd(values, axis=0)
    return np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)


@dataclass(frozen=True)
class PreprocessOptions:
    """Feature filters fitted inside each training fold.

    Attributes
    ----------
    variance_threshold : float -- drop features whose training variance is <= this (0: constants)
    correlation_threshold : float or None -- :class:`CorrelationFilter` threshold; None: off
    top_k : int or None -- keep the ``k`` features with the largest univariate F statistic
        (ANOVA for classification, correlation F-test for regression); None: off
    harmonise : bool -- batch location/scale harmonisation (needs ``batch=`` in evaluate)
    """

    variance_threshold: float = 0.0
    correlation_threshold: float | None = 0.9
    top_k: int | None = None
    harmonise: bool = False


def make_preprocessor(task: str, options: PreprocessOptions) -> Pipeline:
    """The in-fold preprocessing pipeline (impute, harmonise, filter, scale, select)."""
    steps = []
    if options.harmonise:
        steps.append(("harmonise", BatchLocationScale()))
    # Median imputation: robust to the skewed distributions of radiomic features.
    steps.append(("impute_scale", MedianImputeScale(options.variance_threshold)))
    if options.correlation_threshold is not None:
        steps.append(("correlation", CorrelationFilter(options.correlation_threshold)))
    label_step = make_label_step(task, options)
    return Pipeline(steps + ([label_step] if label_step else []))


def make_label_step(task: str, options: PreprocessOptions):
    """The one preprocessing step that looks at the labels, ``("univariate", _TopK)``, or
    None when ``top_k`` is off. It comes last in :func:`make_preprocessor`; every step
    before it is label-free, so it can be fitted once per training set and shared by
    several label vectors (:func:`neurorad.modeling.fitting.fit_split_labels`)."""
    if not options.top_k:
        return None
    score = f_classif if task == "classification" else f_regression
    return ("univariate", _TopK(score, options.top_k))


class _TopK(SelectKBest):
    """SelectKBest that tolerates ``k`` larger than the number of surviving features."""

    def __init__(self, score_func=f_classif, k=10):
        super().__init__(score_func=score_func, k=k)

    def fit(self, X, y=None):
        self._requested_k = self.k
        k = min(self.k, np.asarray(X).shape[1])
        self.k = k
        try:
            with np.errstate(all="ignore"):
                return super().fit(X, y)
        finally:
            self.k = self._requested_k

    def _get_support_mask(self):
        scores = np.nan_to_num(self.scores_, nan=-np.inf)
        k = min(self.k, len(scores))
        mask = np.zeros(len(scores), dtype=bool)
        mask[np.argsort(-scores, kind="stable")[:k]] = True
        return mask


def selected_input_columns(preprocessor: Pipeline, n_features: int) -> np.ndarray:
    """Indices of the original features that survive a fitted preprocessor."""
    columns = np.arange(n_features)
    for _, step in preprocessor.steps:
        if hasattr(step, "get_support"):
            columns = columns[step.get_support()]
    return columns


@dataclass(frozen=True)
class ModelSpec:
    """A model: an unfitted estimator and its inner-CV grid (ordered from simple to complex;
    ties in the inner CV pick the first, i.e. the most regularised)."""

    name: str
    estimator: object
    grid: list = field(default_factory=list)
    tuning_params: dict = field(default_factory=dict)  # cheaper settings for inner-CV fits




def with_params(spec: ModelSpec, params: dict | None):
    """A fresh clone of the spec's estimator with ``params`` set."""
    est = clone(spec.estimator)
    if params:
        est.set_params(**params)
    return est
