"""Outer splits: grouped, stratified, covering, reproducible; patient-level permutation."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurorad.modeling.splits import (feasible_inner_folds, kfold_splits, permuted_labels,
                                      shuffle_splits)


def _data():
    groups = np.repeat(np.arange(30), 3)
    y = np.repeat(np.resize([0, 0, 1], 30), 3)       # 20 patients class 0, 10 class 1
    return y, groups


def test_kfold_grouped_stratified_and_covering():
    y, groups = _data()
    splits = kfold_splits(y, groups, task="classification", n_folds=5, repeats=3, seed=1)
    assert len(splits) == 15
    for r in range(3):
        tested = np.concatenate([s.test for s in splits if s.repeat == r])
        assert np.array_equal(np.sort(tested), np.arange(len(y)))   # every ROI once
    for s in splits:
        assert not set(groups[s.train]) & set(groups[s.test])       # no patient straddles
        assert set(y[s.test]) == {0, 1}
        # 10 class-1 patients over 5 folds: 2 per fold (6 ROIs)
        assert np.sum(y[s.test] == 1) == 6


def test_ungrouped_kfold_splits_patients():
    y, groups = _data()
    splits = kfold_splits(y, groups, task="classification", n_folds=5, repeats=1, seed=1,
                          grouped=False)
    assert any(set(groups[s.train]) & set(groups[s.test]) for s in splits)


def test_seed_reproducible_and_repeats_differ():
    y, groups = _data()
    a = kfold_splits(y, groups, task="classification", n_folds=5, repeats=2, seed=7)
    b = kfold_splits(y, groups, task="classification", n_folds=5, repeats=2, seed=7)
    assert all(np.array_equal(s.test, t.test) for s, t in zip(a, b))
    assert not np.array_equal(a[0].test, a[5].test)


def test_shuffle_split_fraction_per_class():
    y, groups = _data()
    splits = shuffle_splits(y, groups, task="classification", repeats=20, test_size=0.3,
                            seed=0)
    for s in splits:
        test_patients = pd.Series(y[s.test]).groupby(groups[s.test]).first()
        assert (test_patients == 0).sum() == 6 and (test_patients == 1).sum() == 3
        assert not set(groups[s.train]) & set(groups[s.test])


def test_regression_strata_spread_target():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    splits = kfold_splits(y, np.arange(40), task="regression", n_folds=4, repeats=1, seed=0)
    top_quintile = y > np.quantile(y, 0.8)
    for s in splits:   # 8 top-quintile samples over 4 folds
        assert np.sum(top_quintile[s.test]) == 2


def test_feasible_inner_folds():
    y = np.array([0, 0, 0, 0, 1, 1])
    assert feasible_inner_folds(y, np.arange(6), "classification", 3) == 2


def test_permutation_keeps_patients_together():
    y, groups = _data()
    rng = np.random.default_rng(0)
    perm = permuted_labels(y, groups, rng)
    assert pd.Series(perm).groupby(groups).nunique().max() == 1
    assert np.sum(perm == 1) == np.sum(y == 1)
    assert not np.array_equal(perm, y)
