"""Simoncelli wavelet and Riesz transforms against independent formulations: the transfer
function written out frequency by frequency, spatial against FFT convolution, analytic
responses to plane waves, and steering against the directly rotated Fourier multiplier.
IBSI 2 has no reference map for the steered (aligned) variants; these tests are their check.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from neurorad import filters
from neurorad.filters import log, riesz


def _simoncelli(level, boundary="periodic", dims="3d"):
    return {"filter": "simoncelli", "dimensions": dims, "boundary": boundary,
            "decomposition_level": level}


def _riesz_log(order, aligned=False, boundary="periodic", sigma=2.0):
    spec = {"filter": "riesz", "base_filter": "log", "dimensions": "3d" if len(order) == 3 else "2d",
            "boundary": boundary, "sigma_mm": sigma, "cutoff_sigmas": 4.0,
            "riesz_order": list(order), "riesz_aligned": aligned}
    if aligned:
        spec["structure_tensor_sigma"] = 3.0
    return spec


@pytest.mark.parametrize("level", [1, 2, 3])
def test_simoncelli_equals_transfer_function_written_out(level):
    a = np.random.default_rng(11).normal(size=(6, 8, 10))
    grids = [np.linspace(-1, 1, n) for n in a.shape]  # centred order
    h = np.zeros(a.shape)
    w_max = 2.0 ** (1 - level)
    for idx in itertools.product(*(range(n) for n in a.shape)):
        r = math.sqrt(sum(g[i] ** 2 for g, i in zip(grids, idx)))
        if w_max / 4 <= r <= w_max:
            h[idx] = math.cos(math.pi / 2 * math.log2(2 * r / w_max))
    expected = np.fft.ifftn(np.fft.fftn(a) * np.fft.ifftshift(h)).real
    np.testing.assert_allclose(filters.apply_array(a, (1, 1, 1), _simoncelli(level)), expected,
                               atol=1e-12)


def test_simoncelli_mirror_is_periodic_filtering_of_the_padded_image():
    a = np.random.default_rng(12).normal(size=(6, 8, 10))
    padded = np.pad(a, [(3, 3), (4, 4), (5, 5)], mode="symmetric")
    expected = filters.apply_array(padded, (1, 1, 1), _simoncelli(1))[3:-3, 4:-4, 5:-5]
    np.testing.assert_allclose(filters.apply_array(a, (1, 1, 1), _simoncelli(1, "mirror")),
                               expected, atol=1e-12)


def test_simoncelli_2d_is_slice_by_slice():
    a = np.random.default_rng(13).normal(size=(3, 8, 8))
    out = filters.apply_array(a, (1, 1, 1), _simoncelli(1, dims="2d"))
    for z in range(3):
        np.testing.assert_allclose(out[z], filters.apply_array(a[z:z + 1], (1, 1, 1),
                                                               _simoncelli(1, dims="2d"))[0],
                                   atol=1e-12)


@pytest.mark.parametrize("boundary", ["periodic", "mirror", "zero"])
def test_riesz_order_zero_is_the_base_log_filter(boundary):
    # FFT on the padded image (Riesz) against separable spatial convolution (LoG)
    a = np.random.default_rng(14).normal(size=(20, 21, 22))
    spec = _riesz_log((0, 0, 0), boundary=boundary)
    plain = {k: spec[k] for k in ("dimensions", "boundary", "sigma_mm", "cutoff_sigmas")}
    np.testing.assert_allclose(filters.apply_array(a, (1, 1, 1), spec),
                               filters.apply_array(a, (1, 1, 1), {"filter": "log", **plain}),
                               atol=1e-10)


def _plane_wave(k, n):
    """cos(phi), phi = 2 pi (k . x) / n, k in (x, y, z) order, on an n^3 grid (z, y, x)."""
    z, y, x = np.mgrid[0:n, 0:n, 0:n]
    return 2 * np.pi * (k[0] * x + k[1] * y + k[2] * z) / n


def _log_gain(k, n, spec):
    """H(k) of the LoG kernel by direct summation, k in (x, y, z) order."""
    kern = log.kernel(spec, (1.0, 1.0, 1.0), (0, 1, 2))
    r = kern.shape[0] // 2
    z, y, x = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1]
    return float(np.sum(kern * np.cos(2 * np.pi * (k[0] * x + k[1] * y + k[2] * z) / n)))


@pytest.mark.parametrize("order", [(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 2, 0), (1, 1, 0),
                                   (2, 0, 1)])
def test_riesz_of_a_plane_wave_is_analytic(order):
    # R_l cos(phi) = H(k) sqrt(L!/l!) k^l / |k|^L Re((-i)^L e^{i phi})
    n, k = 24, (2, -3, 1)
    phi = _plane_wave(k, n)
    spec = _riesz_log(order)
    L = sum(order)
    c = math.sqrt(math.factorial(L) / math.prod(math.factorial(v) for v in order))
    mono = math.prod(kv ** lv for kv, lv in zip(k, order)) / math.sqrt(sum(v * v for v in k)) ** L
    expected = _log_gain(k, n, spec) * c * mono * np.real((-1j) ** L * np.exp(1j * phi))
    np.testing.assert_allclose(filters.apply_array(np.cos(phi), (1, 1, 1), spec), expected,
                               atol=1e-10)


@pytest.mark.parametrize("order, k", [((1, 0, 0), (1, 2, 3)), ((2, 0, 0), (1, 2, 3)),
                                      ((1, 0, 0), (2, 2, 0)), ((0, 1, 0), (2, 2, 0)),
                                      ((0, 0, 2), (2, 2, 0)), ((0, 1, 1), (2, 2, 0))])
def test_aligned_riesz_of_an_oblique_plane_wave(order, k):
    # The central-difference gradient of cos(phi), phi = 2 pi k.x / n, is
    # -sin(phi) g with g_d = sin(2 pi k_d / n) / 1 mm: the structure tensor has the one
    # direction e_1 = g / |g| (largest component positive). The steered filter of order
    # (l, 0, 0) gives H(k) c^l Re((-i)^l e^{i phi}), c = e_1 . k / |k|. Orders along e_2 / e_3
    # are defined only when they are orthogonal to k, i.e. when g is parallel to k
    # (k = (2, 2, 0)): then the response is 0.
    n = 24
    phi = _plane_wave(k, n)
    g = np.sin(2 * np.pi * np.array(k) / n)
    e1 = g / np.linalg.norm(g)
    c = float(e1 @ np.array(k)) / np.linalg.norm(k)
    spec = _riesz_log(order, aligned=True)
    gain = _log_gain(k, n, spec)
    if order[0]:
        expected = gain * c ** order[0] * np.real((-1j) ** order[0] * np.exp(1j * phi))
    else:
        assert abs(c) > 1 - 1e-12  # g parallel to k
        expected = np.zeros_like(phi)
    out = filters.apply_array(np.cos(phi), (1, 1, 1), spec)
    np.testing.assert_allclose(out, expected, atol=1e-8 * abs(gain))


@pytest.mark.parametrize("order", [(1, 1, 0), (0, 2, 1), (1, 0), (1, 2)])
def test_steering_equals_the_rotated_fourier_multiplier(order, monkeypatch):
    # With a frame fixed by hand, the steered combination of Riesz components must equal
    # the filter prod_i (e_i . w)^{l_i} / |w|^L applied directly in the Fourier domain.
    d = len(order)
    rng = np.random.default_rng(15)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))  # columns e_i, components in x, y, z order
    shape = (10, 12, 14) if d == 3 else (2, 12, 14)
    a = rng.normal(size=shape)
    monkeypatch.setattr(riesz, "structure_frame",
                        lambda array, *args: np.broadcast_to(q, array.shape + (d, d)))
    spec = _riesz_log(order, aligned=True, sigma=1.0)
    out = filters.apply_array(a, (1, 1, 1), spec)

    axes = (0, 1, 2) if d == 3 else (1, 2)
    freq = {ax: np.fft.fftfreq(shape[ax]) for ax in axes}
    grids = np.meshgrid(*[freq[ax] for ax in axes], indexing="ij")  # numpy-axis order
    w_xyz = grids[::-1]  # x, y(, z) components
    r = np.sqrt(sum(g ** 2 for g in w_xyz))
    L = sum(order)
    poly = np.ones_like(r)
    for i, li in enumerate(order):
        poly = poly * sum(q[c, i] * w_xyz[c] for c in range(d)) ** li
    mult = (-1j) ** L * math.sqrt(math.factorial(L) / math.prod(math.factorial(v) for v in order))
    mult = mult * np.where(r > 0, poly / np.where(r > 0, r, 1) ** L, 0)
    kern = log.kernel(spec, (1, 1, 1), axes)
    from neurorad.filters._core import embed_kernel
    h = np.fft.fftn(embed_kernel(kern, tuple(shape[ax] for ax in axes)))
    if d == 2:
        expected = np.fft.ifftn(np.fft.fftn(a, axes=(1, 2)) * (h * mult)[None], axes=(1, 2)).real
    else:
        expected = np.fft.ifftn(np.fft.fftn(a) * h * mult).real
    np.testing.assert_allclose(out, expected, atol=1e-10)


def test_riesz_spec_errors():
    with pytest.raises(filters.FilterSpecError, match="riesz_order"):
        filters.validate_spec(_riesz_log((1, 0)) | {"dimensions": "3d"})
    with pytest.raises(filters.FilterSpecError, match="decomposition_level"):
        filters.validate_spec(_riesz_log((1, 0, 0)) | {"decomposition_level": 1})
    with pytest.raises(filters.FilterSpecError, match="structure_tensor_sigma"):
        filters.validate_spec(_riesz_log((1, 0, 0), aligned=True) | {"riesz_aligned": False})
