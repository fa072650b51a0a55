"""Validation of the inputs of the modelling layer.

Every check raises a ``ValueError`` that names the source (file or table name, when given),
the offending columns / samples / subjects and what is wrong, so that a user can fix the
feature table instead of reading a traceback from deep inside scikit-learn.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
import pandas as pd

from neurorad.errors import InputError

#: Fewest patients an outer training set may have: the inner tuning CV splits it again, and
#: a model fitted on one patient has no feature variance left to learn from.
MIN_TRAINING_UNITS = 3

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class ModelInputs:
    """Validated, aligned modelling inputs.

    Attributes
    ----------
    X : ndarray, shape (n_samples, n_features), float64 (NaN allowed, imputed in-fold)
    y : ndarray, shape (n_samples,) -- class labels (object/int) or float targets
    groups : ndarray, shape (n_samples,) -- patient id per sample (sample index if none given)
    feature_names : list of str
    sample_ids : ndarray -- the row labels of ``X`` (index of a DataFrame, else 0..n-1)
    classes : ndarray or None -- sorted class labels (classification only)
    has_groups : bool -- whether the caller supplied ``groups``
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    feature_names: list
    sample_ids: np.ndarray
    classes: np.ndarray | None
    has_groups: bool


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _preview(items, limit: int = 8) -> str:
    items = [str(i) for i in items]
    more = f" ... (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def check_features(X, source: str | None = None) -> tuple[np.ndarray, list, np.ndarray]:
    """Return ``(values, feature_names, sample_ids)`` of a numeric feature table.

    Raises
    ------
    ValueError
        For non-numeric columns, columns that are NaN in every sample, infinite values, or an
        empty table.
    """
    where = _where(source)
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    if frame.ndim != 2 or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"{where}the feature table is empty (shape {frame.shape}).")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
                   or pd.api.types.is_bool_dtype(frame[c])]
    if non_numeric:
        raise ValueError(
            f"{where}non-numeric feature columns: {_preview(non_numeric)}. Encode or drop them "
            "(identifiers and labels belong in `y`/`groups`, not in the features).")
    values = frame.to_numpy(dtype=np.float64)
    all_nan = [c for c, bad in zip(frame.columns, np.isnan(values).all(axis=0)) if bad]
    if all_nan:
        raise ValueError(f"{where}feature columns that are NaN in every sample: "
                         f"{_preview(all_nan)}. Drop them before modelling.")
    infinite = np.isinf(values)
    if infinite.any():
        cols = [c for c, bad in zip(frame.columns, infinite.any(axis=0)) if bad]
        rows = frame.index[infinite.any(axis=1)]
        raise ValueError(f"{where}infinite values in feature columns {_preview(cols)} "
                         f"(samples {_preview(rows)}).")
    names = [str(c) for c in frame.columns]
    return values, names, np.asarray(frame.index)


def check_target(y, task: str, n_samples: int, sample_ids, source: str | None = None):
    """Validate the target vector; returns it as an array (float for regression)."""
    where = _where(source)
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
    y = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
    if y.ndim != 1:
        y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"{where}the target has shape {np.shape(y)} but the feature table has "
                         f"{n_samples} rows.")
    missing = pd.isna(y)
    if missing.any():
        raise ValueError(f"{where}the target is missing for samples "
                         f"{_preview(np.asarray(sample_ids)[missing])}.")
    if task == "regression":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{where}task='regression' needs a numeric target; got values "
                             f"such as {_preview(pd.unique(y)[:3])}.") from None
        if not np.isfinite(y).all():
            raise ValueError(f"{where}the target has infinite values.")
    if len(pd.unique(y)) < 2:
        raise ValueError(f"{where}the target is constant ({y[0]!r} for all {n_samples} "
                         "samples); there is nothing to predict.")
    return y


def check_groups(groups, n_samples: int, source: str | None = None) -> tuple[np.ndarray, bool]:
    """Return ``(groups, has_groups)``; without groups every sample is its own patient."""
    where = _where(source)
    if groups is None:
        return np.arange(n_samples), False
    groups = np.asarray(groups.to_numpy() if isinstance(groups, pd.Series) else groups)
    if groups.ndim != 1 or len(groups) != n_samples:
        raise ValueError(f"{where}`groups` has shape {groups.shape} but the feature table has "
                         f"{n_samples} rows.")
    if pd.isna(groups).any():
        raise ValueError(f"{where}`groups` (patient id) is missing for "
                         f"{int(pd.isna(groups).sum())} samples.")
    return groups, True


def check_fold_feasibility(y, groups, task: str, n_folds: int, source: str | None = None,
                           what: str = "outer_folds") -> None:
    """Raise when the data cannot be split into ``n_folds`` (grouped, stratified) folds."""
    where = _where(source)
    n_units = len(pd.unique(groups))
    if n_folds < 2:
        raise ValueError(f"{what} must be at least 2, got {n_folds}.")
    if n_units < n_folds:
        raise ValueError(f"{where}{n_units} patients (independent units) but {what}={n_folds}; "
                         "every fold needs at least one patient. Use fewer folds.")
    if task == "classification":
        per_class = pd.Series(groups).groupby(pd.Series(y)).nunique()
        small = per_class[per_class < n_folds]
        if len(small):
            desc = ", ".join(f"{k!r}: {v}" for k, v in small.items())
            raise ValueError(f"{where}classes with fewer patients than {what}={n_folds} "
                             f"({desc}); every test fold needs each class. Use fewer folds or "
                             "merge classes.")


class TooFewSamplesError(InputError):
    """The data are too small for the validation design asked for."""


def check_training_size(groups, *, scheme: str, outer_folds: int, test_size: float,
                        source: str | None = None) -> None:
    """Raise when an outer training set would hold fewer than :data:`MIN_TRAINING_UNITS`
    patients (K-fold: the smallest training fold, ``n - ceil(n / K)``; random splits:
    ``n - ceil(n * test_size)``)."""
    n_units = len(pd.unique(groups))
    if scheme == "kfold":
        smallest = n_units - math.ceil(n_units / outer_folds)
        design = f"outer_folds={outer_folds}"
    else:
        smallest = n_units - math.ceil(n_units * test_size)
        design = f"test_size={test_size:g}"
    if smallest < MIN_TRAINING_UNITS:
        raise TooFewSamplesError(
            f"{_where(source)}{n_units} patients (independent units): with {design} the "
            f"smallest training set has {smallest}, too few to fit and tune a model (at least "
            f"{MIN_TRAINING_UNITS}: the inner tuning CV splits the training set again). Use "
            "more patients or fewer folds.")


def check_inputs(X, y, groups, task: str, source: str | None = None) -> ModelInputs:
    """Validate and align ``X``, ``y`` and ``groups``."""
    values, names, sample_ids = check_features(X, source)
    y = check_target(y, task, len(values), sample_ids, source)
    groups, has_groups = check_groups(groups, len(values), source)
    classes = np.array(sorted(pd.unique(y))) if task == "classification" else None
    return ModelInputs(values, y, groups, names, sample_ids, classes, has_groups)


def patient_labels(y, groups, task: str, source: str | None = None) -> pd.Series:
    """One target value per patient; raises when a patient's samples disagree."""
    series = pd.Series(y).groupby(pd.Series(groups), sort=False)
    if task == "regression":
        spread = series.max() - series.min()
        bad = spread[spread > 1e-12 * max(1.0, float(np.abs(y).max()))]
    else:
        counts = series.nunique()
        bad = counts[counts > 1]
    if len(bad):
        raise ValueError(f"{_where(source)}patients whose samples have different targets: "
                         f"{_preview(bad.index)}; unit='patient' needs one target per patient.")
    return series.first()
