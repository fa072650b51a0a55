"""Resampling, re-segmentation and discretisation against hand-derived values."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from neurorad.preprocess.discretise import (
    as_grey_levels,
    discretise,
    equal_probability,
    fbn_nested_levels,
    fixed_bin_number,
    fixed_bin_size,
    fixed_bin_size_aligned,
)
from neurorad.preprocess.resample import new_grid, resample_array, resample_roi
from neurorad.preprocess.resegment import outlier_mask, range_mask, resegment
from neurorad.settings import Discretisation


# ---------------------------------------------------------------- resampling grid (IBSI 2.4)
def test_new_grid_matches_ibsi_ct_phantom_dimensions():
    # CT phantom: 204 x 201 x 60 voxels of 0.977 x 0.977 x 3 mm -> 100 x 99 x 90 at 2 mm
    # (IBSI reference diagnostics img_dim_*_interp_img); in-plane only keeps z.
    shape, _, _ = new_grid((60, 201, 204), (3.0, 0.977, 0.977), (2.0, 2.0, 2.0))
    assert shape == (90, 99, 100)
    shape, scale, offset = new_grid((60, 201, 204), (3.0, 0.977, 0.977), (None, 2.0, 2.0))
    assert shape == (60, 99, 100) and scale[0] == 1 and offset[0] == 0


def test_new_grid_is_centre_aligned():
    # 4 voxels of 1 mm -> 2 voxels of 2 mm; old centre at index 1.5, new voxels at 0.5, 2.5.
    shape, scale, offset = new_grid((4,), (1.0,), (2.0,))
    assert shape == (2,)
    assert list(offset + scale * np.arange(2)) == [0.5, 2.5]
    # 5 voxels of 1 mm -> ceil(5/2) = 3 voxels; centre 2 -> positions 0, 2, 4.
    shape, scale, offset = new_grid((5,), (1.0,), (2.0,))
    assert shape == (3,)
    assert list(offset + scale * np.arange(3)) == [0.0, 2.0, 4.0]
    # Upsampling 3 voxels of 2 mm to 1 mm: 6 voxels centred on index 1: -0.25 ... 2.25.
    shape, scale, offset = new_grid((3,), (2.0,), (1.0,))
    assert shape == (6,)
    np.testing.assert_allclose(offset + scale * np.arange(6),
                               [-0.25, 0.25, 0.75, 1.25, 1.75, 2.25])


def _ramp(shape):
    z, y, x = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    return 3.0 * z + 2.0 * y - x, (3.0, 2.0, -1.0)


def test_linear_interpolation_reproduces_a_ramp_with_clamped_borders():
    image, coef = _ramp((5, 6, 7))
    spacing, target = (2.0, 1.0, 1.0), (1.5, 0.7, 1.3)
    out = resample_array(image, spacing, target, order=1)
    shape, scale, offset = new_grid(image.shape, spacing, target)
    assert out.shape == shape
    # A ramp is linear per axis, so (tri)linear interpolation is exact and nearest-boundary
    # extrapolation equals evaluating the ramp at the clamped position.
    pos = [np.clip(offset[a] + scale[a] * np.arange(shape[a]), 0, image.shape[a] - 1)
           for a in range(3)]
    pz, py, px = np.meshgrid(*pos, indexing="ij")
    np.testing.assert_allclose(out, coef[0] * pz + coef[1] * py + coef[2] * px, atol=1e-9)


def test_cubic_spline_reproduces_a_ramp_inside_the_grid():
    # The B-spline prefilter's boundary rule disturbs values near the border (decaying as
    # 0.27^distance), so compare at least 8 voxels inside.
    image, coef = _ramp((24, 24, 24))
    out = resample_array(image, (1.0, 1.0, 1.0), (0.8, 0.8, 0.8), order=3)
    shape, scale, offset = new_grid(image.shape, (1.0,) * 3, (0.8,) * 3)
    pos = [offset[a] + scale[a] * np.arange(shape[a]) for a in range(3)]
    pz, py, px = np.meshgrid(*pos, indexing="ij")
    expected = coef[0] * pz + coef[1] * py + coef[2] * px
    inside = ((pz > 8) & (pz < 15) & (py > 8) & (py < 15) & (px > 8) & (px < 15))
    assert inside.sum() > 100
    np.testing.assert_allclose(out[inside], expected[inside], atol=1e-4)


def test_nearest_neighbour_picks_original_values():
    image = np.arange(4 * 4 * 4, dtype=float).reshape(4, 4, 4)
    out = resample_array(image, (1.0, 1.0, 1.0), (2.0, 2.0, 2.0), order=0)
    # positions 0.5 and 2.5 per axis: scipy rounds half up -> indices 1 and 3.
    assert out.shape == (2, 2, 2)
    assert out[0, 0, 0] == image[1, 1, 1] and out[1, 1, 1] == image[3, 3, 3]


def test_mask_partial_volume_threshold():
    # 1-D mask along x; 1 mm -> 2 mm samples old positions 0.5, 2.5, 4.5, 6.5 whose linear
    # fractions are 0, 0.5, 1, 0.
    row = np.array([0, 0, 0, 1, 1, 1, 0, 0], dtype=bool)
    mask = row[np.newaxis, np.newaxis, :]
    image = np.zeros(mask.shape)
    _, m, spacing = resample_roi(image, mask, (1.0, 1.0, 1.0), (None, None, 2.0))
    assert m[0, 0].tolist() == [False, True, True, False]
    assert spacing == (1.0, 1.0, 2.0)
    _, m, _ = resample_roi(image, mask, (1.0, 1.0, 1.0), (None, None, 2.0), mask_threshold=0.6)
    assert m[0, 0].tolist() == [False, False, True, False]


def test_intensity_rounding_after_interpolation():
    image = np.array([[[0.0, 1.0, 3.0, 4.0]]])
    mask = np.ones_like(image, dtype=bool)
    # 1 mm -> 2 mm: positions 0.5 and 2.5 -> 0.5 and 3.5 before rounding (half to even).
    img, _, _ = resample_roi(image, mask, (1.0, 1.0, 1.0), (None, None, 2.0))
    assert img[0, 0].tolist() == [0.5, 3.5]
    img, _, _ = resample_roi(image, mask, (1.0, 1.0, 1.0), (None, None, 2.0),
                             round_intensities=True)
    assert img[0, 0].tolist() == [0.0, 4.0]


# ------------------------------------------------------------- re-segmentation (IBSI 2.5)
def test_range_resegmentation_with_open_bounds():
    image = np.array([-600.0, -500, 0, 400, 401])
    mask = np.array([True, True, True, True, False])
    assert range_mask(image, mask, -500, 400).tolist() == [False, True, True, True, False]
    assert range_mask(image, mask, None, 0).tolist() == [True, True, True, False, False]
    assert range_mask(image, mask, -500, None).tolist() == [False, True, True, True, False]


def test_outlier_filter_uses_population_sd():
    values = [10.0] * 20 + [11.0] * 20 + [40.0]
    image = np.array(values)
    mask = np.ones(image.shape, bool)
    mu, sd = statistics.fmean(values), statistics.pstdev(values)
    expected = [(mu - 3 * sd) <= v <= (mu + 3 * sd) for v in values]
    assert expected[-1] is False and all(expected[:-1])  # 40 is beyond 3 sd (by hand)
    assert outlier_mask(image, mask, 3.0).tolist() == expected


def test_range_then_outliers_and_morphological_mask_kept():
    image = np.array([-2000.0] + [0.0] * 10 + [1.0] * 10 + [30.0])
    morph = np.ones(image.shape, bool)
    int_mask = resegment(image, morph, value_range=(-1000, None), outliers_sd=3.0)
    # -2000 removed by the range; then on the rest mean/sd put 30 beyond 3 sd:
    rest = [0.0] * 10 + [1.0] * 10 + [30.0]
    mu, sd = statistics.fmean(rest), statistics.pstdev(rest)
    assert 30 > mu + 3 * sd
    assert int_mask.tolist() == [False] + [True] * 20 + [False]
    assert morph.all()  # the morphological mask is not touched


# ---------------------------------------------------------------- discretisation (IBSI 2.7)
def test_fixed_bin_number_by_hand():
    values = np.arange(11, dtype=float)  # min 0, max 10, Ng 4: floor(4 x / 10) + 1
    levels, ng = fixed_bin_number(values, 4)
    assert ng == 4
    assert levels.tolist() == [1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4]


def test_fixed_bin_number_single_value_warns_and_gives_level_one():
    with pytest.warns(RuntimeWarning, match="equal"):
        levels, ng = fixed_bin_number(np.full(5, 7.0), 8)
    assert levels.tolist() == [1] * 5 and ng == 8


def test_power_of_two_fbn_levels_nest_exactly():
    rng = np.random.default_rng(3)
    values = rng.normal(size=5000) * 100
    nested = fbn_nested_levels(values, [2, 4, 8, 16, 32, 64, 128, 12])
    for n, (levels, ng) in nested.items():
        direct, _ = fixed_bin_number(values, n)
        assert ng == n
        np.testing.assert_array_equal(levels, direct)


def test_fixed_bin_size_from_lower_bound():
    values = np.array([-500.0, -476, -475, 0, 399])
    levels, ng = fixed_bin_size(values, 25.0, -500.0)
    # floor((x + 500) / 25) + 1
    assert levels.tolist() == [1, 1, 2, 21, 36] and ng == 36
    levels, _ = fixed_bin_size(values, 25.0)  # lower bound = ROI minimum
    assert levels.tolist() == [1, 1, 2, 21, 36]
    with pytest.raises(ValueError, match="below the lower bound"):
        fixed_bin_size(values, 25.0, -400.0)


def test_fixed_bin_size_aligned_to_multiples_of_the_width():
    levels, ng = fixed_bin_size_aligned(np.array([-13.0, 0, 24, 25, 60]), 25.0)
    # floor(x / 25) = -1, 0, 0, 1, 2; minus floor(min / 25) = -1, plus 1
    assert levels.tolist() == [1, 2, 2, 3, 4] and ng == 4


def test_equal_probability_quantile_bins():
    levels, ng = equal_probability(np.arange(1.0, 9.0), 4)
    # R type-7 quantiles of 1..8 at 0, .25, .5, .75, 1: 1, 2.75, 4.5, 6.25, 8;
    # right-closed bins: {1, 2}, {3, 4}, {5, 6}, {7, 8}
    assert levels.tolist() == [1, 1, 2, 2, 3, 3, 4, 4] and ng == 4
    # Ties: median of [1,1,1,1,2,3] is 1 -> breaks 1, 1, 3; the 1s go to bin 1.
    levels, ng = equal_probability(np.array([1.0, 1, 1, 1, 2, 3]), 2)
    assert levels.tolist() == [1, 1, 1, 1, 2, 2] and ng == 2


def test_equal_probability_balances_counts():
    values = np.random.default_rng(0).exponential(size=8000)
    levels, _ = equal_probability(values, 8)
    counts = np.bincount(levels)[1:]
    assert counts.tolist() == [1000] * 8


def test_no_discretisation_requires_integer_levels():
    levels, ng = as_grey_levels(np.array([1.0, 3, 4, 6]))
    assert levels.tolist() == [1, 3, 4, 6] and ng == 6
    with pytest.raises(ValueError, match="integer"):
        as_grey_levels(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="integer"):
        as_grey_levels(np.array([0.0, 2.0]))


def test_discretise_dispatch_uses_resegmentation_lower_bound():
    values = np.array([-1000.0, -990, 400])
    fbs = Discretisation(method="fbs", bin_width=25.0)
    levels, ng = discretise(values, fbs, range_low=-1000.0)
    assert levels.tolist() == [1, 1, 57] and ng == 57  # floor(1400/25) + 1
    explicit = Discretisation(method="fbs", bin_width=25.0, lower_bound=-1010.0)
    levels, _ = discretise(values, explicit, range_low=-1000.0)
    assert levels.tolist() == [1, 1, 57]  # floor(1410 / 25) + 1 = 57
    assert math.floor(20 / 25) + 1 == discretise(values, explicit)[0][1]


def _samples(rng):
    """Continuous, heavily tied and rounded samples of various sizes (1 included)."""
    for n in (1, 2, 3, 7, 50, 999):
        yield rng.normal(size=n)
        yield rng.integers(0, 4, size=n).astype(float)
        yield np.round(rng.exponential(3.0, size=n), 1)


def test_sorted_quantiles_equal_numpy_quantile_bit_for_bit():
    from neurorad.features.statistics import sorted_quantiles

    rng = np.random.default_rng(7)
    for values in _samples(rng):
        for n_bins in (2, 3, 8, 128):
            probs = np.linspace(0.0, 1.0, n_bins + 1)
            np.testing.assert_array_equal(sorted_quantiles(np.sort(values), probs),
                                          np.quantile(values, probs))


def test_equal_probability_from_one_sort_equals_quantile_search():
    # The shared-sort shortcut against the straightforward definition: type-7 quantile
    # breaks, then a search of every value among the inner breaks (right-closed bins).
    from neurorad.preprocess.discretise import equal_probability_levels

    rng = np.random.default_rng(8)
    for values in _samples(rng):
        bins = [2, 4, 8, 16, 32, 64, 128, 5]
        shared = equal_probability_levels(values, bins)
        for n_bins in bins:
            breaks = np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1))
            expected = np.searchsorted(breaks[1:-1], values, side="left") + 1
            levels, ng = shared[n_bins]
            assert ng == n_bins and levels.dtype == np.int64
            np.testing.assert_array_equal(levels, expected)
