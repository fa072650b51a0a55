"""Shared machinery of the texture-matrix families (GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM).

Every family works in the same three steps:

1. **Prepare** the discretised ROI (``binned``: grey levels ``1..N_g`` inside the ROI, ``0``
   outside, array order (z, y, x)): validate it, crop it to the ROI bounding box and pad it
   with zeros so that every neighbour look-up stays inside the array (:func:`prepare_roi`).
2. **Build matrices** for a *batch* of ROIs in one vectorised pass: each ROI contributes
   integer codes ``offset + block * size + i * n_cols + j`` and a single ``bincount`` produces
   every matrix of every ROI at once
   (:func:`neurorad.features.texture_kernels.batched_bincount`), so a GPU needs few, large
   kernels. The array kernels live in :mod:`neurorad.features.texture_kernels`.
3. **Aggregate**: matrices are grouped per IBSI aggregation method (summed = "merged",
   or kept apart = "averaged"), features are computed on the whole stack at once and averaged
   over the non-empty matrices (:func:`stack_directional`, :func:`stack_slices`,
   :func:`average_features`).

Aggregation methods (IBSI reference manual, sections "Grey level co-occurrence based features
/ Aggregating features" and the corresponding sections of the other families):

============  =================================================================================
``2D_avg``    features per slice and in-plane direction, averaged over both
``2D_comb``   per slice, the 4 in-plane direction matrices summed; averaged over slices
``2_5D_avg``  per in-plane direction, matrices of all slices summed; averaged over directions
``2_5D_comb`` one matrix: all slices and in-plane directions summed
``3D_avg``    one matrix per 3D direction (13), features averaged
``3D_comb``   one matrix: all 13 directions summed
``2D``        (direction-free families) features per slice, averaged over slices
``2_5D``      the slice matrices summed
``3D``        one matrix from the volume
============  =================================================================================

Reference: Zwanenburg A. et al., "The Image Biomarker Standardization Initiative", Radiology
2020;295:328-338; IBSI reference manual (arXiv:1612.07003), chapter "Image features".
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from neurorad.backend import get_xp, to_numpy

DIRECTIONAL_AGGREGATIONS = ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb", "3D_avg", "3D_comb")
VOLUME_AGGREGATIONS = ("2D", "2_5D", "3D")

# Direction vectors in (z, y, x) order, one of each +/- pair. The first non-zero component is
# positive, so the flat-index stride of every direction in a C-ordered array is positive.
IN_PLANE_DIRECTIONS = ((0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, -1))
OUT_OF_PLANE_DIRECTIONS = ((1, 0, 0), (1, 0, 1), (1, 0, -1), (1, 1, 0), (1, -1, 0),
                           (1, 1, 1), (1, 1, -1), (1, -1, 1), (1, -1, -1))


# --------------------------------------------------------------------------------------------
# Input preparation
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PreparedRoi:
    """A discretised ROI cropped to its bounding box and zero-padded by ``pad`` voxels.

    Attributes
    ----------
    padded : array (Z + 2 pad, Y + 2 pad, X + 2 pad), integer
        Grey levels ``1..n_levels`` inside the ROI, 0 outside (and in the padding); the
        narrowest unsigned type that holds ``n_levels``.
    n_levels : int
        Number of grey levels ``N_g``.
    pad : int
        Zero padding on every side.
    shape : tuple of int
        The cropped, unpadded shape (Z, Y, X).
    is_2d_image : bool
        The *input image* had a single slice (2D image): 3D aggregations are undefined.
    origin : tuple of int
        Index of the cropped box's first voxel in the input array (z, y, x).
    """

    padded: Any
    n_levels: int
    pad: int
    shape: tuple
    is_2d_image: bool
    origin: tuple

    @property
    def interior(self):
        """The unpadded, cropped grey-level array (a view)."""
        p = self.pad
        z, y, x = self.shape
        return self.padded[p:p + z, p:p + y, p:p + x]


def as_volume(binned, n_levels, family: str):
    """Validate a discretised ROI and return it as a 3D integer array plus a 2D-image flag.

    A 2D array (y, x) is accepted and treated as a single-slice image.

    Raises
    ------
    ValueError
        When ``binned`` is not an integer array of 2 or 3 dimensions, ``n_levels`` is not a
        positive integer, or a value lies outside ``0..n_levels``.
    """
    xp = get_xp(binned)
    arr = xp.asarray(binned)
    if arr.dtype == bool or arr.dtype.kind not in "iu":
        raise ValueError(f"{family}: the discretised ROI must be an integer array (grey levels "
                         f"1..Ng inside the ROI, 0 outside), got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"{family}: the discretised ROI must be a (z, y, x) array, got "
                         f"{arr.ndim} dimensions")
    if isinstance(n_levels, bool) or int(n_levels) != n_levels or n_levels < 1:
        raise ValueError(f"{family}: n_levels must be a positive integer, got {n_levels!r}")
    if arr.size:
        lo, hi = (int(v) for v in to_numpy(xp.stack([arr.min(), arr.max()])))
        if lo < 0 or hi > n_levels:
            raise ValueError(f"{family}: grey levels must lie in 1..{int(n_levels)} inside the ROI "
                             f"(0 outside); found values in [{lo}, {hi}]")
    return arr, arr.shape[0] == 1


def roi_bounding_box(mask) -> tuple[tuple[int, int], ...] | None:
    """Per-axis ``(start, stop)`` of the non-zero voxels of a 3D array, or None when empty."""
    xp = get_xp(mask)
    bounds = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hits = xp.flatnonzero(xp.any(mask, axis=other))
        if hits.size == 0:
            return None
        first, last = (int(v) for v in to_numpy(hits[xp.asarray([0, -1])]))
        bounds.append((first, last + 1))
    return tuple(bounds)


def prepare_roi(binned, n_levels, family: str, *, pad: int = 1, extra_mask=None
                ) -> PreparedRoi | None:
    """Validate, crop to the ROI bounding box and zero-pad a discretised ROI.

    Parameters
    ----------
    binned : array (z, y, x) or (y, x), integer
        Grey levels ``1..n_levels`` inside the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``N_g``.
    family : str
        Family name used in error messages.
    pad : int
        Zero padding added on every side (the neighbourhood reach, e.g. the GLCM distance).
    extra_mask : array of bool, optional
        A second mask whose voxels must also fit in the box (GLDZM's morphological mask).

    Returns
    -------
    PreparedRoi or None
        None when the ROI is empty.
    """
    arr, is_2d = as_volume(binned, n_levels, family)
    xp = get_xp(arr)
    roi = arr > 0
    if extra_mask is not None:
        roi = roi | extra_mask
    box = roi_bounding_box(roi)
    if box is None or not bool(xp.any(arr)):
        return None
    cropped = arr[tuple(slice(a, b) for a, b in box)]
    padded = xp.pad(cropped.astype(level_dtype(n_levels, xp)), pad)
    return PreparedRoi(padded, int(n_levels), pad, tuple(int(s) for s in cropped.shape), is_2d,
                       tuple(a for a, _ in box))


def level_dtype(n_levels: int, xp):
    """Narrowest type holding grey levels ``0..n_levels``: one byte per voxel up to 255
    levels keeps the memory traffic of the neighbour arithmetic low (signed differences
    must cast first)."""
    return xp.uint8 if n_levels < 2 ** 8 else xp.uint16 if n_levels < 2 ** 16 else xp.int64


def check_aggregations(aggregations: Sequence[str], allowed: Sequence[str], family: str) -> tuple:
    """Return the aggregations as a tuple, raising ``ValueError`` naming any unknown one."""
    if isinstance(aggregations, str):
        aggregations = (aggregations,)
    aggregations = tuple(aggregations)
    unknown = [a for a in aggregations if a not in allowed]
    if unknown:
        raise ValueError(f"{family}: unknown aggregation(s) {unknown}; choose among {list(allowed)}")
    return aggregations


def check_distance(distance, family: str) -> int:
    """Validate a Chebyshev neighbourhood distance (a positive integer)."""
    if isinstance(distance, bool) or int(distance) != distance or distance < 1:
        raise ValueError(f"{family}: distance must be a positive integer, got {distance!r}")
    return int(distance)


# --------------------------------------------------------------------------------------------
# Matrix building
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DirectionalMatrices:
    """Count matrices of one ROI for the directional families (GLCM, GLRLM).

    Attributes
    ----------
    in_plane : array (n_slices, 4, N_g, J)
        One matrix per slice (of the ROI bounding box) and in-plane direction
        (:data:`IN_PLANE_DIRECTIONS`); built with ``per_slice=False`` the slices are already
        summed (n_slices = 1), which is all the 3D aggregations need.
    out_of_plane : array (9, N_g, J)
        One matrix per out-of-plane 3D direction (:data:`OUT_OF_PLANE_DIRECTIONS`), whole volume.
        The 13 3D-direction matrices are ``in_plane.sum(0)`` followed by these.
    j_values : array (J,)
        Column values (GLCM: grey levels 1..N_g; GLRLM: run lengths 1..J).
    n_levels : int
        ``N_g``.
    per_slice : bool
        ``in_plane`` is kept per slice (False: summed over slices, so only the 3D
        aggregations can be evaluated).
    is_2d_image : bool
        The input image had a single slice: the 3D aggregations are undefined.
    """

    in_plane: Any
    out_of_plane: Any
    j_values: Any
    n_levels: int
    per_slice: bool = True
    is_2d_image: bool = False

    def check_aggregations(self, aggregations, family: str) -> None:
        """Raise ``ValueError`` when an aggregation needs matrices that were not built."""
        if not self.per_slice and needs_slices(aggregations):
            raise ValueError(f"{family}: 2D / 2.5D aggregations need per-slice matrices, but "
                             f"these were built with per_slice=False")

@dataclass(frozen=True)
class SliceMatrices:
    """Count matrices of one ROI for the direction-free families (GLSZM, GLDZM, NGTDM, NGLDM).

    Attributes
    ----------
    per_slice : array (n_slices, N_g, J) or None
        One matrix per slice of the ROI bounding box (2D neighbourhoods / zones); None when
        not built.
    volume : array (N_g, J) or None
        The 3D matrix; None when not built.
    j_values : array (J,) or None
        Column values (zone sizes, distances, dependence counts; None for NGTDM, whose two
        columns are ``n_i`` and ``s_i``).
    n_voxels_per_slice : array (n_slices,)
        ROI voxels per slice (for percentages; summed when merged).
    n_voxels : int
        ROI voxels.
    n_levels : int
        ``N_g``.
    is_2d_image : bool
        The input image had a single slice: the 3D aggregation is undefined.
    """

    per_slice: Any
    volume: Any
    j_values: Any
    n_voxels_per_slice: Any
    n_voxels: int
    n_levels: int
    is_2d_image: bool = False

    def check_aggregations(self, aggregations, family: str) -> None:
        """Raise ``ValueError`` when an aggregation needs matrices that were not built."""
        if self.per_slice is None and needs_slices(aggregations):
            raise ValueError(f"{family}: 2D / 2.5D aggregations need per-slice matrices, but "
                             f"none were built")
        if self.volume is None and "3D" in aggregations and not self.is_2d_image:
            raise ValueError(f"{family}: the 3D aggregation needs the 3D matrix, but it was "
                             f"not built")

    def stack(self, aggregation: str):
        """``(matrices, n_voxels)`` to evaluate for a 2D / 2_5D / 3D aggregation."""
        xp = get_xp(self.n_voxels_per_slice)
        if aggregation == "3D":
            return self.volume[None], xp.asarray([self.n_voxels])
        return (stack_slices(self.per_slice, None, aggregation),
                stack_slices(self.n_voxels_per_slice, None, aggregation))


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------

def stack_directional(in_plane, out_of_plane, aggregation: str):
    """Matrices to evaluate for one GLCM/GLRLM aggregation method.

    Parameters
    ----------
    in_plane : array (n_slices, 4, A, B)
        Matrices per slice and in-plane direction.
    out_of_plane : array (9, A, B)
        Matrices of the 9 out-of-plane 3D directions (whole volume).
    aggregation : str
        One of :data:`DIRECTIONAL_AGGREGATIONS`.

    Returns
    -------
    array (n, A, B)
        A stack whose features are averaged (a single matrix for the merged methods).
    """
    xp = get_xp(in_plane)
    a, b = in_plane.shape[-2:]
    if aggregation == "2D_avg":
        return in_plane.reshape(-1, a, b)
    if aggregation == "2D_comb":
        return in_plane.sum(axis=1)
    if aggregation == "2_5D_avg":
        return in_plane.sum(axis=0)
    if aggregation == "2_5D_comb":
        return in_plane.sum(axis=(0, 1))[None]
    per_direction = xp.concatenate([in_plane.sum(axis=0), out_of_plane])
    if aggregation == "3D_avg":
        return per_direction
    if aggregation == "3D_comb":
        return per_direction.sum(axis=0)[None]
    raise ValueError(f"unknown directional aggregation {aggregation!r}")


def stack_slices(per_slice, volume, aggregation: str):
    """Matrices (or per-matrix values) to evaluate for one 2D / 2.5D / 3D aggregation.

    ``per_slice`` has a leading slice axis; ``volume`` is the single 3D matrix. 2D keeps the
    slices apart (averaged), 2.5D sums them, 3D uses the volume matrix.
    """
    if aggregation == "2D":
        return per_slice
    if aggregation == "2_5D":
        return per_slice.sum(axis=0)[None]
    if aggregation == "3D":
        return volume[None]
    raise ValueError(f"unknown aggregation {aggregation!r}")


def average_features(features: dict, occupied, *, family: str, suffix: str) -> dict[str, float]:
    """Average per-matrix feature values over the non-empty matrices of a stack.

    Parameters
    ----------
    features : dict tag -> array (n,)
        Feature values of every matrix in the stack (NaN where a feature is undefined for that
        matrix, e.g. a correlation with a single grey level).
    occupied : array (n,) of bool
        Matrices that hold at least one count; empty ones (a slice without neighbour pairs,
        a direction without pairs) carry no information and are left out.
    family, suffix : str
        For the returned tags (``tag + "_" + suffix``) and warning messages.

    Returns
    -------
    dict tag_suffix -> float
        The mean over occupied matrices where the feature is defined; NaN with a warning when
        no matrix is occupied or the feature is undefined for every one.
    """
    names = list(features)
    table, keep = feature_table(features, occupied)
    return _average_table(names, table, keep, family, suffix)


def feature_table(features: dict, occupied) -> tuple[np.ndarray, np.ndarray]:
    """Per-matrix feature values as one host array (n_features, n) plus the occupied flags.

    One device-to-host copy for the whole table (on a GPU, each ``float()`` would be one).
    """
    xp = get_xp(occupied)
    table = to_numpy(xp.stack([xp.asarray(v, dtype=xp.float64) for v in features.values()]))
    return table, to_numpy(occupied).astype(bool)


def _average_table(names: Sequence[str], table: np.ndarray, keep: np.ndarray, family: str,
                   suffix: str) -> dict[str, float]:
    """:func:`average_features` on a host table (n_features, n): the mean of each row over
    the occupied columns where it is finite (one vectorised reduction for all features)."""
    if not keep.any():
        warnings.warn(f"{family} ({suffix}): no texture matrix has any count (ROI too small for "
                      f"this aggregation); features set to NaN", RuntimeWarning, stacklevel=4)
        return {f"{n}_{suffix}": math.nan for n in names}
    table = table[:, keep]
    finite = np.isfinite(table)
    n_finite = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(finite, table, 0.0).sum(axis=1) / n_finite  # 0/0 = NaN: undefined
    undefined = [name for name, count in zip(names, n_finite) if count == 0]
    if undefined:
        warnings.warn(f"{family} ({suffix}): {', '.join(undefined)} undefined for this ROI "
                      f"(zero denominator, e.g. a single grey level); set to NaN",
                      RuntimeWarning, stacklevel=4)
    return {f"{name}_{suffix}": float(mean) for name, mean in zip(names, means)}


def undefined_features(names: Sequence[str], suffix: str, reason: str, family: str
                       ) -> dict[str, float]:
    """NaN for every feature of one aggregation, with one warning giving the reason."""
    warnings.warn(f"{family} ({suffix}): {reason}; features set to NaN", RuntimeWarning,
                  stacklevel=3)
    return {f"{n}_{suffix}": math.nan for n in names}


def evaluate_aggregations(family: str, names: Sequence[str], aggregations: Sequence[str],
                          matrices, stack: Callable[[str], tuple],
                          features_of: Callable[..., tuple[dict, Any]]) -> dict[str, float]:
    """Run the per-aggregation evaluation shared by all families, with the undefined cases.

    Parameters
    ----------
    family : str
        For warnings.
    names : sequence of str
        The family's base tags, in the order ``features_of`` returns them.
    aggregations : sequence of str
        Requested aggregation methods.
    matrices : DirectionalMatrices, SliceMatrices or None
        The ROI's matrices (anything with ``is_2d_image``); None for an empty ROI.
    stack : callable
        ``stack(aggregation)`` returns a tuple of arrays with a leading matrix axis (the
        matrices to evaluate for that aggregation, and e.g. their voxel counts).
    features_of : callable
        ``features_of(*arrays)`` returns ``(per-matrix features, occupied)`` for such a tuple.

    Returns
    -------
    dict tag_aggregation -> float, aggregations in the requested order.

    Notes
    -----
    The stacks of all defined aggregations are concatenated and evaluated **once**: every
    formula runs on one array of all matrices (e.g. for ``3D_avg`` + ``3D_comb``, the 13
    direction matrices and their sum) instead of once per aggregation; each matrix's values
    are the same either way, as the formulas act on each matrix separately. The table then
    comes to the host in one piece and is averaged per aggregation segment.
    An empty ROI gives NaN for everything; a 2D image gives NaN for the 3D aggregations.
    """
    defined = [a for a in aggregations
               if matrices is not None and not (matrices.is_2d_image and a.startswith("3D"))]
    segments: dict[str, slice] = {}
    if defined:
        parts = [stack(a) for a in defined]
        start = 0
        for aggregation, part in zip(defined, parts):
            segments[aggregation] = slice(start, start + int(part[0].shape[0]))
            start = segments[aggregation].stop
        xp = get_xp(parts[0][0])
        joined = [arrays[0] if len(arrays) == 1 else xp.concatenate(arrays)
                  for arrays in zip(*parts)]
        table, keep = feature_table(*features_of(*joined))
    out: dict[str, float] = {}
    for aggregation in aggregations:
        if matrices is None:
            out.update(undefined_features(names, aggregation, "empty ROI", family))
        elif aggregation not in segments:
            out.update(undefined_features(
                names, aggregation, "3D aggregation of a single-slice (2D) image", family))
        else:
            part = segments[aggregation]
            out.update(_average_table(names, table[:, part], keep[part], family, aggregation))
    return out


# --------------------------------------------------------------------------------------------
# Features shared by the grey-level x (run length | zone size | distance | dependence) matrices
# --------------------------------------------------------------------------------------------

# Generic keys of :func:`level_count_features`, in IBSI order; families map them to tags.
LEVEL_COUNT_KEYS = ("short", "long", "low_gl", "high_gl", "short_low", "short_high", "long_low",
                    "long_high", "glnu", "glnu_norm", "jnu", "jnu_norm", "perc", "gl_var",
                    "j_var", "entropy", "energy")


def level_count_features(matrices, j_values, n_voxels):
    """Features of grey level x j count matrices (GLRLM, GLSZM, GLDZM, NGLDM share them).

    With counts :math:`r_{ij}` (grey level :math:`i = 1..N_g`, run length / zone size /
    distance / dependence :math:`j`), :math:`N_s = \\sum_{ij} r_{ij}`, marginals
    :math:`r_{i.}`, :math:`r_{.j}` and :math:`p_{ij} = r_{ij}/N_s`:

    * short / long emphasis: :math:`\\frac{1}{N_s}\\sum_j r_{.j}/j^2`, :math:`\\frac{1}{N_s}\\sum_j j^2 r_{.j}`
    * low / high grey level emphasis: same with :math:`i` and :math:`r_{i.}`
    * the four mixed emphases: :math:`\\frac{1}{N_s}\\sum_{ij} r_{ij}\\, i^{\\pm 2} j^{\\pm 2}`
    * grey level non-uniformity :math:`\\frac{1}{N_s}\\sum_i r_{i.}^2` (normalised: :math:`/N_s^2`),
      likewise for :math:`j`
    * percentage :math:`N_s/N_v`
    * grey level variance :math:`\\sum_{ij}(i-\\mu_i)^2 p_{ij}`, j variance likewise
    * entropy :math:`-\\sum p_{ij}\\log_2 p_{ij}`, energy :math:`\\sum p_{ij}^2`

    Parameters
    ----------
    matrices : array (n, N_g, J)
        A stack of count matrices.
    j_values : array (J,)
        The value of ``j`` for each column (columns need not be contiguous).
    n_voxels : array (n,)
        Voxel count :math:`N_v` of each matrix (for the percentage).

    Returns
    -------
    dict key -> array (n,)
        Keys :data:`LEVEL_COUNT_KEYS`; NaN for empty matrices.

    Reference: IBSI reference manual, "Grey level run length based features" (and the GLSZM,
    GLDZM and NGLDM sections, which reuse these definitions).

    Notes
    -----
    Every quantity comes from the marginals, one matrix product and two passes over
    :math:`p`: the four mixed emphases are
    :math:`\\sum_i a_i \\sum_j r_{ij} b_j` for :math:`a \\in \\{i^{-2}, i^2\\}`,
    :math:`b \\in \\{j^{-2}, j^2\\}` (the inner sums are ``m @ [j^-2, j^2]``); the variances
    use :math:`p_{i.} = r_{i.}/N_s` and :math:`p_{.j} = r_{.j}/N_s`.
    """
    xp = get_xp(matrices)
    m = xp.asarray(matrices, dtype=xp.float64)
    n_g = m.shape[-2]
    i = xp.arange(1, n_g + 1, dtype=xp.float64)
    j = xp.asarray(j_values, dtype=xp.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_i = m.sum(axis=-1)
        r_j = m.sum(axis=-2)
        n_s = r_i.sum(axis=-1)
        i_weights = xp.stack([1.0 / i ** 2, i ** 2], axis=1)  # columns: low, high
        j_weights = xp.stack([1.0 / j ** 2, j ** 2], axis=1)  # columns: short, long
        # mixed[n, a, b] = sum_ij r_ij i_weights[i, a] j_weights[j, b]
        mixed = xp.einsum("nib,ia->nab", m @ j_weights, i_weights) / n_s[:, None, None]
        level_emphasis = (r_i @ i_weights) / n_s[:, None]
        j_emphasis = (r_j @ j_weights) / n_s[:, None]
        p_i = r_i / n_s[:, None]
        p_j = r_j / n_s[:, None]
        mu_i = p_i @ i
        mu_j = p_j @ j
        p = m / n_s[:, None, None]
        log_p = xp.log2(xp.where(p > 0, p, 1.0))  # 0 log 0 = 0
        glnu = (r_i * r_i).sum(axis=-1)
        jnu = (r_j * r_j).sum(axis=-1)
        return {
            "short": j_emphasis[:, 0],
            "long": j_emphasis[:, 1],
            "low_gl": level_emphasis[:, 0],
            "high_gl": level_emphasis[:, 1],
            "short_low": mixed[:, 0, 0],
            "short_high": mixed[:, 1, 0],
            "long_low": mixed[:, 0, 1],
            "long_high": mixed[:, 1, 1],
            "glnu": glnu / n_s,
            "glnu_norm": glnu / n_s ** 2,
            "jnu": jnu / n_s,
            "jnu_norm": jnu / n_s ** 2,
            "perc": n_s / xp.asarray(n_voxels, dtype=xp.float64),
            "gl_var": (p_i * (i - mu_i[:, None]) ** 2).sum(axis=-1),
            "j_var": (p_j * (j - mu_j[:, None]) ** 2).sum(axis=-1),
            "entropy": -xp.einsum("nij,nij->n", p, log_p),
            "energy": xp.einsum("nij,nij->n", p, p),
        }


def rename(generic: dict, names: dict[str, str]) -> dict:
    """Select and rename generic feature keys to a family's base tags."""
    return {tag: generic[key] for key, tag in names.items()}


# Formula of each generic key; "M" stands for the family's matrix element symbol.
LEVEL_COUNT_FORMULAS = {
    "short": r"\frac{1}{N_s}\sum_j M_{.j}/j^2",
    "long": r"\frac{1}{N_s}\sum_j j^2 M_{.j}",
    "low_gl": r"\frac{1}{N_s}\sum_i M_{i.}/i^2",
    "high_gl": r"\frac{1}{N_s}\sum_i i^2 M_{i.}",
    "short_low": r"\frac{1}{N_s}\sum_{ij} M_{ij}/(i^2 j^2)",
    "short_high": r"\frac{1}{N_s}\sum_{ij} i^2 M_{ij}/j^2",
    "long_low": r"\frac{1}{N_s}\sum_{ij} j^2 M_{ij}/i^2",
    "long_high": r"\frac{1}{N_s}\sum_{ij} i^2 j^2 M_{ij}",
    "glnu": r"\frac{1}{N_s}\sum_i M_{i.}^2",
    "glnu_norm": r"\frac{1}{N_s^2}\sum_i M_{i.}^2",
    "jnu": r"\frac{1}{N_s}\sum_j M_{.j}^2",
    "jnu_norm": r"\frac{1}{N_s^2}\sum_j M_{.j}^2",
    "perc": r"N_s/N_v (N_v summed over merged matrices)",
    "gl_var": r"\sum_{ij}(i-\mu_i)^2 p_{ij}, p_{ij} = M_{ij}/N_s",
    "j_var": r"\sum_{ij}(j-\mu_j)^2 p_{ij}, p_{ij} = M_{ij}/N_s",
    "entropy": r"-\sum_{ij} p_{ij}\log_2 p_{ij}",
    "energy": r"\sum_{ij} p_{ij}^2",
}


def level_count_catalogue(entries, symbol: str) -> tuple[dict[str, str], dict[str, tuple]]:
    """``(NAMES, FEATURES)`` of a level-count family.

    Parameters
    ----------
    entries : sequence of (generic key, tag, IBSI code, name)
        One row per feature, keys from :data:`LEVEL_COUNT_KEYS`.
    symbol : str
        The family's matrix element symbol (``r`` for run lengths, ``s`` for zone sizes ...).

    Returns
    -------
    NAMES : dict generic key -> tag
    FEATURES : dict tag -> (IBSI code, name, formula)
    """
    names = {key: tag for key, tag, _, _ in entries}
    features = {tag: (code, name, LEVEL_COUNT_FORMULAS[key].replace("M", symbol))
                for key, tag, code, name in entries}
    return names, features


def needs_slices(aggregations) -> bool:
    """Whether any 2D / 2.5D aggregation (per-slice matrices) is requested."""
    return any(a.startswith("2") for a in aggregations)


def needed_kinds(aggregations, prepared: PreparedRoi | None) -> tuple[bool, bool]:
    """(per-slice matrices needed, 3D matrix needed) for 2D / 2_5D / 3D aggregations.

    A single-slice image gets its 3D matrix too (one slice: cheap), although its 3D
    aggregations are undefined (NaN, see :func:`evaluate_aggregations`): without it, asking
    only for ``3D`` would leave no matrix to build.
    """
    need_3d = "3D" in aggregations and prepared is not None
    return needs_slices(aggregations), need_3d


def evaluate_directional_family(family: str, names: Sequence[str], aggregations,
                                matrices: DirectionalMatrices | None,
                                stack_features: Callable[[Any, DirectionalMatrices], dict]
                                ) -> dict[str, float]:
    """Features of a GLCM / GLRLM-like family for each directional aggregation.

    ``stack_features(stack, matrices)`` returns the per-matrix features of a stack
    (n, N_g, J) taken from ``matrices`` (None for an empty ROI) by :func:`stack_directional`.
    """
    aggregations = check_aggregations(aggregations, DIRECTIONAL_AGGREGATIONS, family)
    if matrices is not None:
        matrices.check_aggregations(aggregations, family)

    def stack(aggregation):
        return (stack_directional(matrices.in_plane, matrices.out_of_plane, aggregation),)

    def features_of(joined):
        return stack_features(joined, matrices), joined.sum(axis=(1, 2)) > 0

    return evaluate_aggregations(family, list(names), aggregations, matrices, stack,
                                 features_of)


def evaluate_level_count_family(family: str, names: dict[str, str], aggregations,
                                matrices: SliceMatrices | None) -> dict[str, float]:
    """Features of a GLSZM / GLDZM / NGLDM-like family for each 2D / 2_5D / 3D aggregation.

    ``matrices`` is the ROI's :class:`SliceMatrices` (None for an empty ROI); ``names`` maps
    the generic keys of :func:`level_count_features` to the family's tags.
    """
    aggregations = check_aggregations(aggregations, VOLUME_AGGREGATIONS, family)
    if matrices is not None:
        matrices.check_aggregations(aggregations, family)

    def features_of(joined, n_voxels):
        features = rename(level_count_features(joined, matrices.j_values, n_voxels), names)
        return features, joined.sum(axis=(1, 2)) > 0

    return evaluate_aggregations(family, list(names.values()), aggregations, matrices,
                                 matrices.stack if matrices is not None else None, features_of)
