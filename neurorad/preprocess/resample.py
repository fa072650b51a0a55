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

from neurorad.backend import get_xp, ndimage, to_numpy

ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}


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
    ndi = ndimage(xp)
    source = array.astype(xp.float64, copy=False)
    if order > 1:
        # The B-spline prefilter must use the same boundary rule as the sampling.
        source = ndi.spline_filter(source, order=order, mode="nearest")
    return ndi.affine_transform(source, xp.asarray(scale), offset=xp.asarray(offset),
                                output_shape=shape, order=order, mode="nearest",
                                prefilter=False)


# Extra source voxels kept around a crop for cubic B-splines: the prefilter is an IIR filter
# whose influence decays as 0.268^d, below 1e-17 of a value after 30 voxels.
_SPLINE_PAD = 30


def roi_subgrid(mask, spacing, new_spacing, margin_mm: float, order: int = 1):
    """The part of the IBSI-aligned new grid around the ROI, and the source voxels it needs.

    The new grid is the one :func:`new_grid` defines for the whole image (so every voxel
    sits where it would after resampling the whole image); only its voxels within
    ``margin_mm`` (plus one new and two original voxels, the reach of the interpolated
    mask) of the ROI's bounding box are kept.

    Returns
    -------
    out_slices : tuple of slice
        New-grid indices kept, per axis.
    src_slices : tuple of slice
        Original voxels the kept new voxels interpolate from (clipped to the image).
    full_shape : tuple of int
        Size of the whole new grid.
    """
    shape, scale, offset = new_grid(mask.shape, spacing, new_spacing)
    host = to_numpy(mask)
    out_slices, src_slices = [], []
    support = 1 if order <= 1 else 2 + _SPLINE_PAD
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        occupied = np.flatnonzero(host.any(axis=other))
        n_a, n_b = mask.shape[axis], shape[axis]
        if occupied.size == 0 or new_spacing[axis] is None:
            out_slices.append(slice(0, n_b))
            src_slices.append(slice(0, n_a))
            continue
        s_a, s_b = spacing[axis], new_spacing[axis]
        reach = (margin_mm + s_b) / s_a + 2.0          # in original voxels
        lo, hi = occupied[0] - reach, occupied[-1] + reach
        j0 = max(0, int(math.floor((lo - offset[axis]) / scale[axis])))
        j1 = min(n_b - 1, int(math.ceil((hi - offset[axis]) / scale[axis])))
        k0 = offset[axis] + scale[axis] * j0
        k1 = offset[axis] + scale[axis] * j1
        c0 = max(0, int(math.floor(k0)) - support)
        c1 = min(n_a - 1, int(math.ceil(k1)) + support)
        out_slices.append(slice(j0, j1 + 1))
        src_slices.append(slice(c0, c1 + 1))
    return tuple(out_slices), tuple(src_slices), shape


def _resample_part(array, spacing, new_spacing, out_slices, src_slices, *, order: int):
    """:func:`resample_array` restricted to the new voxels ``out_slices``, interpolating
    from the source voxels ``src_slices`` (see :func:`roi_subgrid`)."""
    xp = get_xp(array)
    _, scale, offset = new_grid(array.shape, spacing, new_spacing)
    ndi = ndimage(xp)
    source = array[src_slices].astype(xp.float64, copy=False)
    if order > 1:
        source = ndi.spline_filter(source, order=order, mode="nearest")
    start_out = np.array([s.start for s in out_slices], float)
    start_src = np.array([s.start for s in src_slices], float)
    part_offset = offset + scale * start_out - start_src
    out_shape = tuple(s.stop - s.start for s in out_slices)
    return ndi.affine_transform(source, xp.asarray(scale), offset=xp.asarray(part_offset),
                                output_shape=out_shape, order=order, mode="nearest",
                                prefilter=False)


def resample_roi(image, mask, spacing, new_spacing, *, interpolator: str = "linear",
                 mask_interpolator: str = "linear", mask_threshold: float = 0.5,
                 round_intensities: bool = False, margin_mm: float | None = None,
                 where: str = ""):
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
    margin_mm : float, optional
        Resample only the ROI's bounding box plus this margin (what the features and
        filters need around the ROI; :func:`roi_subgrid`), on the same IBSI-aligned grid as
        the whole image: a 125-voxel ROI resampled to 0.25 mm costs what its box costs, not
        the whole image. Default (None): the whole image.
    where : str
        Names the case in a resource-limit message.

    Returns
    -------
    image, mask, spacing
        The new arrays and their spacing (z, y, x).

    Raises
    ------
    neurorad.errors.ResourceLimitError
        The new grid would exceed the memory limit of ``neurorad.preprocess.guard``
        (checked before anything is allocated).
    """
    from neurorad.preprocess.guard import check_resampled_size

    xp = get_xp(image)
    out_spacing = tuple(float(s if n is None else n) for s, n in zip(spacing, new_spacing))
    new_spacing_xyz = tuple(reversed(out_spacing))
    if margin_mm is None:
        parts = None
        grid_shape, _, _ = new_grid(image.shape, spacing, new_spacing)
    else:
        order = max(ORDERS[interpolator], ORDERS[mask_interpolator])
        parts = roi_subgrid(mask, spacing, new_spacing, margin_mm, order)[:2]
        grid_shape = [s.stop - s.start for s in parts[0]]
    check_resampled_size(grid_shape, new_spacing_xyz, where=where)

    def interpolate(array, order):
        if parts is None:
            return resample_array(array, spacing, new_spacing, order=order)
        return _resample_part(array, spacing, new_spacing, *parts, order=order)

    new_image = interpolate(image, ORDERS[interpolator])
    if round_intensities:
        new_image = xp.round(new_image)
    fraction = interpolate(mask.astype(xp.float64), ORDERS[mask_interpolator])
    # Tolerance: linear interpolation of exactly half-covered voxels may land on 0.4999999.
    new_mask = fraction >= mask_threshold - 1e-9
    return new_image, new_mask, out_spacing
