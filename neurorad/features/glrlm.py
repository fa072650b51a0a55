"""Grey level run length matrix features (IBSI family *TP0I*, tags ``rlm_*``).

The GLRLM :math:`M_\\mathbf{m}` of direction :math:`\\mathbf{m}` counts runs, i.e. maximal
sequences of consecutive ROI voxels along :math:`\\mathbf{m}` sharing one grey level:
element :math:`r_{ij}` is the number of runs of grey level :math:`i` and length :math:`j`.
Runs stop at the ROI edge. There are 13 unique directions in 3D and 4 in-plane (a run along
:math:`\\mathbf{m}` is the same as along :math:`-\\mathbf{m}`). With :math:`N_s` the number of
runs and :math:`N_v` the number of voxels (summed over matrices when merged), the features
are those of :func:`neurorad.features.texture.level_count_features`.

Reference: IBSI reference manual (arXiv:1612.07003), section "Grey level run length based
features"; Galloway MM, Comput Graph Image Process 1975;4:172-179.
"""
from __future__ import annotations

from neurorad.backend import get_xp
from neurorad.features.texture import (
    DIRECTIONAL_AGGREGATIONS, IN_PLANE_DIRECTIONS, OUT_OF_PLANE_DIRECTIONS, DirectionalMatrices,
    PreparedRoi, check_aggregations, evaluate_directional_family, level_count_catalogue,
    level_count_features, needs_slices, prepare_roi, rename,
)
from neurorad.features.texture_kernels import batched_bincount, chain_runs, flat_stride

FAMILY = "GLRLM"

NAMES, FEATURES = level_count_catalogue((
    ("short", "rlm_sre", "22OV", "Short runs emphasis"),
    ("long", "rlm_lre", "W4KF", "Long runs emphasis"),
    ("low_gl", "rlm_lgre", "V3SW", "Low grey level run emphasis"),
    ("high_gl", "rlm_hgre", "G3QZ", "High grey level run emphasis"),
    ("short_low", "rlm_srlge", "HTZT", "Short run low grey level emphasis"),
    ("short_high", "rlm_srhge", "GD3A", "Short run high grey level emphasis"),
    ("long_low", "rlm_lrlge", "IVPO", "Long run low grey level emphasis"),
    ("long_high", "rlm_lrhge", "3KUM", "Long run high grey level emphasis"),
    ("glnu", "rlm_glnu", "R5YN", "Grey level non-uniformity"),
    ("glnu_norm", "rlm_glnu_norm", "OVBL", "Normalised grey level non-uniformity"),
    ("jnu", "rlm_rlnu", "W92Y", "Run length non-uniformity"),
    ("jnu_norm", "rlm_rlnu_norm", "IC23", "Normalised run length non-uniformity"),
    ("perc", "rlm_r_perc", "9ZK5", "Run percentage"),
    ("gl_var", "rlm_gl_var", "8CE5", "Grey level variance"),
    ("j_var", "rlm_rl_var", "SXLW", "Run length variance"),
    ("entropy", "rlm_rl_entr", "HJ9O", "Run entropy"),
), symbol="r")

def glrlm_matrices(batch, *, per_slice: bool = True) -> list[DirectionalMatrices | None]:
    """Run length count matrices of a batch of discretised ROIs, in one pass.

    Parameters
    ----------
    batch : sequence of (binned, n_levels)
        Discretised ROIs (grey levels ``1..n_levels`` inside, 0 outside; (z, y, x)).
    per_slice : bool
        Keep in-plane matrices per slice (needed by the 2D / 2.5D aggregations); when False
        they are summed over slices (n_slices = 1).

    Returns
    -------
    list of DirectionalMatrices (None for an empty ROI)
        Per ROI: ``in_plane`` (n_slices, 4, N_g, L) and ``out_of_plane`` (9, N_g, L), with
        ``L`` the largest box dimension; element ``(i-1, j-1)`` counts runs of level ``i`` and
        length ``j``.

    Notes
    -----
    In the zero-padded, flattened ROI box a direction is a constant flat stride ``s``; the
    chains ``p, p+s, p+2s, ...`` are laid out contiguously
    (:func:`~neurorad.features.texture_kernels.chain_runs`), so runs are found with one vectorised comparison per direction, no loop
    over voxels or lines. Padding zeros end every geometric line. All runs of all ROIs are
    counted with one ``bincount``.
    """
    prepared = [prepare_roi(b, n, FAMILY, pad=1) for b, n in batch]
    return matrices_from_prepared(prepared, per_slice)


def _max_run(roi: PreparedRoi) -> int:
    return max(roi.shape)


def matrices_from_prepared(prepared: list[PreparedRoi | None], per_slice: bool = True
                           ) -> list[DirectionalMatrices | None]:
    """:func:`glrlm_matrices` of ROIs already prepared with ``prepare_roi(..., pad=1)``.

    All run codes of all ROIs go through one ``bincount``; None stays None (empty ROI).
    """
    if any(roi is not None and roi.pad != 1 for roi in prepared):
        raise ValueError(f"{FAMILY}: ROIs must be zero-padded by exactly 1 voxel")
    codes, sizes = [], []
    for roi in prepared:
        if roi is None:
            continue
        roi_codes, n_blocks = _run_codes(roi, per_slice)
        codes.append(roi_codes)
        sizes.append(n_blocks * roi.n_levels * _max_run(roi))
    counts = iter(batched_bincount(codes, sizes) if codes else [])
    out = []
    for roi in prepared:
        if roi is None:
            out.append(None)
            continue
        n_slices, n_runs = (roi.shape[0] if per_slice else 1), _max_run(roi)
        blocks = next(counts).reshape(-1, roi.n_levels, n_runs)
        xp = get_xp(blocks)
        out.append(DirectionalMatrices(
            blocks[:4 * n_slices].reshape(n_slices, 4, roi.n_levels, n_runs),
            blocks[4 * n_slices:], xp.arange(1, n_runs + 1, dtype=xp.float64), roi.n_levels,
            per_slice, roi.is_2d_image))
    return out


def _run_codes(roi: PreparedRoi, per_slice: bool):
    """Run codes ``(block * N_g + level - 1) * L + length - 1`` of one ROI.

    Blocks 0..4Z-1 are (slice, in-plane direction); blocks 4Z.. the 9 out-of-plane directions.
    Without ``per_slice`` the whole box is one row (Z = 1): padding zeros separate the slices.
    """
    xp = get_xp(roi.padded)
    n_g, n_runs = roi.n_levels, _max_run(roi)
    padded = roi.padded
    volume = padded.reshape(1, -1)
    n_slices = roi.shape[0] if per_slice else 1
    rows = padded[1:1 + n_slices].reshape(n_slices, -1) if per_slice else volume
    parts = []
    # code = (block * N_g + level - 1) * L + length - 1, folded in place on the run arrays.
    for k, direction in enumerate(IN_PLANE_DIRECTIONS):
        z, lengths, levels = chain_runs(rows, flat_stride(padded.shape, direction))
        if z is not None:  # None: a single slice, row offset 0
            z *= 4 * n_g * n_runs
        parts.append(_fold_codes(levels, lengths, z, k * n_g * n_runs - n_runs - 1, n_runs))
    for k, direction in enumerate(OUT_OF_PLANE_DIRECTIONS):
        _, lengths, levels = chain_runs(volume, flat_stride(padded.shape, direction))
        block = 4 * n_slices + k
        parts.append(_fold_codes(levels, lengths, None, block * n_g * n_runs - n_runs - 1, n_runs))
    return xp.concatenate(parts), 4 * n_slices + len(OUT_OF_PLANE_DIRECTIONS)


def _fold_codes(levels, lengths, row_offset, constant: int, n_runs: int):
    """``levels * L + lengths + row_offset + constant`` (int64), computed in place on ``lengths``."""
    xp = get_xp(levels)
    lengths += levels.astype(xp.int64) * n_runs
    if row_offset is not None:
        lengths += row_offset
    lengths += constant
    return lengths


def glrlm_stack_features(counts, j_values) -> dict:
    """GLRLM features of a stack of run length matrices (n, N_g, L); ``N_v = sum_ij j r_ij``."""
    xp = get_xp(counts)
    m = xp.asarray(counts, dtype=xp.float64)
    n_voxels = (m.sum(axis=1) * j_values).sum(axis=1)  # every voxel lies in exactly one run
    return rename(level_count_features(m, j_values, n_voxels), NAMES)


def glrlm_features(binned, n_levels: int, *, aggregations=("3D_avg", "3D_comb"),
                   distance: int = 1) -> dict[str, float]:
    """GLRLM features of one discretised ROI for the requested aggregation methods.

    Parameters
    ----------
    binned : array (z, y, x), integer (NumPy or CuPy)
        Grey levels ``1..n_levels`` inside the ROI intensity mask, 0 outside.
    n_levels : int
        Number of grey levels :math:`N_g` of the discretisation.
    aggregations : sequence of str
        Among ``2D_avg, 2D_comb, 2_5D_avg, 2_5D_comb, 3D_avg, 3D_comb``.
    distance : int
        Accepted for a signature common with :func:`~neurorad.features.glcm.glcm_features`;
        runs consist of adjacent voxels, so only 1 is meaningful (IBSI defines no run
        distance); other values raise ``ValueError``.

    Returns
    -------
    dict
        ``rlm_<feature>_<aggregation>`` -> float. For merged methods the counts are summed and
        :math:`N_v` (run percentage) is summed over the merged matrices, as the manual asks.

    Notes
    -----
    Formulas: :data:`FEATURES` and :func:`~neurorad.features.texture.level_count_features`.
    NaN with a warning for an empty ROI or a 3D aggregation of a single-slice image.

    Reference: IBSI reference manual, "Grey level run length based features" (TP0I).
    """
    aggregations = check_aggregations(aggregations, DIRECTIONAL_AGGREGATIONS, FAMILY)
    if distance != 1:
        raise ValueError(f"{FAMILY}: runs are made of adjacent voxels; distance must be 1, "
                         f"got {distance!r}")
    roi = prepare_roi(binned, n_levels, FAMILY, pad=1)
    matrices = (matrices_from_prepared([roi], needs_slices(aggregations))[0]
                if roi is not None else None)
    return glrlm_features_from_matrices(matrices, aggregations)


def glrlm_features_from_matrices(matrices: DirectionalMatrices | None,
                                 aggregations=("3D_avg", "3D_comb")) -> dict[str, float]:
    """GLRLM features from pre-built matrices (:func:`glrlm_matrices`; None: empty ROI).

    The second half of :func:`glrlm_features`, for callers that build the matrices of many
    ROIs / discretisations in one batch. Same tags, values and warnings.
    """
    return evaluate_directional_family(FAMILY, FEATURES, aggregations, matrices,
                                       lambda stack, m: glrlm_stack_features(stack, m.j_values))
