"""Laws kernels and energy maps against a second formulation (rotating the image)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from neurorad import filters
from neurorad.filters import laws
from tests.filters.rotations import image_rotations


def _spec(kernel, dims, rot, pooling, energy=None, boundary="mirror"):
    spec = {"filter": "laws", "dimensions": dims, "boundary": boundary, "kernel": kernel,
            "rotation_invariant": rot, "pooling": pooling, "response_energy": energy is not None}
    if energy is not None:
        spec["energy_distance_voxels"] = energy
    return spec


def test_kernels_have_unit_norm_and_the_published_taps():
    for name, taps in laws.KERNELS_1D.items():
        k = laws.kernel_1d(name)
        assert np.sum(k ** 2) == pytest.approx(1.0)
        np.testing.assert_allclose(k * np.sqrt(np.sum(np.square(taps))), taps)
    assert laws.parse_kernel("E5L5S5") == ["E5", "L5", "S5"]


def test_letters_apply_along_x_y_z_as_a_convolution():
    a = np.random.default_rng(3).normal(size=(7, 8, 9))
    full = np.einsum("i,j,k->ijk", laws.kernel_1d("S5"), laws.kernel_1d("L5"),
                     laws.kernel_1d("E5"))  # (z, y, x): S5 along z, E5 along x
    expected = ndimage.convolve(a, full, mode="constant")
    out = filters.apply_array(a, (1, 1, 1), _spec("E5L5S5", "3d", False, "none",
                                                  boundary="zero"))
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize("kernel, dims, pooling", [("E5L5S5", "3d", "max"),
                                                   ("E3W5R5", "3d", "average"),
                                                   ("L5S5", "2d", "max")])
@pytest.mark.parametrize("boundary", ["zero", "periodic", "mirror", "nearest"])
def test_rotation_invariance_equals_pooling_over_rotated_images(kernel, dims, pooling, boundary):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(7, 9, 9) if dims == "3d" else (3, 9, 9))
    if dims == "3d":
        a = rng.normal(size=(8, 8, 8))  # a cube: every rotation keeps the shape
    plain = _spec(kernel, dims, False, "none", boundary=boundary)
    maps = [unrot(filters.apply_array(np.ascontiguousarray(rot(a)), (1, 1, 1), plain))
            for rot, unrot in image_rotations(3 if dims == "3d" else 2)]
    expected = np.max(maps, axis=0) if pooling == "max" else np.mean(maps, axis=0)
    out = filters.apply_array(a, (1, 1, 1), _spec(kernel, dims, True, pooling, boundary=boundary))
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_energy_map_is_the_windowed_mean_of_the_absolute_pooled_response():
    a = np.random.default_rng(5).normal(size=(9, 9, 9))
    pooled = filters.apply_array(a, (1, 1, 1), _spec("L5E5E5", "3d", True, "max"))
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(np.abs(pooled), 2, "symmetric"),
                                                       (5, 5, 5))
    out = filters.apply_array(a, (1, 1, 1), _spec("L5E5E5", "3d", True, "max", energy=2))
    np.testing.assert_allclose(out, windows.mean(axis=(-3, -2, -1)), atol=1e-12)


@pytest.mark.parametrize("change, key", [({"kernel": "E5L5"}, "kernel"),
                                         ({"kernel": "X5L5S5"}, "kernel"),
                                         ({"pooling": "none"}, "pooling"),
                                         ({"energy_distance_voxels": 3}, "energy_distance_voxels")])
def test_bad_specs(change, key):
    with pytest.raises(filters.FilterSpecError, match=key):
        filters.validate_spec({**_spec("E5L5S5", "3d", True, "max"), **change})
