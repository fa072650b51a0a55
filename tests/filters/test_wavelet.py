"""Separable wavelets: coefficients against their defining properties; the a trous cascade
and rotation invariance against second formulations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurorad import filters
from neurorad.filters import wavelet
from neurorad.filters._wavelet_coefficients import SCALING_FILTERS
from tests.filters.rotations import image_rotations


def _vanishing_moments(name: str) -> int:
    if name == "haar":
        return 1
    n = int(name.lstrip("dbsymcoif"))
    return 2 * n if name.startswith("coif") else n


@pytest.mark.parametrize("name", sorted(SCALING_FILTERS))
def test_scaling_filter_properties(name):
    h = np.asarray(SCALING_FILTERS[name])
    n = h.size
    assert h.sum() == pytest.approx(math.sqrt(2), abs=1e-12)
    for m in range(n // 2):  # orthonormal to its even shifts
        assert np.dot(h[2 * m:], h[:n - 2 * m]) == pytest.approx(float(m == 0), abs=1e-10)
    low, high = wavelet.decomposition_filters(name)
    k = np.arange(n, dtype=float)
    k -= k.mean()  # moments about the centre: conditioning of k^p
    for p in range(_vanishing_moments(name)):  # the wavelet's vanishing moments
        assert abs(np.sum(k ** p * high)) <= 1e-8 * np.sum(np.abs(k) ** p), (name, p)
    assert np.dot(low, high) == pytest.approx(0.0, abs=1e-12)
    if name.startswith("db") and name != "db1":  # extremal phase: energy front-loaded in h
        assert np.cumsum(h ** 2)[n // 2 - 1] > 0.5


def test_length_of_families():
    assert len(SCALING_FILTERS["db3"]) == 6 and len(SCALING_FILTERS["coif1"]) == 6
    assert len(SCALING_FILTERS["sym4"]) == 8 and len(SCALING_FILTERS["coif5"]) == 30


def _spec(response, level, rot=False, kernel="haar", boundary="periodic", dims=None):
    return {"filter": "wavelet", "dimensions": dims or ("3d" if len(response) == 3 else "2d"),
            "boundary": boundary, "kernel": kernel, "wavelet_response": response,
            "decomposition_level": level, "rotation_invariant": rot,
            "pooling": "average" if rot else "none"}


def test_haar_level1_by_hand():
    # dec_hi = (-1/sqrt2, 1/sqrt2) + trailing zero, centred on the middle tap; as a
    # convolution out[i] = (x[i] - x[i+1]) / sqrt2. Along y (one voxel, nearest) the low-pass
    # multiplies by sum(dec_lo) = sqrt2.
    a = np.zeros((1, 1, 8))
    a[..., 3:] = 8.0
    out = filters.apply_array(a, (1, 1, 1), _spec("HL", 1, boundary="nearest"))
    expected = np.zeros(8)
    expected[2] = -8.0
    np.testing.assert_allclose(out[0, 0], expected, atol=1e-12)


@pytest.mark.parametrize("kernel", ["haar", "db2", "coif1"])
def test_level2_equals_fourier_formulation(kernel):
    # Periodic boundary: the a trous cascade equals multiplying the DFT by
    # L1(w) * X2(w) per axis, where X2(w) = X1(2 w) (dilation by 2).
    rng = np.random.default_rng(6)
    a = rng.normal(size=(16, 16, 16))
    low, high = (wavelet.centred(f) for f in wavelet.decomposition_filters(kernel))

    def transfer(k, n, dilation):
        c = k.size // 2
        taps = np.arange(k.size) - c
        w = np.fft.fftfreq(n)
        return (k[None, :] * np.exp(-2j * np.pi * w[:, None] * taps[None, :] * dilation)).sum(1)

    n = 16
    f = np.fft.fftn(a)
    letters = "HLH"
    axes_of = {"x": 2, "y": 1, "z": 0}
    for letter, axis_name in zip(letters, "xyz"):
        t = transfer(low, n, 1) * transfer(high if letter == "H" else low, n, 2)
        shape = [1, 1, 1]
        shape[axes_of[axis_name]] = n
        f = f * t.reshape(shape)
    expected = np.fft.ifftn(f).real
    out = filters.apply_array(a, (1, 1, 1), _spec(letters, 2, kernel=kernel))
    np.testing.assert_allclose(out, expected, atol=1e-10)


@pytest.mark.parametrize("boundary", ["zero", "mirror"])
def test_rotation_invariant_average_equals_average_over_rotated_images(boundary):
    a = np.random.default_rng(7).normal(size=(8, 8, 8))
    plain = _spec("LLH", 2, kernel="db2", boundary=boundary)
    maps = [unrot(filters.apply_array(np.ascontiguousarray(rot(a)), (1, 1, 1), plain))
            for rot, unrot in image_rotations(3)]
    out = filters.apply_array(a, (1, 1, 1), _spec("LLH", 2, True, "db2", boundary))
    np.testing.assert_allclose(out, np.mean(maps, axis=0), atol=1e-12)


def test_bad_response_letters():
    with pytest.raises(filters.FilterSpecError, match="wavelet_response"):
        filters.validate_spec(_spec("LHX", 1))
    with pytest.raises(filters.FilterSpecError, match="wavelet_response"):
        filters.validate_spec({**_spec("LHL", 1), "dimensions": "2d"})
    with pytest.raises(filters.FilterSpecError, match="kernel"):
        filters.validate_spec(_spec("LHL", 1, kernel="bior1.3"))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_coiflet_scaling_function_moments(n):
    # coifN: the scaling filter's moments 1..2N-1 vanish about an integer centre (2N here)
    h = np.asarray(SCALING_FILTERS[f"coif{n}"])
    k = np.arange(h.size)
    c = float((k * h).sum() / h.sum())
    assert c == pytest.approx(2 * n, abs=1e-9)
    for p in range(1, 2 * n):
        assert abs(np.sum((k - c) ** p * h)) <= 1e-9 * np.sum(np.abs(k - c) ** p * np.abs(h))
