"""Grey level co-occurrence matrix features (IBSI family *LFYI*, tags ``cm_*``).

The GLCM :math:`M_\\mathbf{m}` of direction :math:`\\mathbf{m}` counts pairs of ROI voxels
``k`` and ``k + delta * m`` with grey levels ``(i, j)``; it is made symmetric by adding the
opposite direction, :math:`M_\\mathbf{m} = M_{\\mathbf{m}+} + M_{\\mathbf{m}+}^T`.
Neighbours are found with the Chebyshev distance ``delta``: the 13 unique 3D direction vectors
(4 in-plane) are multiplied by ``delta``. Features use the joint probabilities
:math:`p_{ij} = M_{ij} / \\sum M`, the marginals :math:`p_{i.}, p_{.j}`, and the diagonal and
cross-diagonal distributions :math:`p_{i-j,k}` (``k = |i-j| = 0..N_g-1``) and
:math:`p_{i+j,k}` (``k = i+j = 2..2N_g``). ``N_g`` is the number of grey levels of the
discretisation (not only those present).

Reference: IBSI reference manual (arXiv:1612.07003), section "Grey level co-occurrence based
features"; Haralick RM et al., IEEE Trans Syst Man Cybern 1973;3:610-621.
"""
from __future__ import annotations

import numpy as np

from neurorad.backend import get_xp
from neurorad.features.texture import (
    DIRECTIONAL_AGGREGATIONS, IN_PLANE_DIRECTIONS, OUT_OF_PLANE_DIRECTIONS, DirectionalMatrices,
    PreparedRoi, check_aggregations, check_distance, evaluate_directional_family, needs_slices,
    prepare_roi,
)
from neurorad.features.texture_kernels import batched_bincount, flat_stride

FAMILY = "GLCM"

FEATURES = {
    "cm_joint_max": ("GYBY", "Joint maximum", r"\max_{ij} p_{ij}"),
    "cm_joint_avg": ("60VM", "Joint average", r"\mu = \sum_{ij} i\,p_{ij}"),
    "cm_joint_var": ("UR99", "Joint variance", r"\sum_{ij} (i-\mu)^2 p_{ij}"),
    "cm_joint_entr": ("TU9B", "Joint entropy", r"-\sum_{ij} p_{ij}\log_2 p_{ij}"),
    "cm_diff_avg": ("TF7R", "Difference average", r"\mu_d = \sum_k k\,p_{i-j,k}"),
    "cm_diff_var": ("D3YU", "Difference variance", r"\sum_k (k-\mu_d)^2 p_{i-j,k}"),
    "cm_diff_entr": ("NTRS", "Difference entropy", r"-\sum_k p_{i-j,k}\log_2 p_{i-j,k}"),
    "cm_sum_avg": ("ZGXS", "Sum average", r"\mu_s = \sum_k k\,p_{i+j,k}"),
    "cm_sum_var": ("OEEB", "Sum variance", r"\sum_k (k-\mu_s)^2 p_{i+j,k}"),
    "cm_sum_entr": ("P6QZ", "Sum entropy", r"-\sum_k p_{i+j,k}\log_2 p_{i+j,k}"),
    "cm_energy": ("8ZQL", "Angular second moment", r"\sum_{ij} p_{ij}^2"),
    "cm_contrast": ("ACUI", "Contrast", r"\sum_{ij} (i-j)^2 p_{ij}"),
    "cm_dissimilarity": ("8S9J", "Dissimilarity", r"\sum_{ij} |i-j|\,p_{ij}"),
    "cm_inv_diff": ("IB1Z", "Inverse difference", r"\sum_k p_{i-j,k}/(1+k)"),
    "cm_inv_diff_norm": ("NDRX", "Normalised inverse difference", r"\sum_k p_{i-j,k}/(1+k/N_g)"),
    "cm_inv_diff_mom": ("WF0Z", "Inverse difference moment", r"\sum_k p_{i-j,k}/(1+k^2)"),
    "cm_inv_diff_mom_norm": ("1QCO", "Normalised inverse difference moment",
                             r"\sum_k p_{i-j,k}/(1+k^2/N_g^2)"),
    "cm_inv_var": ("E8JP", "Inverse variance", r"\sum_{k\ge1} p_{i-j,k}/k^2"),
    "cm_corr": ("NI2N", "Correlation",
                r"\frac{\sum_{ij} i j p_{ij} - \mu_{i.}\mu_{.j}}{\sigma_{i.}\sigma_{.j}}"),
    "cm_auto_corr": ("QWB0", "Autocorrelation", r"\sum_{ij} i j\,p_{ij}"),
    "cm_clust_tend": ("DG8W", "Cluster tendency", r"\sum_{ij} (i+j-\mu_{i.}-\mu_{.j})^2 p_{ij}"),
    "cm_clust_shade": ("7NFM", "Cluster shade", r"\sum_{ij} (i+j-\mu_{i.}-\mu_{.j})^3 p_{ij}"),
    "cm_clust_prom": ("AE86", "Cluster prominence", r"\sum_{ij} (i+j-\mu_{i.}-\mu_{.j})^4 p_{ij}"),
    "cm_info_corr1": ("R8DG", "Information correlation 1",
                      r"\frac{HXY - HXY_1}{\max(HX, HY)}, HXY_1 = -\sum_{ij} p_{ij}\log_2(p_{i.}p_{.j})"),
    "cm_info_corr2": ("JN9H", "Information correlation 2",
                      r"\sqrt{1-\exp(-2(HXY_2 - HXY))}, HXY_2 = -\sum_{ij} p_{i.}p_{.j}\log_2(p_{i.}p_{.j})"),
}


def glcm_matrices(batch, *, distance: int = 1, per_slice: bool = True
                  ) -> list[DirectionalMatrices | None]:
    """Symmetric co-occurrence count matrices of a batch of discretised ROIs, in one pass.

    Parameters
    ----------
    batch : sequence of (binned, n_levels)
        Discretised ROIs (grey levels ``1..n_levels`` inside, 0 outside; (z, y, x)), possibly
        of different shapes and numbers of grey levels (e.g. several discretisations).
    distance : int
        Chebyshev distance :math:`\\delta` (direction vectors are multiplied by it).
    per_slice : bool
        Keep in-plane matrices per slice (needed by the 2D / 2.5D aggregations). When False
        they are summed over slices, which keeps memory at 13 matrices for large ``N_g``.

    Returns
    -------
    list of DirectionalMatrices (None for an empty ROI)
        Per ROI: ``in_plane`` (n_slices, 4, N_g, N_g) per slice and in-plane direction,
        ``out_of_plane`` (9, N_g, N_g); element ``(i-1, j-1)`` counts pairs with levels
        ``(i, j)`` in either order along the direction.

    Notes
    -----
    Every ROI is cropped to its bounding box and zero-padded by ``distance``; pairs are coded
    as ``block * (N_g+1)^2 + a * (N_g+1) + b`` from flat-index shifts of the padded array, so
    pairs touching a voxel outside the ROI land in row/column 0 and are discarded. All codes of
    all ROIs go through one ``bincount``.
    """
    distance = check_distance(distance, FAMILY)
    prepared = [prepare_roi(b, n, FAMILY, pad=distance) for b, n in batch]
    return matrices_from_prepared(prepared, distance, per_slice)


def _slice_count(roi: PreparedRoi, per_slice: bool) -> int:
    return roi.shape[0] if per_slice else 1


def matrices_from_prepared(prepared: list[PreparedRoi | None], distance: int,
                           per_slice: bool = True) -> list[DirectionalMatrices | None]:
    """:func:`glcm_matrices` of ROIs already prepared with ``prepare_roi(..., pad=distance)``.

    All pair codes of all ROIs go through one ``bincount``; None stays None (empty ROI).
    """
    if any(roi is not None and roi.pad < distance for roi in prepared):
        raise ValueError(f"{FAMILY}: ROIs must be zero-padded by at least the distance "
                         f"{distance}")
    codes, sizes = [], []
    for roi in prepared:
        if roi is None:
            continue
        roi_codes, n_blocks = _pair_codes(roi, distance, per_slice)
        codes.append(roi_codes)
        sizes.append(n_blocks * (roi.n_levels + 1) ** 2)
    counts = iter(batched_bincount(codes, sizes) if codes else [])
    out = []
    for roi in prepared:
        if roi is None:
            out.append(None)
            continue
        n = roi.n_levels + 1
        n_slices = _slice_count(roi, per_slice)
        blocks = next(counts).reshape(-1, n, n)[:, 1:, 1:]
        blocks = blocks + blocks.transpose(0, 2, 1)  # symmetric: add the opposite direction
        in_plane = blocks[:4 * n_slices].reshape(n_slices, 4, n - 1, n - 1)
        xp = get_xp(blocks)
        out.append(DirectionalMatrices(in_plane, blocks[4 * n_slices:],
                                       xp.arange(1, n, dtype=xp.float64), roi.n_levels,
                                       per_slice, roi.is_2d_image))
    return out


def coarsened(matrices: DirectionalMatrices | None, ratio: int) -> DirectionalMatrices | None:
    """GLCMs of the grey levels ``(g - 1) // ratio + 1`` from the GLCMs of the levels ``g``.

    A pair of voxels with levels ``(g1, g2)`` has the coarse levels ``(h1, h2)`` with
    ``h = (g - 1) // ratio + 1``, so each coarse count is the sum of a ``ratio x ratio`` block
    of fine counts: :math:`M'_{h_1 h_2} = \\sum_{g_1, g_2 \\in \\text{block}} M_{g_1 g_2}`.
    Integer counts, so the result equals the matrices built from the coarse levels exactly
    (FBN at ``N_g / 2^k`` nests this way, module ``neurorad.preprocess.discretise``); a test
    compares them. ``N_g`` must be a multiple of ``ratio``.
    """
    if matrices is None:
        return None
    n_fine = matrices.n_levels
    if ratio < 1 or n_fine % ratio:
        raise ValueError(f"{FAMILY}: cannot merge {n_fine} grey levels by {ratio}")
    n = n_fine // ratio

    def merge(counts):
        # Strided slices added up (a reshape-and-sum over two axes is ~15x slower here).
        rows = sum(counts[..., k::ratio, :] for k in range(1, ratio)) + counts[..., 0::ratio, :]
        return sum(rows[..., k::ratio] for k in range(1, ratio)) + rows[..., 0::ratio]

    xp = get_xp(matrices.out_of_plane)
    return DirectionalMatrices(merge(matrices.in_plane), merge(matrices.out_of_plane),
                               xp.arange(1, n + 1, dtype=xp.float64), n, matrices.per_slice,
                               matrices.is_2d_image)


def _pair_codes(roi: PreparedRoi, distance: int, per_slice: bool):
    """Pair codes of one ROI: blocks 0..4Z-1 are (slice, in-plane direction), then 9 3D ones.

    Only ROI voxels start a pair (their flat positions ``p`` are listed once); the neighbour
    ``p + stride`` may be outside (level 0, row/column 0, discarded).
    """
    xp = get_xp(roi.padded)
    flat = roi.padded.ravel()
    n = roi.n_levels + 1
    block = n * n
    n_slices = _slice_count(roi, per_slice)
    plane = roi.padded.shape[1] * roi.padded.shape[2]
    voxels = xp.flatnonzero(flat)
    first = flat[voxels].astype(xp.int64) * n
    slice_base = first + (voxels // plane - roi.pad) * (4 * block) if per_slice else first
    volume_base = first + 4 * n_slices * block
    directions = IN_PLANE_DIRECTIONS + OUT_OF_PLANE_DIRECTIONS
    codes = xp.empty((len(directions), voxels.size), dtype=xp.int64)
    for k, direction in enumerate(directions):
        base = slice_base if k < len(IN_PLANE_DIRECTIONS) else volume_base
        xp.add(base, flat[voxels + flat_stride(roi.padded.shape, direction, distance)],
               out=codes[k])
    # Direction k's block: in-plane blocks are interleaved per slice (slice * 4 + k), the
    # out-of-plane ones follow all slices (4 * n_slices + k - 4).
    in_plane = len(IN_PLANE_DIRECTIONS)
    offsets = xp.asarray([k * block if k < in_plane else (k - in_plane) * block
                          for k in range(len(directions))], dtype=xp.int64)
    codes += offsets[:, None]
    return codes.ravel(), 4 * n_slices + len(OUT_OF_PLANE_DIRECTIONS)


def glcm_stack_features(counts, n_levels: int) -> dict:
    """All GLCM features of a stack of count matrices (see :data:`FEATURES` for formulas).

    Parameters
    ----------
    counts : array (n, N_g, N_g)
        Co-occurrence counts (symmetric or not: marginals are taken separately).
    n_levels : int
        ``N_g`` (used by the normalised inverse difference features).

    Returns
    -------
    dict tag -> array (n,); NaN for an empty matrix or an undefined value (e.g. correlation
    with a single grey level).
    """
    xp = get_xp(counts)
    m = xp.asarray(counts, dtype=xp.float64)
    n_mat, n_g = m.shape[0], m.shape[-1]
    levels = xp.arange(1, n_g + 1, dtype=xp.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Marginals from the counts (integer sums: exact), then one division each.
        total = m.sum(axis=(1, 2))
        p = m / total[:, None, None]
        p_i, p_j = m.sum(axis=2) / total[:, None], m.sum(axis=1) / total[:, None]
        mu_i, mu_j = p_i @ levels, p_j @ levels
        var_i = p_i @ levels ** 2 - mu_i ** 2
        sd_i = xp.sqrt(var_i)
        sd_j = xp.sqrt(p_j @ levels ** 2 - mu_j ** 2)
        ij = (p @ levels) @ levels  # sum_ij i j p_ij

        # Diagonal (|i-j| = 0..N_g-1) and cross-diagonal (i+j = 2..2N_g) distributions,
        # accumulated with one weighted bincount over the whole stack; empty matrices (NaN
        # probabilities) contribute zeros.
        grid = xp.arange(n_g)
        stack_idx = xp.arange(n_mat)[:, None]
        diff_idx = (stack_idx * n_g + xp.abs(grid[:, None] - grid[None, :]).ravel()[None]).ravel()
        sum_idx = (stack_idx * (2 * n_g - 1) + (grid[:, None] + grid[None, :]).ravel()[None]).ravel()
        occupied = total > 0
        flat_p = xp.where(occupied[:, None, None], p, 0.0).ravel()
        p_diff = xp.bincount(diff_idx, weights=flat_p, minlength=n_mat * n_g).reshape(n_mat, n_g)
        p_sum = xp.bincount(sum_idx, weights=flat_p,
                            minlength=n_mat * (2 * n_g - 1)).reshape(n_mat, 2 * n_g - 1)
        k_diff = xp.arange(n_g, dtype=xp.float64)
        k_sum = xp.arange(2, 2 * n_g + 1, dtype=xp.float64)

        diff_avg = p_diff @ k_diff
        sum_avg = p_sum @ k_sum
        centred_sum = k_sum[None] - (mu_i + mu_j)[:, None]
        inv_var_weights = xp.concatenate([xp.zeros(1), 1.0 / k_diff[1:] ** 2])

        log_p = xp.log2(xp.where(p > 0, p, 1.0))  # 0 log 0 = 0
        h_xy = -xp.einsum("nab,nab->n", p, log_p)
        h_x, h_y = _entropy(p_i), _entropy(p_j)
        # HXY1 = HXY2 = HX + HY for proper marginals (sum_j p_ij log p_i = p_i log p_i).
        h_xy1 = h_x + h_y
        info_corr2 = xp.sqrt(xp.clip(1.0 - xp.exp(-2.0 * (h_xy1 - h_xy)), 0.0, None))
        return {
            "cm_joint_max": p.max(axis=(1, 2)),
            "cm_joint_avg": mu_i,
            "cm_joint_var": var_i,
            "cm_joint_entr": h_xy,
            "cm_diff_avg": diff_avg,
            "cm_diff_var": (p_diff * (k_diff[None] - diff_avg[:, None]) ** 2).sum(axis=1),
            "cm_diff_entr": _entropy(p_diff),
            "cm_sum_avg": sum_avg,
            "cm_sum_var": (p_sum * (k_sum[None] - sum_avg[:, None]) ** 2).sum(axis=1),
            "cm_sum_entr": _entropy(p_sum),
            "cm_energy": xp.einsum("nab,nab->n", p, p),
            "cm_contrast": p_diff @ k_diff ** 2,
            "cm_dissimilarity": diff_avg,
            "cm_inv_diff": p_diff @ (1.0 / (1.0 + k_diff)),
            "cm_inv_diff_norm": p_diff @ (1.0 / (1.0 + k_diff / n_levels)),
            "cm_inv_diff_mom": p_diff @ (1.0 / (1.0 + k_diff ** 2)),
            "cm_inv_diff_mom_norm": p_diff @ (1.0 / (1.0 + k_diff ** 2 / n_levels ** 2)),
            "cm_inv_var": p_diff @ inv_var_weights,
            "cm_corr": (ij - mu_i * mu_j) / (sd_i * sd_j),
            "cm_auto_corr": ij,
            "cm_clust_tend": (p_sum * centred_sum ** 2).sum(axis=1),
            "cm_clust_shade": (p_sum * centred_sum ** 3).sum(axis=1),
            "cm_clust_prom": (p_sum * centred_sum ** 4).sum(axis=1),
            "cm_info_corr1": (h_xy - h_xy1) / xp.maximum(h_x, h_y),
            "cm_info_corr2": info_corr2,
        }


def _entropy(p):
    """Base-2 entropy along the last axis (0 log 0 = 0)."""
    xp = get_xp(p)
    positive = p > 0
    return -xp.where(positive, p * xp.log2(xp.where(positive, p, 1.0)), 0.0).sum(axis=-1)


def glcm_features(binned, n_levels: int, *, aggregations=("3D_avg", "3D_comb"),
                  distance: int = 1) -> dict[str, float]:
    """GLCM features of one discretised ROI for the requested aggregation methods.

    Parameters
    ----------
    binned : array (z, y, x), integer (NumPy or CuPy)
        Grey levels ``1..n_levels`` inside the ROI intensity mask, 0 outside.
    n_levels : int
        Number of grey levels :math:`N_g` of the discretisation (may exceed the highest level
        present).
    aggregations : sequence of str
        Among ``2D_avg, 2D_comb, 2_5D_avg, 2_5D_comb, 3D_avg, 3D_comb`` (see
        :mod:`neurorad.features.texture`).
    distance : int
        Chebyshev distance :math:`\\delta` between neighbours (default 1).

    Returns
    -------
    dict
        ``cm_<feature>_<aggregation>`` -> float, e.g. ``cm_joint_max_3D_avg``. Features are
        computed per matrix and averaged over the non-empty matrices of the aggregation;
        merged methods sum counts before computing probabilities.

    Notes
    -----
    Formulas: :data:`FEATURES`. NaN with a warning for an empty ROI, a ROI without neighbour
    pairs (single voxel), a 3D aggregation of a single-slice image, and features undefined for
    a single grey level (correlation, information correlation 1).

    Reference: IBSI reference manual, "Grey level co-occurrence based features" (LFYI).
    """
    aggregations = check_aggregations(aggregations, DIRECTIONAL_AGGREGATIONS, FAMILY)
    distance = check_distance(distance, FAMILY)
    roi = prepare_roi(binned, n_levels, FAMILY, pad=distance)
    matrices = (matrices_from_prepared([roi], distance, needs_slices(aggregations))[0]
                if roi is not None else None)
    return glcm_features_from_matrices(matrices, aggregations)


def glcm_features_from_matrices(matrices: DirectionalMatrices | None,
                                aggregations=("3D_avg", "3D_comb")) -> dict[str, float]:
    """GLCM features from pre-built matrices (:func:`glcm_matrices`; None: empty ROI).

    The second half of :func:`glcm_features`, for callers that build the matrices of many
    ROIs / discretisations in one batch. Same tags, values and warnings.
    """
    return evaluate_directional_family(FAMILY, FEATURES, aggregations, matrices,
                                       lambda stack, m: glcm_stack_features(stack, m.n_levels))
