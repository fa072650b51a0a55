"""Moran's I and Geary's C of the ROI intensities, exact, by FFT convolution.

Both IBSI indices sum over all ordered voxel pairs ``k1 != k2`` of the intensity mask with the
inverse-distance weight ``w = 1/||c_k1 - c_k2||`` (world coordinates, mm). A pair loop costs
``O(N^2)``; the IBSI manual suggests sub-sampling large ROIs. We instead write every pair sum
as a correlation with the kernel ``K(d) = 1/||d||`` (``K(0) = 0``) over the voxel grid:

    W     = sum_{k1 != k2} w          = sum_k m_k (K * m)_k
    S_I   = sum_{k1 != k2} w y1 y2    = sum_k y_k (K * y)_k
    S_C   = sum_{k1 != k2} w (x1-x2)^2 = 2 sum_k y_k^2 (K * m)_k - 2 S_I

with ``m`` the mask indicator and ``y = (x - mu) m`` the centred intensities (``K`` is even, so
correlation equals convolution). A circular FFT convolution of length ``L >= 2n - 1`` per axis
reproduces the linear one on the ROI grid exactly (no offset ``|d| <= n - 1`` wraps onto
another), so the result equals the pair sums up to floating-point rounding, in
``O(L^3 log L)`` for any ROI size. Each sum ``sum_k a_k (K * b)_k`` is evaluated in the
frequency domain by Parseval's theorem, ``(1/L^3) sum_f conj(a_hat) K_hat b_hat``, so one
batched forward transform of ``(m, y, y^2)`` and the kernel's transform are all that is needed. This module is separate from morphology.py because it is
intensity arithmetic written against the array module (runs on CuPy unchanged).

Reference: IBSI reference manual, "Moran's I index" (N365) and "Geary's C measure" (NPT7);
Moran PAP, Biometrika 1950;37:17-23; Geary RC, Inc Stat 1954;5:115-146.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from neurorad.features.backend import get_xp


def fft_module(xp):
    """FFT module for the array module: scipy.fft for NumPy, cupyx.scipy.fft for CuPy."""
    if xp is np:
        import scipy.fft

        return scipy.fft
    import cupyx.scipy.fft

    return cupyx.scipy.fft


def even_fft_shape(min_shape) -> tuple[int, ...]:
    """Smallest even, FFT-friendly (5-smooth) lengths at least ``min_shape`` per axis.

    Even lengths let the kernel transform come from a DCT-I of one octant (see
    :func:`inverse_distance_kernel_hat`).
    """
    import scipy.fft

    shape = []
    for n in min_shape:
        length = int(scipy.fft.next_fast_len(max(int(n), 2), real=True))
        while length % 2:
            length = int(scipy.fft.next_fast_len(length + 1, real=True))
        shape.append(length)
    return tuple(shape)


def inverse_distance_kernel_hat(fft_shape, spacing, xp):
    """``rfftn`` of the circular kernel ``K[k] = 1/||d(k)||`` (mm), ``d = min(k, L - k)``, ``K[0] = 0``.

    ``K`` is real and even on every axis, so its DFT is real and equals the (unnormalised)
    DCT-I of one octant ``k in [0, L/2]^3``: 8x fewer samples than the full transform. The
    octant spectrum is mirrored (``K_hat[L - k] = K_hat[k]``) on the first axes to the
    ``rfftn`` layout ``(L0, L1, L2/2 + 1)``.
    """
    fft = fft_module(xp)
    dist2 = xp.zeros(tuple(n // 2 + 1 for n in fft_shape), dtype=xp.float64)
    for axis, (length, step) in enumerate(zip(fft_shape, spacing)):
        d = xp.arange(length // 2 + 1, dtype=xp.float64) * float(step)
        shape = [1] * len(fft_shape)
        shape[axis] = length // 2 + 1
        dist2 = dist2 + (d**2).reshape(shape)
    dist2[(0,) * len(fft_shape)] = 1.0
    octant = 1.0 / xp.sqrt(dist2)
    octant[(0,) * len(fft_shape)] = 0.0
    try:
        octant_hat = fft.dctn(octant, type=1)
    except (AttributeError, NotImplementedError, ValueError):
        # Array modules without a DCT-I (some CuPy versions): transform the full kernel.
        full = octant
        for axis, length in enumerate(fft_shape):
            mirror = xp.concatenate([xp.arange(length // 2 + 1), xp.arange(length // 2 - 1, 0, -1)])
            full = xp.take(full, mirror, axis=axis)
        return fft.rfftn(full).real
    for axis, length in enumerate(fft_shape[:-1]):
        mirror = xp.concatenate([xp.arange(length // 2 + 1), xp.arange(length // 2 - 1, 0, -1)])
        octant_hat = xp.take(octant_hat, mirror, axis=axis)
    return octant_hat


def padded_rfftn(arrays, fft_shape, xp):
    """``rfftn`` over the last three axes of zero-padded ``arrays``, skipping all-zero lines.

    The inputs fill only ``n <= L/2`` of each padded axis, so transforming axis by axis (last
    axis first, each time only the lines that can be non-zero) does about half the work of a
    plain ``rfftn`` on the padded cube, with identical results.
    """
    fft = fft_module(xp)
    spectrum = fft.rfft(arrays, n=fft_shape[-1], axis=-1)
    for axis in range(-2, -len(fft_shape) - 1, -1):
        spectrum = fft.fft(spectrum, n=fft_shape[axis], axis=axis)
    return spectrum


def _half_spectrum_weights(kernel_hat, last_length: int, xp):
    """Kernel spectrum times the multiplicity of each ``rfftn`` bin, divided by the DFT size.

    Bins ``1..L/2 - 1`` of the last axis stand for two conjugate bins of the full spectrum.
    """
    weights = 2.0 * kernel_hat
    weights[..., 0] *= 0.5
    weights[..., last_length // 2] *= 0.5
    return weights / float(np.prod(kernel_hat.shape[:-1]) * last_length)


def _bounding_box(mask, xp):
    """Slices of the smallest box holding all True voxels of ``mask``."""
    idx = xp.nonzero(mask)
    return tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)


def moran_geary(image, int_mask, spacing) -> tuple[float, float]:
    """Moran's I and Geary's C with inverse-distance weights over all voxel pairs of the ROI.

    Parameters
    ----------
    image : array (NumPy or CuPy), 3-D
        Intensities, (z, y, x).
    int_mask : bool array, same shape
        ROI intensity mask.
    spacing : (float, float, float)
        Voxel spacing (z, y, x) in mm.

    Returns
    -------
    (moran_i, geary_c) : floats
        .. math::
           I = \\frac{N}{W}\\frac{\\sum_{k_1\\ne k_2} w_{k_1k_2}(x_{k_1}-\\mu)(x_{k_2}-\\mu)}
               {\\sum_k (x_k-\\mu)^2},\\qquad
           C = \\frac{N-1}{2W}\\frac{\\sum_{k_1\\ne k_2} w_{k_1k_2}(x_{k_1}-x_{k_2})^2}
               {\\sum_k (x_k-\\mu)^2}

        with :math:`w = 1/\\|\\mathbf{c}_{k_1}-\\mathbf{c}_{k_2}\\|` and
        :math:`W=\\sum_{k_1\\ne k_2} w_{k_1k_2}`. NaN (with a warning) for fewer than two voxels
        or constant intensities.
    """
    xp = get_xp(image, int_mask)
    mask = xp.asarray(int_mask, dtype=bool)
    n_vox = int(mask.sum())
    if n_vox < 2:
        warnings.warn("morph_moran_i / morph_geary_c are undefined for an ROI of fewer than two "
                      "voxels; returning NaN", RuntimeWarning, stacklevel=2)
        return math.nan, math.nan
    box = _bounding_box(mask, xp)
    m = mask[box].astype(xp.float64)
    x = xp.asarray(image, dtype=xp.float64)[box]
    mu = float((x * m).sum()) / n_vox
    y = (x - mu) * m
    sum_sq = float((y * y).sum())
    if sum_sq <= 1e-24 * max(1.0, mu * mu) * n_vox:
        warnings.warn("morph_moran_i / morph_geary_c are undefined for constant intensities in the "
                      "ROI; returning NaN", RuntimeWarning, stacklevel=2)
        return math.nan, math.nan
    roi_shape = m.shape
    fft_shape = even_fft_shape([2 * n - 1 for n in roi_shape])
    weights = _half_spectrum_weights(inverse_distance_kernel_hat(fft_shape, spacing, xp),
                                     fft_shape[-1], xp)
    # One batched transform of mask, centred intensities and their squares; each pair sum
    # sum_k a_k (K * b)_k is then a spectral dot product (Parseval), no inverse transform.
    m_hat, y_hat, y2_hat = padded_rfftn(xp.stack([m, y, y * y]), fft_shape, xp)
    weighted_m = m_hat * weights
    weight_sum = float(xp.vdot(m_hat, weighted_m).real)
    s_i = float(xp.vdot(y_hat, y_hat * weights).real)
    s_c = 2.0 * float(xp.vdot(y2_hat, weighted_m).real) - 2.0 * s_i
    moran = n_vox / weight_sum * s_i / sum_sq
    geary = (n_vox - 1) / (2.0 * weight_sum) * s_c / sum_sq
    return moran, geary
