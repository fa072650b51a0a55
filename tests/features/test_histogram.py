"""Intensity histogram (ih_*): IBSI phantom reference values and hand-computed cases."""
import math

import numpy as np
import pytest

from neurorad.features.histogram import FEATURES, histogram_features
from tests.features.ibsi_phantom_data import AVAILABLE, N_LEVELS, load_phantom, mismatches, reference


@pytest.mark.skipif(not AVAILABLE, reason="IBSI reference data not found")
def test_digital_phantom_matches_all_23_reference_values():
    image, mask, _ = load_phantom()
    ref = reference("ih_")
    assert len(ref) == 23
    assert mismatches(histogram_features(image[mask].astype(int), N_LEVELS), ref) == []


def test_entropy_uniformity_and_gradient_by_hand():
    # counts for levels 1..5: [2, 1, 0, 1, 0]; p = .5, .25, 0, .25, 0
    f = histogram_features(np.array([1, 1, 2, 4]), 5)
    assert f["ih_entropy"] == pytest.approx(1.5)
    assert f["ih_uniformity"] == pytest.approx(0.375)
    # H' = [1-2, (0-2)/2, (1-1)/2, (0-0)/2, 0-1] = [-1, -1, 0, 0, -1]
    assert (f["ih_max_grad"], f["ih_max_grad_g"]) == (0.0, 3.0)
    assert (f["ih_min_grad"], f["ih_min_grad_g"]) == (-1.0, 1.0)
    assert f["ih_mode"] == 1.0
    assert set(f) == set(FEATURES)


def test_mode_ties_go_to_the_level_closest_to_the_mean_then_the_lower():
    assert histogram_features(np.array([1, 1, 3, 3, 4]), 4)["ih_mode"] == 3.0  # mean 2.4
    assert histogram_features(np.array([1, 1, 3, 3]), 4)["ih_mode"] == 1.0  # mean 2: equidistant


@pytest.mark.parametrize("bad", [[0, 1], [1, 7], [1.5, 2]])
def test_levels_outside_1_to_ng_are_rejected(bad):
    with pytest.raises(ValueError, match="1..6"):
        histogram_features(np.array(bad), 6)


def test_empty_roi_gives_nan_with_warning():
    with pytest.warns(RuntimeWarning):
        f = histogram_features(np.array([], dtype=int), 4)
    assert all(math.isnan(v) for v in f.values())


def test_distribution_from_counts_equals_the_voxelwise_evaluation():
    # ih_* distribution features come from the histogram (O(N_g)); compare with the
    # voxel-wise formulas of the statistics family on the same grey levels.
    import warnings

    from neurorad.features.statistics import distribution_features, distribution_features_from_counts

    rng = np.random.default_rng(11)
    for trial in range(60):
        n_levels = int(rng.integers(1, 130))
        size = int(rng.integers(1, 3000))
        if trial % 3 == 0:  # two or three distinct levels: rmad can be undefined
            levels = rng.integers(1, min(n_levels, 3) + 1, size)
        else:
            levels = np.clip(np.round(rng.normal(n_levels / 2, n_levels / 5 + 0.1, size)), 1,
                             n_levels).astype(np.int64)
        with warnings.catch_warnings(record=True) as direct_warnings:
            warnings.simplefilter("always")
            direct = distribution_features(levels.astype(np.float64), "ih")
        with warnings.catch_warnings(record=True) as count_warnings:
            warnings.simplefilter("always")
            counted = distribution_features_from_counts(np.bincount(levels - 1, minlength=n_levels))
        assert [str(w.message) for w in count_warnings] == [str(w.message) for w in direct_warnings]
        assert list(counted) == list(direct)
        scale = max(1.0, float(levels.std()))
        for tag, value in direct.items():
            if math.isnan(value):
                assert math.isnan(counted[tag]), tag
            elif tag in ("ih_skew", "ih_kurt"):  # standardised: compare on their own scale
                assert counted[tag] == pytest.approx(value, rel=1e-12, abs=1e-11), tag
            else:
                assert counted[tag] == pytest.approx(value, rel=1e-12, abs=1e-12 * scale**4), tag
