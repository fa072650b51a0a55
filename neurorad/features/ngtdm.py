"""Neighbourhood grey tone difference matrix features (IBSI family *IPET*, tags ``ngt_*``).

For every ROI voxel ``k`` with grey level :math:`X_k`, the neighbourhood average
:math:`\\bar X_k = \\frac{1}{W_k}\\sum_{m} X_{k+m}` runs over the neighbours ``k + m`` within
Chebyshev distance :math:`\\delta` (centre excluded; in-plane only in 2D) that lie in the
ROI, :math:`W_k` being their number. Voxels without any ROI neighbour (:math:`W_k = 0`) are
left out. Then :math:`n_i` is the number of such voxels of grey level :math:`i`,
:math:`s_i = \\sum_{k: X_k = i} |i - \\bar X_k|`, :math:`N_{v,c} = \\sum_i n_i`,
:math:`p_i = n_i / N_{v,c}` and :math:`N_{g,p}` the number of levels with :math:`p_i > 0`.
Double sums over :math:`i_1, i_2` run over levels with non-zero probability.

Reference: IBSI reference manual (arXiv:1612.07003), section "Neighbourhood grey tone
difference based features"; Amadasun M, King R, IEEE Trans Syst Man Cybern 1989;19:1264-1274.
"""
from __future__ import annotations

import numpy as np

from neurorad.backend import get_xp
from neurorad.features.texture import (
    VOLUME_AGGREGATIONS, PreparedRoi, SliceMatrices, check_aggregations, check_distance,
    evaluate_aggregations, needed_kinds, prepare_roi,
)
from neurorad.features.texture_kernels import batched_bincount, box_sums

FAMILY = "NGTDM"

# The manual fixes coarseness at this value when sum_i p_i s_i = 0 (a uniform ROI).
MAX_COARSENESS = 1.0e6

FEATURES = {
    "ngt_coarseness": ("QCDE", "Coarseness",
                       r"1/\sum_i p_i s_i (10^6 when the sum is 0)"),
    "ngt_contrast": ("65HE", "Contrast",
                     r"\frac{\sum_{i_1 i_2} p_{i_1} p_{i_2}(i_1-i_2)^2}{N_{g,p}(N_{g,p}-1)}"
                     r"\cdot\frac{\sum_i s_i}{N_{v,c}} (0 when N_{g,p} = 1)"),
    "ngt_busyness": ("NQ30", "Busyness",
                     r"\frac{\sum_i p_i s_i}{\sum_{i_1 i_2} |i_1 p_{i_1} - i_2 p_{i_2}|}"
                     r" (0 when N_{g,p} = 1)"),
    "ngt_complexity": ("HDEZ", "Complexity",
                       r"\frac{1}{N_{v,c}}\sum_{i_1 i_2} |i_1-i_2|"
                       r"\frac{p_{i_1}s_{i_1}+p_{i_2}s_{i_2}}{p_{i_1}+p_{i_2}}"),
    "ngt_strength": ("1X9X", "Strength",
                     r"\frac{\sum_{i_1 i_2}(p_{i_1}+p_{i_2})(i_1-i_2)^2}{\sum_i s_i}"
                     r" (0 when \sum_i s_i = 0)"),
}


def ngtdm_matrices(batch, *, distance: int = 1, in_plane: bool = True, volume: bool = True
                   ) -> list[SliceMatrices | None]:
    """NGTDMs of a batch of discretised ROIs, in one pass.

    Parameters
    ----------
    batch : sequence of (binned, n_levels)
        Discretised ROIs (grey levels ``1..n_levels`` inside, 0 outside; (z, y, x)).
    distance : int
        Chebyshev radius :math:`\\delta` of the neighbourhood.
    in_plane, volume : bool
        Build the per-slice (2D neighbourhoods) and/or the 3D matrices.

    Returns
    -------
    list of SliceMatrices (None for an empty ROI)
        Matrices of shape (..., N_g, 2): column 0 is :math:`n_i`, column 1 is :math:`s_i`.

    Notes
    -----
    Neighbourhood sums of grey levels and of ROI membership are box sums of the zero-padded
    box (:func:`~neurorad.features.texture_kernels.box_sums`), the in-plane ones being an intermediate
    of the 3D ones. All ROIs go through one counting and one weighted ``bincount``.
    """
    distance = check_distance(distance, FAMILY)
    prepared = [prepare_roi(b, n, FAMILY, pad=distance) for b, n in batch]
    return matrices_from_prepared(prepared, distance, in_plane, volume)


def _voxel_codes(roi: PreparedRoi, distance: int, in_plane: bool, volume: bool):
    """Codes ``block * N_g + level - 1`` (block = slice for 2D, n_slices for 3D) and
    ``|i - mean|`` weights of every ROI voxel; voxels without a neighbour go to a dump bin."""
    xp = get_xp(roi.padded)
    n_g, n_slices = roi.n_levels, roi.shape[0]
    dump = (n_slices + 1) * n_g
    # Integer box sums are exact and lighter than float ones; the division happens only on the
    # ROI voxels.
    level_sum_2d, level_sum_3d = box_sums(roi.padded.astype(xp.int32), distance)
    count_2d, count_3d = box_sums((roi.padded > 0).astype(xp.int16), distance)
    interior = roi.interior
    voxels = xp.flatnonzero(interior > 0)
    centre = interior.ravel()[voxels].astype(xp.int64)
    codes, weights = [], []
    variants = []
    if in_plane:
        plane = roi.shape[1] * roi.shape[2]
        variants.append((level_sum_2d, count_2d, voxels // plane))
    if volume:
        variants.append((level_sum_3d, count_3d, n_slices))
    for level_sum, count, block in variants:
        n_neighbours = count.ravel()[voxels] - 1  # the centre itself is not a neighbour
        neighbour_sum = level_sum.ravel()[voxels] - centre
        valid = n_neighbours > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            difference = xp.abs(centre - neighbour_sum / n_neighbours)
        codes.append(xp.where(valid, block * n_g + centre - 1, dump))
        weights.append(xp.where(valid, difference, 0.0))
    return xp.concatenate(codes), xp.concatenate(weights), dump + 1


def matrices_from_prepared(prepared: list[PreparedRoi | None], distance: int, in_plane: bool,
                           volume: bool) -> list[SliceMatrices | None]:
    """:func:`ngtdm_matrices` of ROIs already prepared with ``prepare_roi(..., pad=distance)``
    (one counting and one weighted ``bincount`` for all); None stays None (empty ROI)."""
    if any(roi is not None and roi.pad != distance for roi in prepared):
        raise ValueError(f"{FAMILY}: ROIs must be zero-padded by exactly the distance {distance}")
    codes, weights, sizes = [], [], []
    for roi in prepared:
        if roi is None:
            continue
        c, w, size = _voxel_codes(roi, distance, in_plane, volume)
        codes.append(c)
        weights.append(w)
        sizes.append(size)
    counts = iter(batched_bincount(codes, sizes) if codes else [])
    sums = iter(batched_bincount(codes, sizes, weights=weights) if codes else [])
    out = []
    for roi in prepared:
        if roi is None:
            out.append(None)
            continue
        xp = get_xp(roi.padded)
        n_g, n_slices = roi.n_levels, roi.shape[0]
        n_i = next(counts)[:-1].reshape(n_slices + 1, n_g).astype(xp.float64)
        s_i = next(sums)[:-1].reshape(n_slices + 1, n_g)
        blocks = xp.stack([n_i, s_i], axis=-1)
        per_slice_voxels = (roi.interior > 0).sum(axis=(1, 2))
        out.append(SliceMatrices(blocks[:-1] if in_plane else None,
                                 blocks[-1] if volume else None, None, per_slice_voxels,
                                 int(per_slice_voxels.sum()), n_g, roi.is_2d_image))
    return out


def ngtdm_stack_features(matrices) -> dict:
    """NGTDM features of a stack (n, N_g, 2) of ``(n_i, s_i)`` columns; see :data:`FEATURES`."""
    xp = get_xp(matrices)
    m = xp.asarray(matrices, dtype=xp.float64)
    n_i, s_i = m[..., 0], m[..., 1]
    levels = xp.arange(1, m.shape[1] + 1, dtype=xp.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_vc = n_i.sum(axis=1)
        p = n_i / n_vc[:, None]
        present = p > 0
        n_gp = present.sum(axis=1)
        pair = present[:, :, None] & present[:, None, :]
        level_diff = levels[:, None] - levels[None, :]
        ps = p * s_i
        ps_total = ps.sum(axis=1)
        s_total = s_i.sum(axis=1)
        several = n_gp > 1

        dynamic = (p[:, :, None] * p[:, None, :] * level_diff ** 2).sum(axis=(1, 2))
        contrast = dynamic / (n_gp * (n_gp - 1)) * s_total / n_vc
        weighted_p = levels * p
        busy_den = xp.where(pair, xp.abs(weighted_p[:, :, None] - weighted_p[:, None, :]),
                            0.0).sum(axis=(1, 2))
        p_pair_sum = p[:, :, None] + p[:, None, :]
        complexity_terms = xp.abs(level_diff) * (ps[:, :, None] + ps[:, None, :]) / p_pair_sum
        complexity = xp.where(pair, complexity_terms, 0.0).sum(axis=(1, 2)) / n_vc
        strength_num = xp.where(pair, p_pair_sum * level_diff ** 2, 0.0).sum(axis=(1, 2))
        return {
            "ngt_coarseness": xp.where(ps_total > 0, 1.0 / ps_total, MAX_COARSENESS),
            "ngt_contrast": xp.where(several, contrast, 0.0),
            "ngt_busyness": xp.where(several, ps_total / busy_den, 0.0),
            "ngt_complexity": complexity,
            "ngt_strength": xp.where(s_total > 0, strength_num / s_total, 0.0),
        }


def ngtdm_features(binned, n_levels: int, *, aggregations=("3D",), distance: int = 1
                   ) -> dict[str, float]:
    """NGTDM features of one discretised ROI.

    Parameters
    ----------
    binned : array (z, y, x), integer (NumPy or CuPy)
        Grey levels ``1..n_levels`` inside the ROI intensity mask, 0 outside.
    n_levels : int
        Number of grey levels :math:`N_g` of the discretisation.
    aggregations : sequence of str
        Among ``2D`` (per-slice matrices, features averaged over slices), ``2_5D`` (slice
        matrices summed: :math:`n_i`, :math:`s_i` summed, :math:`p_i` recomputed), ``3D``.
    distance : int
        Chebyshev radius :math:`\\delta` of the neighbourhood (default 1).

    Returns
    -------
    dict
        ``ngt_<feature>_<aggregation>`` -> float, e.g. ``ngt_coarseness_3D``.

    Notes
    -----
    Formulas: :data:`FEATURES`. NaN with a warning for an empty ROI, a ROI in which no voxel
    has a neighbour (e.g. a single voxel), a 3D aggregation of a single-slice image, and
    busyness when its denominator vanishes with two or more grey levels.

    Reference: IBSI reference manual, "Neighbourhood grey tone difference based features"
    (IPET).
    """
    aggregations = check_aggregations(aggregations, VOLUME_AGGREGATIONS, FAMILY)
    distance = check_distance(distance, FAMILY)
    roi = prepare_roi(binned, n_levels, FAMILY, pad=distance)
    need_2d, need_3d = needed_kinds(aggregations, roi)
    matrices = (matrices_from_prepared([roi], distance, need_2d, need_3d)[0]
                if roi is not None else None)
    return ngtdm_features_from_matrices(matrices, aggregations)


def ngtdm_features_from_matrices(matrices: SliceMatrices | None, aggregations=("3D",)
                                 ) -> dict[str, float]:
    """NGTDM features from pre-built matrices (:func:`ngtdm_matrices`; None: empty ROI).

    The second half of :func:`ngtdm_features`, for callers that build the matrices of many
    ROIs / discretisations in one batch. Same tags, values and warnings.
    """
    aggregations = check_aggregations(aggregations, VOLUME_AGGREGATIONS, FAMILY)
    if matrices is not None:
        matrices.check_aggregations(aggregations, FAMILY)

    def features_of(joined, _n_voxels):
        return ngtdm_stack_features(joined), joined[..., 0].sum(axis=1) > 0

    return evaluate_aggregations(FAMILY, list(FEATURES), aggregations, matrices,
                                 matrices.stack if matrices is not None else None, features_of)
