"""Mean and LoG filters against hand-computed values and a second formulation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from neurorad import filters
from neurorad.filters import log


def _mean(boundary, dimensions="3d", m=3):
    return {"filter": "mean", "dimensions": dimensions, "boundary": boundary, "support_voxels": m}


def test_mean_by_hand():
    a = np.zeros((3, 3, 3))
    a[0, 0, 0] = 27.0
    # zero padding: the corner voxel's 3^3 window holds only itself (value 27 / 27 = 1) and
    # every voxel within one step of it sees it once.
    out = filters.apply_array(a, (1, 1, 1), _mean("zero"))
    assert out[0, 0, 0] == pytest.approx(1.0) and out[1, 1, 1] == pytest.approx(1.0)
    assert out[2, 2, 2] == 0.0
    # nearest padding: the corner is repeated: window of voxel (0,0,0) holds it 8 times
    out = filters.apply_array(a, (1, 1, 1), _mean("nearest"))
    assert out[0, 0, 0] == pytest.approx(8.0)
    # periodic: voxel (2,2,2) is a neighbour of (0,0,0) through the wrap
    out = filters.apply_array(a, (1, 1, 1), _mean("periodic"))
    assert out[2, 2, 2] == pytest.approx(1.0)
    # 2d: only the x-y plane: slice 1 unaffected
    out = filters.apply_array(a, (1, 1, 1), _mean("zero", "2d"))
    assert out[0, 1, 1] == pytest.approx(3.0) and not out[1].any()


@pytest.mark.parametrize("boundary, mode", [("zero", "constant"), ("nearest", "edge"),
                                            ("periodic", "wrap"), ("mirror", "symmetric")])
def test_mean_against_explicit_padding(boundary, mode):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 7, 8))
    m = 5
    p = np.pad(a, 2, mode=mode)
    windows = np.lib.stride_tricks.sliding_window_view(p, (m, m, m))
    expected = windows.mean(axis=(-3, -2, -1))
    out = filters.apply_array(a, (1, 1, 1), _mean(boundary, m=m))
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_log_kernel_is_the_manual_formula():
    spec = {"filter": "log", "dimensions": "3d", "boundary": "zero", "sigma_mm": 3.0,
            "cutoff_sigmas": 4.0}
    k = log.kernel(spec, (2.0, 2.0, 2.0), (0, 1, 2))
    s = 1.5  # voxels
    r = math.floor(4 * s + 0.5)
    assert k.shape == (2 * r + 1,) * 3
    z, y, x = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1]
    d2 = x ** 2 + y ** 2 + z ** 2
    manual = -(1 / s ** 2) * (s * math.sqrt(2 * math.pi)) ** -3 * (3 - d2 / s ** 2) \
        * np.exp(-d2 / (2 * s ** 2))
    np.testing.assert_allclose(k, manual, rtol=1e-12, atol=1e-15)


def test_log_separable_equals_full_kernel_convolution():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(9, 10, 11))
    spec = {"filter": "log", "dimensions": "3d", "boundary": "mirror", "sigma_mm": 1.6,
            "cutoff_sigmas": 3.0}
    spacing = (2.0, 0.8, 1.0)  # anisotropic: sigma 0.8, 2, 1.6 voxels
    k = log.kernel(spec, spacing, (0, 1, 2))
    expected = ndimage.convolve(a, k, mode="reflect")
    np.testing.assert_allclose(filters.apply_array(a, spacing, spec), expected, atol=1e-12)


def test_log_2d_acts_in_plane_only():
    a = np.zeros((3, 21, 21))
    a[1, 10, 10] = 1.0
    spec = {"filter": "log", "dimensions": "2d", "boundary": "zero", "sigma_mm": 2.0,
            "cutoff_sigmas": 4.0}
    out = filters.apply_array(a, (5.0, 1.0, 1.0), spec)
    assert not out[0].any() and not out[2].any()
    # centre of a 2-D LoG: -(1/s^2) (s sqrt(2 pi))^-2 * 2
    assert out[1, 10, 10] == pytest.approx(-(1 / 4) * (2 * math.sqrt(2 * math.pi)) ** -2 * 2)
