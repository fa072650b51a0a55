"""Outer and inner cross-validation splits, stratified and grouped by patient.

Two schemes:

``"kfold"`` (default)
    Repeated K-fold: each repeat partitions the patients into ``K`` folds (every sample is in
    exactly one test fold per repeat). Stratified by class (classification) or by quantile bin
    of the target (regression); grouped by patient when ``groups`` are given
    (:class:`sklearn.model_selection.StratifiedGroupKFold`), so that no patient's ROIs are
    split between training and test set.
``"shuffle"``
    The PET study's scheme: ``repeats`` independent random splits into training and test
    patients (``test_size`` = 0.3 by default), stratified per class / target bin at the
    patient level.

Stratifying a regression target by quantile bins keeps every test fold spanning the range of
the target, which matters for rank metrics on 8--12 test patients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold


@dataclass(frozen=True)
class Split:
    """One outer split: sample indices of the training and the test set."""

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


def stratification_labels(y, groups, task: str, n_folds: int) -> np.ndarray:
    """Labels to stratify on: the class, or a quantile bin of the patient-mean target.

    For regression the number of bins is chosen so that each bin holds at least ``n_folds``
    patients (at most 5 bins).
    """
    if task == "classification":
        return np.asarray(y)
    patient_mean = pd.Series(np.asarray(y, float)).groupby(np.asarray(groups)).transform("mean")
    n_patients = len(pd.unique(groups))
    n_bins = int(max(1, min(5, n_patients // max(n_folds, 1))))
    if n_bins == 1:
        return np.zeros(len(y), dtype=int)
    unit_means = pd.Series(np.asarray(y, float)).groupby(np.asarray(groups)).mean()
    edges = np.quantile(unit_means.to_numpy(), np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, patient_mean.to_numpy(), side="right")


def _patient_strata(strata, groups) -> pd.Series:
    # Most frequent stratum of each patient (patients are normally homogeneous).
    frame = pd.DataFrame({"g": groups, "s": strata})
    return frame.groupby("g", sort=True)["s"].agg(lambda s: s.value_counts().index[0])


def kfold_splits(y, groups, *, task: str, n_folds: int, repeats: int, seed: int,
                 grouped: bool = True) -> list[Split]:
    """Repeated stratified (grouped) K-fold splits.

    Parameters
    ----------
    y, groups : array-like, shape (n_samples,)
    task : {"classification", "regression"}
    n_folds, repeats : int
    seed : int -- repeat ``r`` uses ``seed`` mixed with ``r`` (reproducible, different per repeat)
    grouped : bool -- False splits ROIs ignoring the patient (the leaky design, for contrast)
    """
    strata = stratification_labels(y, groups, task, n_folds)
    placeholder = np.zeros((len(strata), 1))
    splits = []
    for repeat in range(repeats):
        state = int(np.random.SeedSequence([seed, repeat]).generate_state(1)[0])
        if grouped:
            cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=state)
            folds = cv.split(placeholder, strata, groups)
        else:
            cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=state)
            folds = cv.split(placeholder, strata)
        for fold, (train, test) in enumerate(folds):
            splits.append(Split(repeat, fold, np.sort(train), np.sort(test)))
    return splits


def _test_quota(stratum_sizes, test_size: float, rng) -> np.ndarray:
    """Test patients per stratum: ``round(test_size * n)`` in total, split over the strata in
    proportion (largest remainders, random tie break), at least one test and one training
    patient per stratum of two or more."""
    sizes = np.asarray(stratum_sizes)
    exact = test_size * sizes
    quota = np.floor(exact).astype(int)
    remaining = int(round(test_size * sizes.sum())) - quota.sum()
    order = np.lexsort((rng.random(len(sizes)), -(exact - quota)))
    quota[order[:max(remaining, 0)]] += 1
    quota = np.where(sizes >= 2, np.clip(quota, 1, sizes - 1), 0)
    return quota


def shuffle_splits(y, groups, *, task: str, repeats: int, test_size: float, seed: int,
                   grouped: bool = True) -> list[Split]:
    """``repeats`` random training/test splits of the patients, stratified.

    ``round(test_size * n_patients)`` patients go to the test set, allocated to the strata in
    proportion to their size (each stratum keeps at least one training and one test patient).
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}.")
    units = np.asarray(groups) if grouped else np.arange(len(y))
    strata = stratification_labels(y, units, task, n_folds=max(2, round(1 / test_size)))
    per_patient = _patient_strata(strata, units)
    members = [m.index.to_numpy() for _, m in per_patient.groupby(per_patient)]
    splits = []
    for repeat in range(repeats):
        rng = np.random.default_rng([seed, repeat])
        quota = _test_quota([len(m) for m in members], test_size, rng)
        test_units = np.concatenate([rng.permutation(m)[:q] for m, q in zip(members, quota)])
        is_test = np.isin(units, test_units)
        splits.append(Split(repeat, 0, np.flatnonzero(~is_test), np.flatnonzero(is_test)))
    return splits


def outer_splits(y, groups, *, task: str, scheme: str = "kfold", outer_folds: int = 5,
                 repeats: int = 10, test_size: float = 0.3, seed: int = 0,
                 grouped: bool = True) -> list[Split]:
    """The outer splits of an evaluation (see the module docstring for the schemes)."""
    if scheme == "kfold":
        return kfold_splits(y, groups, task=task, n_folds=outer_folds, repeats=repeats,
                            seed=seed, grouped=grouped)
    if scheme == "shuffle":
        return shuffle_splits(y, groups, task=task, repeats=repeats, test_size=test_size,
                              seed=seed, grouped=grouped)
    raise ValueError(f"scheme must be 'kfold' or 'shuffle', got {scheme!r}.")


def feasible_inner_folds(y, groups, task: str, requested: int) -> int:
    """The largest number of inner folds <= ``requested`` that the training set allows.

    Returns 0 or 1 when no inner CV is possible (a class with a single patient).
    """
    n_units = len(pd.unique(groups))
    limit = n_units
    if task == "classification":
        limit = min(limit, int(pd.Series(groups).groupby(pd.Series(y)).nunique().min()))
    return int(min(requested, limit))


def permuted_labels(y, groups, rng) -> np.ndarray:
    """Labels permuted at the patient level.

    If every patient has one label, patient labels are shuffled among patients. Otherwise
    whole label vectors are exchanged among patients with the same number of samples
    (sample order within a patient kept), which preserves the within-patient structure.
    """
    frame = pd.DataFrame({"g": groups, "y": y})
    per_patient = frame.groupby("g", sort=True)["y"]
    out = np.empty(len(y), dtype=np.asarray(y).dtype)
    if (per_patient.nunique() == 1).all():
        labels = per_patient.first()
        shuffled = pd.Series(rng.permutation(labels.to_numpy()), index=labels.index)
        return shuffled.loc[groups].to_numpy()
    positions = frame.groupby("g", sort=True).indices
    by_size: dict[int, list] = {}
    for g, idx in positions.items():
        by_size.setdefault(len(idx), []).append(g)
    for members in by_size.values():
        targets = rng.permutation(len(members))
        for g, t in zip(members, targets):
            out[positions[g]] = np.asarray(y)[positions[members[t]]]
    return out
