"""Interpolation to a new voxel grid with IBSI grid alignment (IBSI manual, section 2.4).

For each axis with ``n_a`` voxels of spacing ``s_a`` and target spacing ``s_b``:

* new size ``n_b = ceil(n_a * s_a / s_b)``;
* the grids are centre-aligned, so new voxel ``j`` sits at original (fractional) index
  ``k(j) = (n_a - 1) / 2 + (j - (n_b - 1) / 2) * s_b / s_a``;
* values outside the original grid take the nearest boundary value.

Interpolators: nearest neighbour, (tri)linear and cubic B-spline (orders 0, 1, 3 of
``scipy.ndimage``, run through ``affine_transform`` with a diagonal matrix, so no coordinate
arrays are built). "2D" configurations resample x and y only. The mask is interpolated as
a 0/1 float image and thresholded at the partial-volume threshold (IBSI: 0.5).
"""
from __future__ import annotations

import math

import numpy as np

from neurorad.backend import get_xp

ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}


def _ndimage(xp):
    if xp is np:
        import scipy.ndimage as ndi
    else:  # CuPy mirrors scipy.ndimage in cupyx
        import cupyx.scipy.ndimage as ndi
    return ndi


def new_grid(shape, spacing, new_spacing) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """Size of the IBSI-aligned grid and its mapping into the original index space.

    Parameters
    ----------
    shape, spacing : tuple
        Original grid (array order) and spacing in mm.
    new_spacing : tuple
        Target spacing per axis; ``None`` keeps an axis as it is.

    Returns
    -------
    new_shape : tuple of int
    scale, offset : ndarray
        Original index ``k = offset + scale * j`` of new index ``j``, per axis.
    """
    new_shape, scale, offset = [], [], []
    for n_a, s_a, s_b in zip(shape, spacing, new_spacing):
        if s_b is None:
            new_shape.append(int(n_a))
            scale.append(1.0)
            offset.append(0.0)
            continue
        # round() first: 60 * 3.0 / 2.0 must give 90, not ceil(90.00000000001) = 91.
        n_b = max(1, math.ceil(round(n_a * s_a / s_b, 6)))
        ratio = s_b / s_a
        new_shape.append(n_b)
        scale.append(ratio)
        offset.append((n_a - 1) / 2.0 - (n_b - 1) / 2.0 * ratio)
    return tuple(new_shape), np.asarray(scale), np.asarray(offset)


def resample_array(array, spacing, new_spacing, *, order: int):
    """Interpolate ``array`` (z, y, x) onto the IBSI grid of ``new_spacing`` (see module doc).

    Returns a float64 array on the new grid; works on NumPy and CuPy arrays.
    """
    xp = get_xp(array)
    shape, scale, offset = new_grid(array.shape, spacing, new_spacing)
    ndi = _ndimage(xp)
    source = array.astype(xp.float64, copy=False)
    if order > 1:
        # The B-spline prefilter must use the same boundary rule as the sampling.
        source = ndi.spline_filter(source, order=order, mode="nearest")
    return ndi.affine_transform(source, xp.asarray(scale), offset=xp.asarray(offset),
                                output_shape=shape, order=order, mode="nearest",
                                prefilter=False)


def resample_roi(image, mask, spacing, new_spacing, *, interpolator: str = "linear",
                 mask_interpolator: str = "linear", mask_threshold: float = 0.5,
                 round_intensities: bool = False):
    """Resample image and mask to ``new_spacing`` (IBSI 2.4).

    Parameters
    ----------
    image : ndarray (z, y, x)
    mask : ndarray of bool, same shape
    spacing, new_spacing : tuple (z, y, x) in mm; ``None`` in ``new_spacing`` keeps that axis
    interpolator, mask_interpolator : {"nearest", "linear", "cubic"}
    mask_threshold : float
        Partial-volume threshold: a new voxel is in the ROI when its interpolated mask
        fraction is ``>= mask_threshold``.
    round_intensities : bool
        Round interpolated intensities to the nearest integer (IBSI CT configurations).

    Returns
    -------
    image, mask, spacing
        The new arrays and their spacing (z, y, x).
    """
    xp = get_xp(image)
    out_spacing = tuple(float(s if n is None else n) for s, n in zip(spacing, new_spacing))
    new_image = resample_array(image, spacing, new_spacing, order=ORDERS[interpolator])
    if round_intensities:
        new_image = xp.round(new_image)
    fraction = resample_array(mask.astype(xp.float64), spacing, new_spacing,
                              order=ORDERS[mask_interpolator])
    # Tolerance: linear interpolation of exactly half-covered voxels may land on 0.4999999.
    new_mask = fraction >= mask_threshold - 1e-9
    return new_image, new_mask, out_spacing
