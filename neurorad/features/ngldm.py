"""Neighbouring grey level dependence matrix features (IBSI family *REK0*, tags ``ngl_*``).

For every ROI voxel ``k``, the dependence count :math:`j_k = 1 + \\sum_m [k+m \\in ROI,\\;
|X_k - X_{k+m}| \\le \\alpha]` counts its neighbours within Chebyshev distance :math:`\\delta`
(centre excluded; in-plane only in 2D) whose grey level differs by at most the coarseness
:math:`\\alpha`, plus the voxel itself. Element :math:`s_{ij}` counts voxels of grey level
:math:`i` with dependence :math:`j`. Every ROI voxel has a neighbourhood, so
:math:`N_s = N_v` and dependence count percentage is 1. Features are those of
:func:`neurorad.features.texture.level_count_features`.

Reference: IBSI reference manual (arXiv:1612.07003), section "Neighbouring grey level
dependence based features"; Sun C, Wee WG, Comput Vis Graph Image Process 1983;23:341-352.
"""
from __future__ import annotations

from neurorad.backend import get_xp
from neurorad.features.texture import (
    VOLUME_AGGREGATIONS, PreparedRoi, SliceMatrices, check_aggregations, check_distance,
    evaluate_level_count_family, level_count_catalogue, needed_kinds, prepare_roi,
)
from neurorad.features.texture_kernels import batched_bincount, neighbour_offsets, shifted

FAMILY = "NGLDM"

NAMES, FEATURES = level_count_catalogue((
    ("short", "ngl_lde", "SODN", "Low dependence emphasis"),
    ("long", "ngl_hde", "IMOQ", "High dependence emphasis"),
    ("low_gl", "ngl_lgce", "TL9H", "Low grey level count emphasis"),
    ("high_gl", "ngl_hgce", "OAE7", "High grey level count emphasis"),
    ("short_low", "ngl_ldlge", "EQ3F", "Low dependence low grey level emphasis"),
    ("short_high", "ngl_ldhge", "JA6D", "Low dependence high grey level emphasis"),
    ("long_low", "ngl_hdlge", "NBZI", "High dependence low grey level emphasis"),
    ("long_high", "ngl_hdhge", "9QMG", "High dependence high grey level emphasis"),
    ("glnu", "ngl_glnu", "FP8K", "Grey level non-uniformity"),
    ("glnu_norm", "ngl_glnu_norm", "5SPA", "Normalised grey level non-uniformity"),
    ("jnu", "ngl_dcnu", "Z87G", "Dependence count non-uniformity"),
    ("jnu_norm", "ngl_dcnu_norm", "OKJI", "Normalised dependence count non-uniformity"),
    ("perc", "ngl_dc_perc", "6XV8", "Dependence count percentage"),
    ("gl_var", "ngl_gl_var", "1PFV", "Grey level variance"),
    ("j_var", "ngl_dc_var", "DNX2", "Dependence count variance"),
    ("entropy", "ngl_dc_entr", "FCBV", "Dependence count entropy"),
    ("energy", "ngl_dc_energy", "CAS9", "Dependence count energy"),
), symbol="s")

def _max_dependence(distance: int) -> int:
    return (2 * distance + 1) ** 3


def check_coarseness(coarseness) -> int:
    """Validate the coarseness parameter alpha (a non-negative integer)."""
    if isinstance(coarseness, bool) or int(coarseness) != coarseness or coarseness < 0:
        raise ValueError(f"{FAMILY}: coarseness must be a non-negative integer, got {coarseness!r}")
    return int(coarseness)


def ngldm_matrices(batch, *, distance: int = 1, coarseness: int = 0, in_plane: bool = True,
                   volume: bool = True) -> list[SliceMatrices | None]:
    """NGLDMs of a batch of discretised ROIs, in one pass.

    Parameters
    ----------
    batch : sequence of (binned, n_levels)
        Discretised ROIs (grey levels ``1..n_levels`` inside, 0 outside; (z, y, x)).
    distance : int
        Chebyshev radius :math:`\\delta` of the neighbourhood.
    coarseness : int
        :math:`\\alpha`: neighbours whose grey level differs by at most this are dependent.
    in_plane, volume : bool
        Build the per-slice (2D neighbourhoods) and/or the 3D matrices.

    Returns
    -------
    list of SliceMatrices (None for an empty ROI)
        Matrices (..., N_g, (2 delta + 1)^3); column ``j - 1`` counts voxels of dependence ``j``.

    Notes
    -----
    The dependence count is a sum over shifted views of the padded box, split into in-plane
    and out-of-plane neighbours so that the 2D count is a by-product of the 3D one. All ROIs go
    through one ``bincount``.
    """
    distance = check_distance(distance, FAMILY)
    coarseness = check_coarseness(coarseness)
    prepared = [prepare_roi(b, n, FAMILY, pad=distance) for b, n in batch]
    return matrices_from_prepared(prepared, distance, coarseness, in_plane, volume)


def _dependence_counts(roi: PreparedRoi, offsets, coarseness: int):
    """Number of dependent ROI neighbours of every voxel over the given offsets."""
    xp = get_xp(roi.padded)
    centre = roi.interior
    total = xp.zeros(centre.shape, dtype=xp.int16)
    for offset in offsets:
        neighbour = shifted(roi.padded, offset, roi.pad)
        if coarseness == 0:
            total += neighbour == centre  # the centre is > 0 in the ROI, so is the neighbour
        else:
            difference = neighbour.astype(xp.int32) - centre  # unsigned levels: cast first
            total += (xp.abs(difference) <= coarseness) & (neighbour > 0)
    return total


def _voxel_codes(roi: PreparedRoi, distance: int, coarseness: int, in_plane: bool,
                 volume: bool):
    """Codes ``(block * N_g + level - 1) * J + j - 1`` of every ROI voxel; others: dump bin."""
    xp = get_xp(roi.padded)
    n_g, n_slices = roi.n_levels, roi.shape[0]
    n_cols = _max_dependence(distance)
    dump = (n_slices + 1) * n_g * n_cols
    centre = roi.interior.astype(xp.int64)
    in_roi = centre > 0
    planar = _dependence_counts(roi, neighbour_offsets(distance, in_plane=True), coarseness)
    codes = []
    if in_plane:
        block = xp.arange(n_slices, dtype=xp.int64)[:, None, None]
        codes.append(xp.where(in_roi, (block * n_g + centre - 1) * n_cols + planar, dump))
    if volume:
        across = [o for o in neighbour_offsets(distance, in_plane=False) if o[0] != 0]
        dependence = planar + _dependence_counts(roi, across, coarseness)
        codes.append(xp.where(in_roi, (n_slices * n_g + centre - 1) * n_cols + dependence, dump))
    return xp.concatenate([c.ravel() for c in codes]), dump + 1


def matrices_from_prepared(prepared: list[PreparedRoi | None], distance: int, coarseness: int,
                           in_plane: bool, volume: bool) -> list[SliceMatrices | None]:
    """:func:`ngldm_matrices` of ROIs already prepared with ``prepare_roi(..., pad=distance)``
    (one ``bincount`` for all); None stays None (empty ROI)."""
    if any(roi is not None and roi.pad != distance for roi in prepared):
        raise ValueError(f"{FAMILY}: ROIs must be zero-padded by exactly the distance {distance}")
    codes, sizes = [], []
    for roi in prepared:
        if roi is None:
            continue
        c, size = _voxel_codes(roi, distance, coarseness, in_plane, volume)
        codes.append(c)
        sizes.append(size)
    counts = iter(batched_bincount(codes, sizes) if codes else [])
    n_cols = _max_dependence(distance)
    out = []
    for roi in prepared:
        if roi is None:
            out.append(None)
            continue
        xp = get_xp(roi.padded)
        blocks = next(counts)[:-1].reshape(roi.shape[0] + 1, roi.n_levels, n_cols)
        per_slice_voxels = (roi.interior > 0).sum(axis=(1, 2))
        out.append(SliceMatrices(blocks[:-1] if in_plane else None,
                                 blocks[-1] if volume else None,
                                 xp.arange(1, n_cols + 1, dtype=xp.float64), per_slice_voxels,
                                 int(per_slice_voxels.sum()), roi.n_levels, roi.is_2d_image))
    return out


def ngldm_features(binned, n_levels: int, *, aggregations=("3D",), distance: int = 1,
                   coarseness: int = 0) -> dict[str, float]:
    """NGLDM features of one discretised ROI.

    Parameters
    ----------
    binned : array (z, y, x), integer (NumPy or CuPy)
        Grey levels ``1..n_levels`` inside the ROI intensity mask, 0 outside.
    n_levels : int
        Number of grey levels :math:`N_g` of the discretisation.
    aggregations : sequence of str
        Among ``2D`` (per-slice matrices, features averaged over slices), ``2_5D`` (slice
        matrices summed), ``3D``.
    distance : int
        Chebyshev radius :math:`\\delta` of the neighbourhood (default 1).
    coarseness : int
        Coarseness parameter :math:`\\alpha` (default 0: equal grey levels only).

    Returns
    -------
    dict
        ``ngl_<feature>_<aggregation>`` -> float, e.g. ``ngl_lde_3D``.

    Notes
    -----
    Formulas: :data:`FEATURES`. NaN with a warning for an empty ROI or a 3D aggregation of a
    single-slice image.

    Reference: IBSI reference manual, "Neighbouring grey level dependence based features"
    (REK0).
    """
    aggregations = check_aggregations(aggregations, VOLUME_AGGREGATIONS, FAMILY)
    distance = check_distance(distance, FAMILY)
    coarseness = check_coarseness(coarseness)
    roi = prepare_roi(binned, n_levels, FAMILY, pad=distance)
    need_2d, need_3d = needed_kinds(aggregations, roi)
    matrices = (matrices_from_prepared([roi], distance, coarseness, need_2d, need_3d)[0]
                if roi is not None else None)
    return ngldm_features_from_matrices(matrices, aggregations)


def ngldm_features_from_matrices(matrices: SliceMatrices | None, aggregations=("3D",)
                                 ) -> dict[str, float]:
    """NGLDM features from pre-built matrices (:func:`ngldm_matrices`; None: empty ROI).

    The second half of :func:`ngldm_features`, for callers that build the matrices of many
    ROIs / discretisations in one batch. Same tags, values and warnings.
    """
    return evaluate_level_count_family(FAMILY, NAMES, aggregations, matrices)
