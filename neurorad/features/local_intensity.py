"""Local intensity features (IBSI family *9ST6*, tags ``loc_*``).

Both features average the image over a 1 cm^3 sphere, radius ``r = (3/(4 pi))^{1/3} cm``
(about 6.2 mm), centred on a voxel of the ROI intensity mask; the sphere takes **all** image
voxels whose centres lie within ``r`` (world coordinates), inside the ROI or not, so the whole
image is needed. Voxels beyond the image border do not exist and are not counted; neither are
NaN/infinite voxels (e.g. a map masked with NaN outside the brain): each sphere mean is over
its finite voxels, and a RuntimeWarning gives how many non-finite voxels were within reach of
the ROI. Non-finite voxels inside the ROI are refused by the loader (the case fails, named).

The sphere means of every candidate voxel come from an FFT convolution with the spherical
indicator kernel on the ROI bounding box grown by the kernel's half-width: every voxel that can
enter a sphere is inside that crop. Near the image border the crop is zero-padded and a second
convolution counts the existing voxels in each sphere.

Reference: IBSI reference manual (arXiv:1612.07003), "Local intensity features";
Frings V. et al., J Nucl Med 2014;55:1953-1959; Wahl R.L. et al., J Nucl Med 2009;50:122S.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from neurorad.backend import fft as fft_for
from neurorad.backend import get_xp

#: Radius (mm) of a sphere of volume 1 cm^3.
PEAK_RADIUS_MM = 10.0 * (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0)

FEATURES = {
    "loc_peak_loc": ("VJGA", "Local intensity peak",
                     r"\max_{k: x_k = \max X_{gl}} \mathrm{mean}\{x_j : \|c_j - c_k\| \le r\}, r = (3/4\pi)^{1/3} cm"),
    "loc_peak_glob": ("0F91", "Global intensity peak",
                      r"\max_{k \in ROI} \mathrm{mean}\{x_j : \|c_j - c_k\| \le r\}"),
}


def sphere_kernel(spacing, radius_mm: float = PEAK_RADIUS_MM) -> np.ndarray:
    """Indicator (float) of the voxel offsets whose centre distance is at most ``radius_mm``.

    Cached per (spacing, radius): every image of a cohort resampled to one grid shares it.
    The returned array is read-only.
    """
    return _sphere_kernel(tuple(float(s) for s in spacing), float(radius_mm))


@functools.lru_cache(maxsize=16)
def _sphere_kernel(spacing: tuple, radius_mm: float) -> np.ndarray:
    half = [int(math.floor(radius_mm / s + 1e-9)) for s in spacing]
    grids = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, spacing)], indexing="ij")
    dist2 = sum(g**2 for g in grids)
    kernel = (dist2 <= radius_mm**2 * (1 + 1e-12)).astype(np.float64)
    kernel.setflags(write=False)
    return kernel


def _kernel_spectrum(kernel, fft_shape, xp):
    """Real FFT of the centred odd-sized ``kernel`` wrapped circularly onto ``fft_shape``."""
    wrapped = xp.zeros(fft_shape, dtype=xp.float64)
    half = [k // 2 for k in kernel.shape]
    offsets = [xp.arange(-h, h + 1) % n for h, n in zip(half, fft_shape)]
    wrapped[xp.ix_(*offsets)] = xp.asarray(kernel)
    return fft_for(xp).rfftn(wrapped)


@functools.lru_cache(maxsize=16)
def _host_sphere_spectrum(spacing: tuple, radius_mm: float, fft_shape: tuple) -> np.ndarray:
    """NumPy sphere-kernel spectrum, cached: ROIs of one size class on one grid share it."""
    spectrum = _kernel_spectrum(sphere_kernel(spacing, radius_mm), fft_shape, np)
    spectrum.setflags(write=False)
    return spectrum


def _circular_convolve(arrays, spacing, radius_mm, xp):
    """Circular convolution of each array (stacked on axis 0) with the centred sphere kernel,
    by FFT at the next fast lengths (>= the array shape; extra length is zero padding).

    Exact (linear) at every position at least the kernel half-width away from the array edges:
    the caller guarantees the ROI voxels are.
    """
    import scipy.fft

    shape = arrays.shape[1:]
    fft_shape = tuple(int(scipy.fft.next_fast_len(n, real=True)) for n in shape)
    if xp is np:
        kernel_hat = _host_sphere_spectrum(tuple(float(s) for s in spacing), float(radius_mm), fft_shape)
    else:
        kernel_hat = _kernel_spectrum(sphere_kernel(spacing, radius_mm), fft_shape, xp)
    fft = fft_for(xp)
    axes = tuple(range(1, len(shape) + 1))
    spectrum = fft.rfftn(arrays, s=fft_shape, axes=axes) * kernel_hat[None]
    full = fft.irfftn(spectrum, s=fft_shape, axes=axes)
    return full[(slice(None),) + tuple(slice(0, n) for n in shape)]


def sphere_means(image, int_mask, spacing, radius_mm: float = PEAK_RADIUS_MM, *,
                 return_excluded: bool = False):
    """Mean image intensity in the sphere around every voxel of the intensity mask.

    The ROI bounding box grown by the kernel half-width is taken from the image; where it
    would leave the image it is zero-padded instead, and then (only then) a second
    convolution of the inside-image indicator counts the voxels that really exist.
    Non-finite voxels (NaN/inf, e.g. a map masked with NaN outside the brain) are left out
    the same way: a sphere's mean is over its finite voxels.

    Returns
    -------
    (means, values) : 1-D arrays (array module of ``image``), in ``argwhere(int_mask)`` order
        Sphere means and the voxels' own intensities; with ``return_excluded`` a third
        item, the number of non-finite voxels within the radius of some ROI voxel.
    """
    xp = get_xp(image, int_mask)
    img = xp.asarray(image, dtype=xp.float64)
    mask = xp.asarray(int_mask, dtype=bool)
    kernel = sphere_kernel(spacing, radius_mm)
    half = [k // 2 for k in kernel.shape]
    idx = xp.nonzero(mask)
    lows = [int(i.min()) - h for i, h in zip(idx, half)]
    highs = [int(i.max()) + h + 1 for i, h in zip(idx, half)]
    box = tuple(slice(max(lo, 0), min(hi, n)) for lo, hi, n in zip(lows, highs, img.shape))
    padding = [(max(-lo, 0), max(hi - n, 0)) for lo, hi, n in zip(lows, highs, img.shape)]
    crop, roi = img[box], mask[box]
    clipped = any(p for pair in padding for p in pair)
    finite = xp.isfinite(crop)
    n_nonfinite = int(crop.size - int(xp.count_nonzero(finite)))
    if n_nonfinite:
        # NaN/inf voxels (outside the ROI: the loader refuses them inside) do not exist for
        # the sphere, like voxels beyond the image border.
        crop = xp.where(finite, crop, 0.0)
    if clipped or n_nonfinite:
        crop, roi = xp.pad(crop, padding), xp.pad(roi, padding)
        inside = xp.pad(finite.astype(xp.float64), padding)
        sums, counts = _circular_convolve(xp.stack([crop, inside]), spacing, radius_mm, xp)
        # Counts are integers; rounding removes the FFT's last-bit noise.
        counts = xp.rint(counts[roi])
    else:
        sums = _circular_convolve(crop[None], spacing, radius_mm, xp)[0]
        counts = float(kernel.sum())
    if return_excluded:
        return sums[roi] / counts, crop[roi], _excluded_in_spheres(finite, roi, padding,
                                                                  kernel, n_nonfinite, xp)
    return sums[roi] / counts, crop[roi]


def _excluded_in_spheres(finite, roi, padding, kernel, n_nonfinite, xp) -> int:
    """Non-finite voxels of the crop within the radius of at least one ROI voxel."""
    if not n_nonfinite:
        return 0
    from scipy import ndimage

    from neurorad.backend import to_numpy

    inner = tuple(slice(lo, n - hi) for (lo, hi), n in zip(padding, roi.shape))
    reach = ndimage.binary_dilation(to_numpy(roi)[inner], structure=kernel.astype(bool))
    return int(np.count_nonzero(reach & ~to_numpy(finite)))


def local_intensity_features(image, int_mask, spacing) -> dict[str, float]:
    """Local and global intensity peak (IBSI).

    Parameters
    ----------
    image : float array (NumPy or CuPy), (z, y, x)
        The **whole** image (peaks use voxels outside the ROI).
    int_mask : bool array, same shape
        ROI intensity mask; sphere centres are restricted to it.
    spacing : (float, float, float)
        Voxel spacing (z, y, x) in mm.

    Returns
    -------
    dict
        ``loc_peak_loc``: the largest sphere mean among the voxels holding the ROI's maximum
        intensity; ``loc_peak_glob``: the largest sphere mean over all ROI voxels. The sphere
        has radius :math:`r=(3/(4\\pi))^{1/3}` cm (volume 1 cm^3) and holds every image voxel
        whose centre is within :math:`r` and whose value is finite (NaN/inf voxels outside the
        ROI are left out, with a RuntimeWarning counting them). NaN (with a warning) for an
        empty mask.

    References
    ----------
    IBSI reference manual, "Local intensity peak" (VJGA), "Global intensity peak" (0F91).
    """
    if np.shape(image) != np.shape(int_mask) or len(np.shape(image)) != 3:
        raise ValueError(f"local_intensity_features: image and intensity mask must be 3-D arrays of "
                         f"one shape, got {np.shape(image)} and {np.shape(int_mask)}")
    xp = get_xp(image, int_mask)
    if not bool(xp.asarray(int_mask).any()):
        warnings.warn("loc features: the intensity mask is empty; returning NaN", RuntimeWarning,
                      stacklevel=2)
        return dict.fromkeys(FEATURES, math.nan)
    means, values, excluded = sphere_means(image, int_mask, spacing, return_excluded=True)
    if excluded:
        warnings.warn(f"local intensity peaks: {excluded} NaN/infinite voxel(s) outside the "
                      f"ROI lie within {PEAK_RADIUS_MM:.1f} mm of it and were left out of the "
                      "1 cm^3 peak spheres (each mean is over the sphere's finite voxels)",
                      RuntimeWarning, stacklevel=2)
    at_max = values == values.max()
    return {"loc_peak_loc": float(means[at_max].max()), "loc_peak_glob": float(means.max())}
