"""RIA extra first-order statistics (non-IBSI): hand-computed values and SciPy as second method."""
import math

import numpy as np
import pytest
from scipy import stats

from neurorad.features.ria_extras import FEATURES, ria_extra_features

SAMPLE = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 100])


def test_hand_computed_values():
    f = ria_extra_features(SAMPLE)
    assert set(f) == set(FEATURES)
    assert f["stat_trim_mean_10"] == pytest.approx(14.5)  # floor(10 * 0.05) = 0 values cut
    assert f["stat_trim_mean_20"] == pytest.approx(5.5)   # one value cut per tail: mean(2..9)
    assert f["stat_iq_mean"] == pytest.approx(5.5)        # two per tail: mean(3..8)
    assert f["stat_p25"] == pytest.approx(3.25) and f["stat_p75"] == pytest.approx(7.75)
    assert f["stat_tri_mean"] == pytest.approx((3.25 + 2 * 5.5 + 7.75) / 4)
    assert f["stat_low_notch"] == pytest.approx(3.25 - 1.5 * 4.5)
    assert f["stat_high_notch"] == pytest.approx(7.75 + 1.5 * 4.5)
    assert f["stat_max_ad_md"] == pytest.approx(94.5)
    assert f["stat_md_ad_md"] == pytest.approx(2.5)
    assert f["stat_p20"] == pytest.approx(2.8)  # rank 1.8 -> 2 + 0.8


def test_agrees_with_scipy():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 3.0, size=537)
    f = ria_extra_features(x)
    assert f["stat_geo_mean"] == pytest.approx(stats.gmean(x))
    assert f["stat_har_mean"] == pytest.approx(stats.hmean(x))
    for total, per_tail in [(5, 0.025), (10, 0.05), (20, 0.1), (30, 0.15)]:
        assert f[f"stat_trim_mean_{total}"] == pytest.approx(stats.trim_mean(x, per_tail))
    assert f["stat_iq_mean"] == pytest.approx(stats.trim_mean(x, 0.25))
    assert f["stat_winsor_mean_10"] == pytest.approx(float(stats.mstats.winsorize(x, (0.05, 0.05)).mean()))
    assert f["stat_sd"] == pytest.approx(np.std(x))
    for d in (20, 30, 40, 60, 70, 80):
        assert f[f"stat_p{d}"] == pytest.approx(np.percentile(x, d))


def test_non_positive_intensities_make_geometric_and_harmonic_means_undefined():
    with pytest.warns(RuntimeWarning, match="<= 0"):
        f = ria_extra_features(np.array([-100.0, 20, 40]))
    assert math.isnan(f["stat_geo_mean"]) and math.isnan(f["stat_har_mean"])
    assert f["stat_trim_mean_5"] == pytest.approx(-40 / 3)
