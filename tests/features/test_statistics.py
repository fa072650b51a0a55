"""Intensity statistics (stat_*): IBSI phantom reference values and hand-computed cases."""
import math

import numpy as np
import pytest

from neurorad.features.statistics import FEATURES, statistics_features
from tests.features.ibsi_phantom_data import AVAILABLE, load_phantom, mismatches, reference


@pytest.mark.skipif(not AVAILABLE, reason="IBSI reference data not found")
def test_digital_phantom_matches_all_18_reference_values():
    image, mask, _ = load_phantom()
    ref = reference("stat_")
    assert len(ref) == 18
    assert mismatches(statistics_features(image[mask]), ref) == []


def test_hand_computed_sample():
    f = statistics_features(np.array([1.0, 2, 3, 4, 10]))
    # mean 4; deviations -3 -2 -1 0 6: m2 = 50/5, m3 = 180/5, m4 = 1394/5
    assert f["stat_mean"] == pytest.approx(4.0)
    assert f["stat_var"] == pytest.approx(10.0)
    assert f["stat_skew"] == pytest.approx(36.0 / 10**1.5)
    assert f["stat_kurt"] == pytest.approx(278.8 / 100 - 3)
    assert f["stat_p10"] == pytest.approx(1.4)  # linear interpolation at rank 0.4
    assert f["stat_p90"] == pytest.approx(7.6)
    assert f["stat_iqr"] == pytest.approx(2.0)
    assert f["stat_mad"] == pytest.approx(12 / 5)
    assert f["stat_rmad"] == pytest.approx(2 / 3)  # values 2, 3, 4 lie in [P10, P90]
    assert f["stat_medad"] == pytest.approx(11 / 5)
    assert f["stat_cov"] == pytest.approx(math.sqrt(10) / 4)
    assert f["stat_qcod"] == pytest.approx(2 / 6)
    assert f["stat_energy"] == pytest.approx(130.0)
    assert f["stat_rms"] == pytest.approx(math.sqrt(26))
    assert set(f) == set(FEATURES)


def test_constant_sample_has_zero_skewness_and_kurtosis():
    f = statistics_features(np.full(7, 3.0))
    assert f["stat_var"] == 0 and f["stat_skew"] == 0 and f["stat_kurt"] == 0


def test_undefined_ratios_are_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="stat_cov"):
        f = statistics_features(np.array([-1.0, 1.0]))
    assert math.isnan(f["stat_cov"])
    with pytest.warns(RuntimeWarning, match="no voxels"):
        f = statistics_features(np.array([]))
    assert all(math.isnan(v) for v in f.values())
