"""Intervals stay inside each metric's range (issue 5): the stretch on the unbounded scale."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurorad.modeling import evaluate
from neurorad.modeling.scoring import metric_bounds, normal_interval, stretch_interval

UNIT = np.array([[0.0, 1.0]])


def test_stretch_on_logit_scale_matches_hand_values():
    # logit(0.8) = ln 4, logit(0.6) = ln 1.5, logit(0.9) = ln 9. Doubling the distances:
    # low: ln 4 - 2 ln(4/1.5) = ln 0.5625 -> 0.5625/1.5625 = 0.36
    # high: ln 4 + 2 ln(9/4) = ln 20.25 -> 20.25/21.25
    low, high = stretch_interval(np.array([0.8]), np.array([0.6]), np.array([0.9]),
                                 np.array([2.0]), UNIT)
    assert low[0] == pytest.approx(0.36)
    assert high[0] == pytest.approx(20.25 / 21.25)
    # factor 1 leaves the percentiles unchanged
    low, high = stretch_interval(np.array([0.8]), np.array([0.6]), np.array([0.9]),
                                 np.array([1.0]), UNIT)
    assert (low[0], high[0]) == pytest.approx((0.6, 0.9))


def test_stretch_of_correlation_uses_fisher_z_and_log_for_errors():
    bounds = metric_bounds([("spearman_rho", None), ("rmse", None), ("r2", None)], 0)
    centre = np.array([0.5, 2.0, 0.5])
    low = np.array([0.2, 1.0, 0.0])
    high = np.array([0.7, 3.0, 0.75])
    lo, hi = stretch_interval(centre, low, high, np.full(3, 2.0), bounds)
    z = np.arctanh
    assert lo[0] == pytest.approx(np.tanh(z(0.5) - 2 * (z(0.5) - z(0.2))))
    assert hi[0] == pytest.approx(np.tanh(z(0.5) + 2 * (z(0.7) - z(0.5))))
    assert lo[1] == pytest.approx(2.0 * (1.0 / 2.0) ** 2)      # log scale: 2 * (1/2)^2
    assert hi[1] == pytest.approx(2.0 * (3.0 / 2.0) ** 2)
    # r2 <= 1 on -log(1 - r2): 1 - r2 is stretched multiplicatively
    assert lo[2] == pytest.approx(1 - 0.5 * (1.0 / 0.5) ** 2)   # -1.0
    assert hi[2] == pytest.approx(1 - 0.5 * (0.25 / 0.5) ** 2)  # 0.875


def test_stretch_near_middle_equals_linear_stretch():
    low, high = stretch_interval(np.array([0.5]), np.array([0.499]), np.array([0.5005]),
                                 np.array([1.7]), UNIT)
    assert low[0] == pytest.approx(0.5 - 1.7 * 0.001, abs=1e-7)
    assert high[0] == pytest.approx(0.5 + 1.7 * 0.0005, abs=1e-7)


def test_random_stretches_never_leave_the_range():
    rng = np.random.default_rng(3)
    keys = [(m, None) for m in ("acc", "roc_auc", "brier", "pearson_r", "mae", "r2")]
    bounds = metric_bounds(keys, 2)
    for _ in range(200):
        lo_b = np.where(np.isfinite(bounds[:, 0]), bounds[:, 0], -5.0)
        hi_b = np.where(np.isfinite(bounds[:, 1]), bounds[:, 1], 5.0)
        draws = np.sort(rng.uniform(lo_b, hi_b, size=(3, len(keys))), axis=0)
        at_bound = (rng.random(len(keys)) < 0.2) & np.isfinite(bounds[:, 1])
        draws[2, at_bound] = bounds[at_bound, 1]     # a percentile on the upper bound
        factor = rng.uniform(1, 6, len(keys))
        low, high = stretch_interval(draws[1], draws[0], draws[2], factor, bounds)
        assert np.all(low >= bounds[:, 0]) and np.all(high <= bounds[:, 1])
        assert np.all(low <= draws[0] + 1e-12) and np.all(high >= draws[2] - 1e-12)
        n_low, n_high = normal_interval(draws[1], rng.uniform(0, 3, len(keys)), 1.96, bounds)
        assert np.all(n_low >= bounds[:, 0]) and np.all(n_high <= bounds[:, 1])


def test_centre_on_bound_falls_back_to_clipped_linear_stretch():
    low, high = stretch_interval(np.array([1.0]), np.array([0.8]), np.array([1.0]),
                                 np.array([1.5]), UNIT)
    assert low[0] == pytest.approx(0.7) and high[0] == 1.0
    low, high = normal_interval(np.array([1.0]), np.array([0.1]), 1.96, UNIT)
    assert low[0] == pytest.approx(1 - 0.196) and high[0] == 1.0
    # inside the range: delta method on the logit scale, g'(0.8) = 1 / (0.8 * 0.2)
    low, high = normal_interval(np.array([0.8]), np.array([0.05]), 2.0, UNIT)
    half = 2.0 * 0.05 / 0.16
    assert low[0] == pytest.approx(1 / (1 + np.exp(-(np.log(4) - half))), rel=1e-6)
    assert high[0] == pytest.approx(1 / (1 + np.exp(-(np.log(4) + half))), rel=1e-6)


def test_small_cohort_intervals_lie_within_metric_ranges(make_clustered, make_regression):
    # 12 patients with a strong signal: the percentiles of acc, sens, pr_auc sit near 1,
    # where a linear stretch crossed the bound.
    classification_bounds = {"brier": (0, 1)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1):
            X, y, g = make_clustered(n_patients=12, rois_per_patient=2, n_features=6,
                                     signal=1.5, seed=seed)
            m = evaluate(X, y, groups=g, models=("null", "lasso_lr", "svm"), outer_folds=3,
                         repeats=2, seed=seed, fast=True, n_bootstrap=200).metrics
            lo = m.metric.map(lambda k: classification_bounds.get(k, (0, 1))[0])
            hi = m.metric.map(lambda k: classification_bounds.get(k, (0, 1))[1])
            ok = m.ci_low.isna() | ((m.ci_low >= lo) & (m.ci_high <= hi))
            assert ok.all(), m[~ok]
        X, y = make_regression(n=14, n_features=5, signal=2.0, seed=2)
        m = evaluate(X, y, task="regression", models=("null", "lasso"), outer_folds=3,
                     repeats=2, fast=True, n_bootstrap=200).metrics.set_index("metric")
    for metric, (lower, upper) in {"spearman_rho": (-1, 1), "pearson_r": (-1, 1),
                                   "mae": (0, np.inf), "rmse": (0, np.inf),
                                   "r2": (-np.inf, 1)}.items():
        rows = m.loc[[metric]]
        assert (rows.ci_low >= lower).all() and (rows.ci_high <= upper).all(), rows
