"""Vectorised kernels of the texture families, written once for NumPy and CuPy.

Everything here works on whole arrays (``xp = get_xp(array)``); loops run over directions,
neighbour offsets, distance levels or grey levels, never over voxels:

* :func:`batched_bincount` counts the codes of many ROIs with one ``bincount``;
* :func:`chain_runs` finds runs along any direction of a zero-padded, flattened box;
* :func:`label_zones` labels equal-level zones (scikit-image on the CPU, CuPy per level);
  :func:`label_zones_batch` labels many boxes with one launch per grey level on a GPU;
* :func:`border_distance` is the GLDZM distance-to-edge map; :func:`zone_minimum` reduces a
  voxel map (grouped by value once, :func:`group_by_value`) to one value per zone;
* :func:`box_sums`, :func:`neighbour_offsets`, :func:`shifted` serve the neighbourhood
  families (NGTDM, NGLDM).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from neurorad.backend import get_xp, to_numpy

def flat_stride(shape: tuple, direction: tuple, distance: int = 1) -> int:
    """Flat-index offset of ``distance * direction`` in a C-ordered array of ``shape``."""
    _, ny, nx = shape
    dz, dy, dx = direction
    return distance * (dz * ny * nx + dy * nx + dx)


def batched_bincount(codes: Sequence, sizes: Sequence[int], *, weights: Sequence | None = None,
                     fuse: bool | None = None):
    """Count integer codes of several ROIs with one ``bincount`` call (on a GPU).

    Parameters
    ----------
    codes : list of 1-D integer arrays
        Codes of each ROI, each in ``0..sizes[r] - 1``.
    sizes : list of int
        Number of bins of each ROI.
    weights : list of 1-D arrays, optional
        Weights of each code (a weighted count, e.g. NGTDM's grey-tone differences).
    fuse : bool, optional
        One ``bincount`` over the codes of all ROIs, each shifted by the bins of the ROIs
        before it (default: on a GPU only). On the CPU one call per ROI does the same work
        without the shifted, concatenated copy of every code; batching pays only where each
        call is a kernel launch.

    Returns
    -------
    list of 1-D arrays
        The counts of each ROI (length ``sizes[r]``), float64 when weighted, else int64.
    """
    xp = get_xp(*codes)
    if not (xp is not np if fuse is None else fuse):
        return [xp.bincount(c, weights=w, minlength=int(size))
                for c, w, size in zip(codes, weights or [None] * len(codes), sizes)]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    shifted = [c if off == 0 else c + int(off) for c, off in zip(codes, offsets[:-1])]
    flat = shifted[0] if len(shifted) == 1 else xp.concatenate(shifted)
    w = None
    if weights is not None:
        w = weights[0] if len(weights) == 1 else xp.concatenate(weights)
    counts = xp.bincount(flat, weights=w, minlength=int(offsets[-1]))
    return [counts[int(a):int(b)] for a, b in zip(offsets[:-1], offsets[1:])]


def chain_runs(rows, stride: int):
    """Runs of equal non-zero values along the chains ``p, p+stride, p+2 stride, ...`` of rows.

    In a zero-padded, flattened ROI box a direction vector is a constant flat ``stride``; the
    chain through ``p`` then visits the voxels of the geometric line through ``p`` in order,
    and consecutive lines are separated by padding zeros. Reshaping a row to (Q, stride) and
    transposing lays every chain out contiguously, so runs are found with vectorised
    comparisons (no loop over voxels or lines). The chains are laid out one after the other
    in one flat array, each followed by a zero (and the first preceded by one), so a run
    starts where the value changes to a non-zero one and ends where a non-zero value changes;
    the k-th start and the k-th end delimit the k-th run.

    Parameters
    ----------
    rows : array (R, N), integer
        Independent flattened rows (e.g. padded slices, or the whole padded box as one row).
    stride : int
        Positive flat stride of the direction.

    Returns
    -------
    row, length, level : 1-D arrays
        For every run: the row it lies in (int64; None when there is a single row), its
        length (int64, voxels) and its value (the dtype of ``rows``).
    """
    xp = get_xp(rows)
    n_rows, n = rows.shape
    q = -(-n // stride)
    width = q + 1
    flat = xp.zeros(n_rows * stride * width + 1, dtype=rows.dtype)
    chains = flat[1:].reshape(n_rows, stride, width)
    full = (q - 1) * stride
    chains[..., :q - 1] = rows[:, :full].reshape(n_rows, q - 1, stride).transpose(0, 2, 1)
    chains[:, :n - full, q - 1] = rows[:, full:]
    nonzero = flat > 0
    change = flat[1:] != flat[:-1]
    starts = xp.flatnonzero(change & nonzero[1:])
    starts += 1
    lengths = xp.flatnonzero(change & nonzero[:-1])  # last voxel of each run
    lengths -= starts
    lengths += 1
    levels = flat[starts]
    row = (starts - 1) // (stride * width) if n_rows > 1 else None
    return row, lengths, levels


@dataclass(frozen=True)
class ValueGroups:
    """The voxels of a mask grouped by the value of an integer map (:func:`group_by_value`).

    Attributes
    ----------
    index : 1-D int64 array (array module of the map)
        Flat positions of the mask voxels, by ascending value.
    starts : tuple of int
        Start of each group of equal value in ``index``.
    values : tuple of int
        The value of each group (ascending).
    """

    index: Any
    starts: tuple
    values: tuple


def group_by_value(values, inside) -> ValueGroups:
    """Group the voxels of mask ``inside`` by their value in the integer map ``values``.

    One sort per map; a map shared by many labellings (the GLDZM distance map of a ROI under
    each of its discretisations) is grouped once and reduced per labelling by
    :func:`zone_minimum`.
    """
    xp = get_xp(values, inside)
    index = xp.flatnonzero(inside)
    value = values.ravel()[index].astype(xp.int64)
    order = xp.argsort(value)
    index, value = index[order], value[order]
    starts = xp.concatenate([xp.zeros(1, dtype=xp.int64),
                             xp.flatnonzero(value[1:] != value[:-1]) + 1]) if value.size else \
        xp.zeros(0, dtype=xp.int64)
    return ValueGroups(index, tuple(int(v) for v in to_numpy(starts)),
                       tuple(int(v) for v in to_numpy(value[starts])))


def zone_minimum(labels, groups: ValueGroups, n_zones: int):
    """Minimum of a non-negative integer map over each zone ``1..n_zones`` of ``labels``.

    ``groups`` is :func:`group_by_value` of the map over the zone voxels (``labels > 0``).
    Going through the groups from the highest value to the lowest, each writes its value to
    the zones of its voxels: the last write to a zone is its minimum. Every write of one group
    carries the same value, so the order of writes within a group does not matter (NumPy and
    CuPy alike); the loop runs over the distinct values of the map, not over voxels.
    """
    xp = get_xp(labels)
    out = xp.zeros(n_zones, dtype=xp.int64)
    zone = labels.ravel()[groups.index] - 1
    ends = groups.starts[1:] + (int(groups.index.size),)
    for start, end, value in reversed(list(zip(groups.starts, ends, groups.values))):
        out[zone[start:end]] = value
    return out


def label_zones(volume, *, in_plane: bool):
    """Label connected zones of equal grey level (26-connectivity in 3D, 8 in-plane in 2D).

    Parameters
    ----------
    volume : array (Z, Y, X), integer
        Grey levels, 0 = background.
    in_plane : bool
        Link voxels only within a slice (2D zones, 8-connectivity).

    Returns
    -------
    labels : array (Z, Y, X) of int
        Zone number ``1..n`` for every ROI voxel, 0 outside.
    n : int
        Number of zones.
    """
    xp = get_xp(volume)
    if in_plane and volume.shape[0] > 1:
        # Interleave empty slices: full 3D connectivity then never links two slices, and
        # within a slice it is exactly 8-connectivity.
        spread = xp.zeros((2 * volume.shape[0] - 1,) + volume.shape[1:], dtype=volume.dtype)
        spread[::2] = volume
        labels, n = _label_equal_values(spread)
        return labels[::2], n
    return _label_equal_values(volume)


def label_zones_batch(volumes, *, in_plane: bool, label_binary=None) -> list[tuple]:
    """:func:`label_zones` of several boxes; on a GPU every box shares each labelling launch.

    The GPU labels binary masks one grey level at a time (:func:`label_level_by_level`), so
    one ROI at ``N_g`` levels costs ``N_g`` launches. Here the boxes are stacked along z,
    separated by an empty slice (for 2D zones every slice is), and padded to a common
    in-plane size: no zone can cross from one box to another, and a whole chunk of
    discretisations costs ``max N_g`` launches instead of ``sum N_g``. Zones are then
    renumbered ``1..n`` within each box (one ``unique`` per box).

    Parameters
    ----------
    volumes : list of arrays (Z, Y, X), integer
        Grey levels, 0 = background.
    in_plane : bool
        2D zones (8-connected within a slice) instead of 3D (26-connected).
    label_binary : callable, optional
        ``label_binary(mask, structure=...) -> (labels, n)`` for binary masks; default: on
        the CPU scikit-image labels each box in one pass (no stacking), on a GPU
        ``cupyx.scipy.ndimage.label``. Passing ``scipy.ndimage.label`` runs the stacked GPU
        strategy on the CPU (tests).

    Returns
    -------
    list of (labels, n)
        Per box, as :func:`label_zones` returns them (zone numbers may differ, zones do not).
    """
    if not volumes:
        return []
    xp = get_xp(*volumes)
    if label_binary is None:
        if xp is np:
            return [label_zones(v, in_plane=in_plane) for v in volumes]
        from cupyx.scipy.ndimage import label as label_binary
    step = 2 if in_plane else 1  # in 2D every slice is followed by an empty one
    starts, z = [], 0
    for v in volumes:
        starts.append(z)
        z += step * v.shape[0] + (0 if in_plane else 1)
    stack = xp.zeros((z, max(v.shape[1] for v in volumes), max(v.shape[2] for v in volumes)),
                     dtype=np.result_type(*[v.dtype for v in volumes]))
    for v, start in zip(volumes, starts):
        stack[start:start + step * v.shape[0]:step, :v.shape[1], :v.shape[2]] = v
    labels, _ = label_level_by_level(stack, label_binary)
    out = []
    for v, start in zip(volumes, starts):
        box = labels[start:start + step * v.shape[0]:step, :v.shape[1], :v.shape[2]]
        numbers, renumbered = xp.unique(box, return_inverse=True)
        renumbered = renumbered.reshape(box.shape)
        has_background = bool(numbers.size) and int(numbers[0]) == 0
        if not has_background:  # every voxel of the box is in a zone: numbers start at 1
            renumbered = renumbered + 1
        out.append((renumbered.astype(xp.int64), int(numbers.size) - has_background))
    return out


def _label_equal_values(volume):
    """Full-connectivity labelling of equal-valued regions (CPU: scikit-image; GPU: CuPy)."""
    xp = get_xp(volume)
    if xp is np:
        from skimage.measure import label

        labels, n = label(volume, background=0, connectivity=3, return_num=True)
        return labels, int(n)
    from cupyx.scipy.ndimage import label as cupy_label

    return label_level_by_level(volume, cupy_label)


def label_level_by_level(volume, label_binary):
    """Full-connectivity zones, labelling each grey level's binary mask separately.

    The GPU path (``label_binary`` = ``cupyx.scipy.ndimage.label``, which has no notion of
    equal values); zone numbers of successive levels are offset to stay unique.
    """
    xp = get_xp(volume)
    structure = xp.ones((3, 3, 3), dtype=bool)
    labels = xp.zeros(volume.shape, dtype=xp.int32)
    n_total = 0
    for level in to_numpy(xp.unique(volume[volume > 0])):
        lab, n = label_binary(volume == int(level), structure=structure)
        labels += xp.where(lab > 0, lab + n_total, 0).astype(xp.int32)
        n_total += int(n)
    return labels, n_total


def border_distance(mask, *, in_plane: bool):
    """Distance of each mask voxel to the ROI edge, IBSI style (GLDZM distance map).

    Face connectivity: 6-connected in 3D, 4-connected within each slice in 2D. Voxels on the
    edge have distance 1; the image border counts as outside. Equivalent to the manual's
    iterative erosion (add 1 for every erosion a voxel survives).

    Parameters
    ----------
    mask : array (Z, Y, X) of bool
    in_plane : bool
        Measure within slices only (2D distance map).

    Returns
    -------
    array (Z, Y, X) of int, 0 outside the mask.
    """
    xp = get_xp(mask)
    if xp is np:
        from scipy.ndimage import distance_transform_cdt

        structure = np.zeros((3, 3, 3), dtype=bool)
        structure[1, 1, :] = structure[1, :, 1] = True
        if not in_plane:
            structure[:, 1, 1] = True
        padded = np.pad(np.asarray(mask, dtype=bool), 1)
        dist = distance_transform_cdt(padded, metric=structure)
        return dist[1:-1, 1:-1, 1:-1].astype(np.int32)
    return border_distance_by_erosion(mask, in_plane=in_plane)


def border_distance_by_erosion(mask, *, in_plane: bool):
    """:func:`border_distance` by repeated erosion with the face-connected structure element.

    Array-module generic (the GPU path); one pass per distance level, not per voxel.
    """
    xp = get_xp(mask)
    current = xp.pad(xp.asarray(mask, dtype=bool), 1)
    dist = xp.zeros(current.shape, dtype=xp.int32)
    axes = (1, 2) if in_plane else (0, 1, 2)
    while bool(current.any()):
        dist += current
        eroded = current.copy()
        for axis in axes:
            lo = [slice(1, -1)] * 3
            hi = [slice(1, -1)] * 3
            lo[axis] = slice(0, -2)
            hi[axis] = slice(2, None)
            eroded[1:-1, 1:-1, 1:-1] &= current[tuple(lo)] & current[tuple(hi)]
        current = eroded
    return dist[1:-1, 1:-1, 1:-1]


def box_sums(padded, reach: int):
    """Sums over the (2 reach + 1)-wide neighbourhood of every voxel, in-plane and in 3D.

    Parameters
    ----------
    padded : array (Z + 2r, Y + 2r, X + 2r)
        Values, zero-padded by ``reach`` voxels.
    reach : int
        Chebyshev radius ``r``.

    Returns
    -------
    in_plane, volume : arrays (Z, Y, X)
        Sum over the (2r+1)^2 in-plane square and over the (2r+1)^3 cube (centre included).
    """
    r = reach
    z, y, x = (s - 2 * r for s in padded.shape)
    along_x = sum(padded[:, :, k:k + x] for k in range(2 * r + 1))
    along_xy = sum(along_x[:, k:k + y, :] for k in range(2 * r + 1))
    volume = sum(along_xy[k:k + z] for k in range(2 * r + 1))
    return along_xy[r:r + z], volume


def neighbour_offsets(reach: int, *, in_plane: bool):
    """Offsets (dz, dy, dx) within Chebyshev distance ``reach``, centre excluded."""
    span = range(-reach, reach + 1)
    z_span = (0,) if in_plane else span
    return [(a, b, c) for a in z_span for b in span for c in span if (a, b, c) != (0, 0, 0)]


def shifted(padded, offset, reach: int):
    """View of ``padded`` shifted by ``offset`` and cropped to the unpadded shape."""
    r = reach
    z, y, x = (s - 2 * r for s in padded.shape)
    dz, dy, dx = offset
    return padded[r + dz:r + dz + z, r + dy:r + dy + y, r + dx:r + dx + x]
