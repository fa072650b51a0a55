"""Gabor filters against direct spatial convolution and the definition's conventions."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from neurorad import filters
from neurorad.filters import gabor

MODES = {"zero": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}


def _spec(theta=30.0, rot=False, planes=False, boundary="mirror", response="modulus",
          pooling=None):
    spec = {"filter": "gabor", "dimensions": "2d", "boundary": boundary, "sigma_mm": 2.0,
            "wavelength_mm": 3.0, "spatial_aspect_ratio": 0.7, "orientation_deg": theta,
            "rotation_invariant": rot, "pooling": pooling or ("average" if rot else "none"),
            "orthogonal_planes": planes, "response": response}
    if rot:
        spec["orientation_step_deg"] = 60.0
    return spec


def _direct(a, spacing, spec, theta):
    """Spatial convolution slice by slice with the kernel written from the formula."""
    n = max(a.shape[1], a.shape[2])
    half = n // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1] * np.array([spacing[1], spacing[2]])[:, None, None]
    t = math.radians(theta)
    xr = x * math.cos(t) + y * math.sin(t)
    yr = -x * math.sin(t) + y * math.cos(t)
    g = np.exp(-(xr ** 2 + 0.7 ** 2 * yr ** 2) / (2 * 2.0 ** 2)) * np.exp(2j * math.pi * xr / 3.0)
    mode = MODES[spec["boundary"]]
    out = np.empty(a.shape, complex)
    for z in range(a.shape[0]):
        out[z] = (ndimage.convolve(a[z], g.real, mode=mode)
                  + 1j * ndimage.convolve(a[z], g.imag, mode=mode))
    return out


@pytest.mark.parametrize("boundary", ["zero", "nearest", "periodic", "mirror"])
def test_fft_convolution_equals_direct_convolution(boundary):
    a = np.random.default_rng(8).normal(size=(2, 11, 13))
    spacing = (3.0, 0.9, 0.9)
    spec = _spec(theta=30.0, boundary=boundary, response="real")
    expected = _direct(a, spacing, spec, 30.0)
    np.testing.assert_allclose(filters.apply_array(a, spacing, spec), expected.real, atol=1e-10)
    spec["response"] = "modulus"
    np.testing.assert_allclose(filters.apply_array(a, spacing, spec), np.abs(expected),
                               atol=1e-10)


def test_theta_turns_from_x_towards_y():
    # stripes varying along the direction 60 degrees from +x towards +y (rows = y) respond
    # more at theta = 60 than at theta = -60
    j, i = np.mgrid[0:32, 0:32].astype(float)
    t = math.radians(60)
    a = np.cos(2 * math.pi * (i * math.cos(t) + j * math.sin(t)) / 3.0)[None]
    plus = filters.apply_array(a, (1, 1, 1), _spec(theta=60.0, boundary="periodic"))
    minus = filters.apply_array(a, (1, 1, 1), _spec(theta=-60.0, boundary="periodic"))
    assert plus[0, 16, 16] > 5 * minus[0, 16, 16]


@pytest.mark.parametrize("pooling", ["average", "max"])
def test_rotation_invariance_pools_the_orientations(pooling):
    a = np.random.default_rng(9).normal(size=(2, 12, 12))
    maps = [filters.apply_array(a, (1, 1, 1), _spec(theta=15.0 + 60 * k)) for k in range(6)]
    expected = np.mean(maps, axis=0) if pooling == "average" else np.max(maps, axis=0)
    out = filters.apply_array(a, (1, 1, 1), _spec(theta=15.0, rot=True, pooling=pooling))
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert gabor.orientations(_spec(theta=15.0, rot=True)) == [15.0 + 60 * k for k in range(6)]


def test_orthogonal_planes_average_the_three_planes():
    a = np.random.default_rng(10).normal(size=(9, 10, 12))
    spec = _spec(theta=0.0, rot=True)  # rotation invariant: plane axis order immaterial
    axial = filters.apply_array(a, (1, 1, 1), spec)
    # x-z plane of a = x-y plane of a with axes (z, y) swapped, etc.
    xz = np.swapaxes(filters.apply_array(np.swapaxes(a, 0, 1).copy(), (1, 1, 1), spec), 0, 1)
    yz = np.transpose(filters.apply_array(np.transpose(a, (2, 0, 1)).copy(), (1, 1, 1), spec),
                      (1, 2, 0))
    out = filters.apply_array(a, (1, 1, 1), {**spec, "orthogonal_planes": True})
    np.testing.assert_allclose(out, (axial + xz + yz) / 3, atol=1e-10)


def test_gabor_is_two_dimensional():
    with pytest.raises(filters.FilterSpecError, match="dimensions"):
        filters.validate_spec({**_spec(), "dimensions": "3d"})
    with pytest.raises(filters.FilterSpecError, match="orientation_step_deg"):
        filters.validate_spec({**_spec(), "orientation_step_deg": 45.0})


def test_slabs_give_the_same_map(monkeypatch):
    from neurorad.filters import _core

    a = np.random.default_rng(18).normal(size=(7, 10, 12))
    spec = _spec(theta=20.0, rot=True, planes=True, boundary="nearest")
    whole = filters.apply_array(a, (2.0, 1.0, 1.0), spec)
    monkeypatch.setattr(_core, "FFT_SLAB_BYTES", 16 * 24 * 24 * 2)  # 2 slices per slab
    np.testing.assert_allclose(filters.apply_array(a, (2.0, 1.0, 1.0), spec), whole, atol=1e-12)
