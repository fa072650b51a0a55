"""Local intensity peaks (loc_*): IBSI phantom, hand-computed spheres, and a direct loop."""
import math

import numpy as np
import pytest

from neurorad.features.local_intensity import PEAK_RADIUS_MM, local_intensity_features
from tests.features.ibsi_phantom_data import AVAILABLE, load_phantom, mismatches, reference
from tests.gpu_emulation.fixtures import cupy_backend  # noqa: F401  (fixture)


@pytest.mark.skipif(not AVAILABLE, reason="IBSI reference data not found")
def test_digital_phantom_matches_both_reference_values():
    image, mask, spacing = load_phantom()
    ref = reference("loc_")
    assert len(ref) == 2
    assert mismatches(local_intensity_features(image, mask, spacing), ref) == []


def test_radius_is_that_of_a_one_cubic_centimetre_sphere():
    assert 4 / 3 * math.pi * PEAK_RADIUS_MM**3 == pytest.approx(1000.0)


def test_sphere_uses_voxels_outside_the_roi_and_stops_at_the_image_border():
    # 5 mm voxels: only the centre and its 6 face neighbours (5 mm) are within 6.2 mm
    image = np.zeros((5, 5, 5))
    mask = np.zeros((5, 5, 5), bool)
    mask[2, 2, 2] = True
    image[2, 2, 2], image[2, 2, 3], image[3, 3, 3] = 1.0, 8.0, 100.0  # (3,3,3) is 8.7 mm away
    f = local_intensity_features(image, mask, (5.0, 5.0, 5.0))
    assert f["loc_peak_loc"] == pytest.approx(9 / 7) and f["loc_peak_glob"] == pytest.approx(9 / 7)
    corner = np.zeros((5, 5, 5), bool)
    corner[0, 0, 0] = True
    image[0, 0, 0], image[1, 0, 0] = 2.0, 6.0  # corner sphere: itself + 3 neighbours in the image
    assert local_intensity_features(image, corner, (5.0, 5.0, 5.0))["loc_peak_glob"] == pytest.approx(8 / 4)


def direct_sphere_means(image, mask, spacing):
    """Sphere mean around each ROI voxel by looping over all image voxels."""
    grid = np.indices(image.shape).reshape(3, -1).T * np.asarray(spacing)
    values = image.ravel()
    means, centre_values = [], []
    for idx in np.argwhere(mask):
        inside = np.linalg.norm(grid - idx * np.asarray(spacing), axis=1) <= PEAK_RADIUS_MM
        means.append(values[inside].mean())
        centre_values.append(image[tuple(idx)])
    return np.array(means), np.array(centre_values)


@pytest.mark.parametrize("spacing, interior", [((2.0, 1.0, 1.5), False), ((3.0, 0.8, 0.8), False),
                                               ((1.0, 1.0, 1.0), True)])
def test_peaks_equal_a_direct_loop(spacing, interior):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 5, size=(7, 9, 8) if not interior else (20, 21, 19)).astype(float)
    mask = rng.random(image.shape) < 0.2
    if interior:  # ROI farther than the radius from every border: no padding path
        keep = np.zeros_like(mask)
        keep[7:13, 7:14, 7:12] = True
        mask &= keep
    means, values = direct_sphere_means(image, mask, spacing)
    f = local_intensity_features(image, mask, spacing)
    assert f["loc_peak_glob"] == pytest.approx(means.max(), rel=1e-12)
    assert f["loc_peak_loc"] == pytest.approx(means[values == values.max()].max(), rel=1e-12)


def test_empty_mask_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="empty"):
        f = local_intensity_features(np.ones((3, 3, 3)), np.zeros((3, 3, 3), bool), (1, 1, 1))
    assert all(math.isnan(v) for v in f.values())


def test_nan_voxels_outside_the_roi_are_left_out_of_the_spheres_with_a_warning():
    """Issue 14, finding 4: a NaN within the sphere no longer makes the peaks NaN; the
    sphere mean is over its finite voxels (like voxels beyond the border), counted in a
    warning."""
    image = np.zeros((5, 5, 5))
    mask = np.zeros((5, 5, 5), bool)
    mask[2, 2, 2] = True
    image[2, 2, 2], image[2, 2, 3] = 1.0, 8.0
    image[2, 2, 1] = np.nan          # a face neighbour (5 mm): inside the sphere
    image[2, 1, 2] = np.inf          # another face neighbour
    image[0, 0, 0] = np.nan          # 17 mm away: outside every sphere, not counted
    with pytest.warns(RuntimeWarning, match="2 NaN/infinite voxel"):
        f = local_intensity_features(image, mask, (5.0, 5.0, 5.0))
    # Sphere = centre + 6 face neighbours, 2 of them non-finite: (1 + 8) / 5.
    assert f["loc_peak_loc"] == pytest.approx(9 / 5) and f["loc_peak_glob"] == pytest.approx(9 / 5)


@pytest.mark.parametrize("spacing", [(2.0, 1.0, 1.5), (1.0, 1.0, 1.0)])
def test_nan_exclusion_equals_a_direct_loop_over_finite_voxels(spacing):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 5, size=(20, 21, 19)).astype(float)
    mask = np.zeros(image.shape, bool)
    mask[8:12, 8:13, 7:11] = rng.random((4, 5, 4)) < 0.5
    mask[9, 10, 8] = True
    holes = (rng.random(image.shape) < 0.1) & ~mask
    image[holes] = np.nan
    grid = np.indices(image.shape).reshape(3, -1).T * np.asarray(spacing)
    values = image.ravel()
    means = []
    for idx in np.argwhere(mask):
        inside = np.linalg.norm(grid - idx * np.asarray(spacing), axis=1) <= PEAK_RADIUS_MM
        means.append(np.nanmean(values[inside]))
    with pytest.warns(RuntimeWarning, match="left out"):
        f = local_intensity_features(image, mask, spacing)
    assert f["loc_peak_glob"] == pytest.approx(max(means))


def test_nan_exclusion_on_the_gpu_path(cupy_backend):
    """The same values through CuPy (the emulator in CI, the real one on a GPU machine)."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 5, size=(9, 10, 11)).astype(float)
    mask = np.zeros(image.shape, bool)
    mask[3:6, 4:7, 4:8] = True
    image[~mask & (rng.random(image.shape) < 0.1)] = np.nan
    with pytest.warns(RuntimeWarning, match="left out"):
        cpu = local_intensity_features(image, mask, (2.0, 1.0, 1.0))
    with pytest.warns(RuntimeWarning, match="left out"):
        gpu = local_intensity_features(cupy_backend.asarray(image), cupy_backend.asarray(mask),
                                       (2.0, 1.0, 1.0))
    assert gpu == pytest.approx(cpu, rel=1e-12)
