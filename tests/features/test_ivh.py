"""Intensity-volume histogram (ivh_*): IBSI phantom and hand-computed cases of each regime."""
import math

import numpy as np
import pytest

from neurorad.features.ivh import ivh_features
from tests.features.ibsi_phantom_data import AVAILABLE, load_phantom, mismatches, reference


@pytest.mark.skipif(not AVAILABLE, reason="IBSI reference data not found")
def test_digital_phantom_matches_all_6_reference_values():
    image, mask, _ = load_phantom()
    ref = reference("ivh_")
    assert len(ref) == 6
    f = ivh_features(image[mask])
    assert mismatches(f, ref) == []
    # AUC (no reference value) from the IBSI manual's example IVH table of the phantom:
    # gamma = 0, .2, ..., 1 and nu = 74, 24, 24, 23, 7, 7 voxels out of 74.
    nu = np.array([74, 24, 24, 23, 7, 7]) / 74
    assert f["ivh_auc"] == pytest.approx(float(((nu[1:] + nu[:-1]) / 2 * 0.2).sum()))


def test_discrete_intensities_with_resegmentation_range():
    # G = [-20, 20] with w = 1; gamma = (i + 20)/40
    f = ivh_features(np.array([-10.0, 0, 0, 5]), value_range=(-20, 20))
    assert f["ivh_v10"] == 1.0   # i >= -16: every voxel
    assert f["ivh_v90"] == 0.0   # i >= 16: none
    assert f["ivh_i10"] == 6.0   # first i with nu <= 0.1
    assert f["ivh_i90"] == -9.0  # nu(-9) = 0.75


def test_fixed_bin_size_uses_bin_centres():
    # w = 0.1 from 0: bins centred 0.05 (x10), 0.35 (x8), 0.95 (x2); G = [0.05, 0.95]
    values = np.repeat([0.01, 0.33, 0.99], [10, 8, 2])
    f = ivh_features(values, bin_width=0.1, value_range=(0.0, 1.0))
    assert f["ivh_v10"] == pytest.approx(0.5)  # first grid value with gamma >= .1 is 0.15
    assert f["ivh_v90"] == pytest.approx(0.1)  # 0.95
    assert f["ivh_i10"] == pytest.approx(0.45)
    assert f["ivh_i90"] == pytest.approx(0.15)


def test_fixed_bin_number_uses_bin_numbers():
    # 10 bins over [0, 100]: levels 1 (x5), 2 (x4), 10 (x1); G = [1, 10]
    f = ivh_features(np.repeat([0.0, 10.0, 100.0], [5, 4, 1]), n_levels=10)
    assert (f["ivh_v10"], f["ivh_v90"]) == (pytest.approx(0.5), pytest.approx(0.1))
    assert (f["ivh_i10"], f["ivh_i90"]) == (3.0, 2.0)
    assert f["ivh_diff_i10_i90"] == 1.0


def test_undefined_and_invalid_inputs():
    with pytest.warns(RuntimeWarning, match="single intensity"):
        f = ivh_features(np.full(5, 2.0))
    assert all(math.isnan(v) for v in f.values())
    with pytest.raises(ValueError, match="not both"):
        ivh_features(np.arange(5.0), bin_width=1, n_levels=10)
    with pytest.raises(ValueError, match="bin_width"):  # continuous values without a bin width
        ivh_features(np.array([0.0, 1e9]))


def test_open_resegmentation_bounds_fall_back_to_the_roi_range():
    values = np.array([-10.0, 0, 0, 5])
    assert ivh_features(values, value_range=(-math.inf, None)) == ivh_features(values)
