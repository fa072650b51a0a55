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
batched forward transform of ``(m, y, y^2)`` and the kernel's transform (a DCT-I of one octant,
cached per grid and spacing) are all that is needed; see :func:`kernel_pair_sums`. ROIs of at
most :data:`DIRECT_MAX_VOXELS` voxels take the plain pair sums instead
(:func:`direct_pair_sums`: exact as well, and cheaper at that size). This module is separate
from morphology.py because it is intensity arithmetic written against the array module (runs
on CuPy unchanged).

Reference: IBSI reference manual, "Moran's I index" (N365) and "Geary's C measure" (NPT7);
Moran PAP, Biometrika 1950;37:17-23; Geary RC, Inc Stat 1954;5:115-146.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from neurorad.backend import fft as fft_for
from neurorad.backend import get_xp
from neurorad.features.texture import roi_bounding_box


@functools.lru_cache(maxsize=4)
def _host_kernel_octant_hat(fft_shape: tuple, spacing: tuple) -> np.ndarray:
    """NumPy kernel spectrum, cached: every image of one ROI (e.g. T1, T2, FLAIR, ten DKI maps)
    shares the grid and spacing."""
    octant = kernel_octant_hat(fft_shape, spacing, np)
    octant.setflags(write=False)
    return octant


def kernel_octant_hat(fft_shape, spacing, xp):
    """DFT of the circular kernel ``K[k] = 1/||d(k)||`` (mm), ``d = min(k, L - k)``, ``K[0] = 0``,
    on one octant of frequencies ``f in [0, L/2]^3``.

    ``K`` is real and even on every axis, so its DFT is real, even, and equals the
    (unnormalised) DCT-I of the kernel's own octant: 8x fewer samples than the full transform.
    The value at any frequency ``f`` is ``octant[min(f, L - f)]`` per axis.
    """
    fft = fft_for(xp)
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
        return fft.dctn(octant, type=1)
    except (AttributeError, NotImplementedError, ValueError):
        # Array modules without a DCT-I (some CuPy versions): transform the full kernel.
        full = octant
        for axis, length in enumerate(fft_shape):
            full = xp.take(full, _folded_index(length, xp), axis=axis)
        spectrum = fft.rfftn(full).real
        return spectrum[tuple(slice(0, n // 2 + 1) for n in fft_shape[:-1])]


def _folded_index(length: int, xp, parity=None):
    """Octant index ``min(f, L - f)`` of the frequencies ``f = 0..L-1`` (or ``f = 2k + parity``)."""
    f = xp.arange(length) if parity is None else 2 * xp.arange(length // 2) + parity
    return xp.minimum(f, length - f)


#: Bytes of spectrum per slab of last-axis frequencies in :func:`kernel_pair_sums` on the CPU:
#: the two remaining transforms and the Parseval sums of a slab then run in the processor's
#: cache (measured at 250k-voxel ROIs: 0.16-0.21 s with the whole spectrum at once, 0.04-0.06 s
#: in 256 KiB slabs; 1 MiB slabs were as slow as none). A GPU takes the whole spectrum at once.
SLAB_BYTES = 1 << 18


def kernel_pair_sums(mask, centred, spacing, xp, *, slab_bytes: int | None = None
                     ) -> tuple[float, float, float]:
    """``W = sum m (K*m)``, ``S_I = sum y (K*y)``, ``T = sum y^2 (K*m)`` over the ROI box, exactly.

    Each is a Parseval sum ``(1/L^3) sum_f K_hat(f) conj(A(f)) B(f)`` over the DFT of the inputs
    zero-padded to ``L = 2 m`` per axis (``m = next_fast_len(n)``, so ``L >= 2 n - 1``: no
    offset wraps). The last axis uses a real FFT (bins ``1..L/2 - 1`` count twice). On the two
    other axes the even and odd frequencies are computed separately without any padding:
    ``A(2k) = FFT_m(a)[k]`` and ``A(2k + 1) = FFT_m(a e^{-i pi j/m})[k]``. Same arithmetic as
    one padded transform, but the working arrays are 4x smaller (no 100 MB temporaries at
    250k-voxel ROIs), which is what made the padded version slow. After the first transform
    every last-axis frequency is independent of the others, so the rest runs on slabs of
    ``slab_bytes`` of spectrum (default :data:`SLAB_BYTES` on the CPU, everything at once on a
    GPU); the slabs only change the order in which the Parseval sums are added.
    """
    import scipy.fft

    fft = fft_for(xp)
    roi_shape = mask.shape
    half = [int(scipy.fft.next_fast_len(int(n))) for n in roi_shape]
    fft_shape = tuple(2 * m for m in half)
    if xp is np:
        octant = _host_kernel_octant_hat(fft_shape, tuple(float(v) for v in spacing))
    else:
        octant = kernel_octant_hat(fft_shape, spacing, xp)
    last = fft_shape[-1]
    multiplicity = xp.full(last // 2 + 1, 2.0)
    multiplicity[0] = multiplicity[-1] = 1.0
    octant = octant * (multiplicity / float(np.prod(fft_shape)))
    stacked = xp.zeros((3, half[0], half[1], roi_shape[2]), dtype=xp.float64)
    stacked[0, :roi_shape[0], :roi_shape[1]] = mask
    stacked[1, :roi_shape[0], :roi_shape[1]] = centred
    stacked[2, :roi_shape[0], :roi_shape[1]] = centred * centred
    spectrum = fft.rfft(stacked, n=last, axis=-1)  # (3, m0, m1, F)
    del stacked
    n_freq = spectrum.shape[-1]
    if slab_bytes is None:
        slab_bytes = SLAB_BYTES if xp is np else n_freq * spectrum[..., :1].nbytes
    width = max(1, int(slab_bytes) // int(spectrum[..., :1].nbytes))
    twiddle = [xp.exp(-1j * xp.pi * xp.arange(m) / m) for m in half[:2]]
    folded = [[_folded_index(fft_shape[axis], xp, parity) for parity in (0, 1)]
              for axis in (0, 1)]
    sums = np.zeros(3)
    for start in range(0, n_freq, width):
        # One slab of last-axis frequencies, frequency before space: (3, w, m0, m1).
        slab = xp.ascontiguousarray(spectrum[..., start:start + width].transpose(0, 3, 1, 2))
        slab_octant = xp.ascontiguousarray(octant[..., start:start + width].transpose(2, 0, 1))
        for p0 in (0, 1):
            part0 = fft.fft(slab * twiddle[0][:, None] if p0 else slab, axis=2)
            rows = slab_octant[:, folded[0][p0]]
            for p1 in (0, 1):
                part = fft.fft(part0 * twiddle[1] if p1 else part0, axis=3)
                weights = rows[:, :, folded[1][p1]]
                m_hat, y_hat, y2_hat = part
                weighted_m = m_hat * weights
                sums += [float(xp.vdot(m_hat, weighted_m).real),
                         float(xp.vdot(y_hat, y_hat * weights).real),
                         float(xp.vdot(y2_hat, weighted_m).real)]
    return float(sums[0]), float(sums[1]), float(sums[2])


#: Up to this many ROI voxels the pair sums are computed pair by pair (``N^2/2`` distances):
#: faster than the transforms there (measured: 0.2 vs 0.3 ms at 200 voxels, 0.6 vs 0.35 ms at
#: 400), and exact too.
DIRECT_MAX_VOXELS = 256


def direct_pair_sums(mask, centred, spacing) -> tuple[float, float, float]:
    """``W``, ``S_I`` and ``T`` of :func:`kernel_pair_sums` from every voxel pair directly.

    With :math:`K_{ij} = 1/\\|c_i - c_j\\|` (:math:`K_{ii} = 0`) over the ROI voxels:
    :math:`W = \\sum_{ij} K_{ij}`, :math:`S_I = y^T K y`, :math:`T = \\sum_i y_i^2 \\sum_j K_{ij}`.
    Host (NumPy) arrays; ``O(N^2)`` memory, for small ROIs only.
    """
    from scipy.spatial.distance import pdist, squareform

    inside = np.asarray(mask, dtype=bool)
    points = np.argwhere(inside) * np.asarray(spacing, dtype=np.float64)
    y = np.asarray(centred, dtype=np.float64)[inside]
    kernel = squareform(1.0 / pdist(points))
    row_sums = kernel.sum(axis=1)
    return float(row_sums.sum()), float(y @ (kernel @ y)), float((y * y) @ row_sums)


def _bounding_box(mask, xp):
    """Slices of the smallest box holding all True voxels of a non-empty ``mask``."""
    return tuple(slice(start, stop) for start, stop in roi_bounding_box(mask))


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
    if xp is np and n_vox <= DIRECT_MAX_VOXELS:
        weight_sum, s_i, y2_weights = direct_pair_sums(m, y, spacing)
    else:
        weight_sum, s_i, y2_weights = kernel_pair_sums(m, y, spacing, xp)
    s_c = 2.0 * y2_weights - 2.0 * s_i
    moran = n_vox / weight_sum * s_i / sum_sq
    geary = (n_vox - 1) / (2.0 * weight_sum) * s_c / sum_sq
    return moran, geary
