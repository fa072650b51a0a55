"""Grey level size zone matrix features (IBSI family *9SAK*, tags ``szm_*``).

A zone is a maximal group of connected ROI voxels sharing one grey level (26-connectivity in
3D, 8-connectivity within a slice in 2D). Element :math:`s_{ij}` of the GLSZM counts zones of
grey level :math:`i` and size (voxel count) :math:`j`. With :math:`N_s` zones and
:math:`N_v` ROI voxels the features are those of
:func:`neurorad.features.texture.level_count_features`.

Reference: IBSI reference manual (arXiv:1612.07003), section "Grey level size zone based
features"; Thibault G et al., Proc. PRIP 2009, 140-145.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurorad.backend import get_xp
from neurorad.features.texture import (
    VOLUME_AGGREGATIONS, PreparedRoi, SliceMatrices, check_aggregations,
    evaluate_level_count_family, level_count_catalogue, needed_kinds, prepare_roi,
)
from neurorad.features.texture_kernels import batched_bincount, label_zones, label_zones_batch

FAMILY = "GLSZM"

# The manual prints no code for small zone emphasis; 5QRC is its permanent identifier.
NAMES, FEATURES = level_count_catalogue((
    ("short", "szm_sze", "5QRC", "Small zone emphasis"),
    ("long", "szm_lze", "48P8", "Large zone emphasis"),
    ("low_gl", "szm_lgze", "XMSY", "Low grey level zone emphasis"),
    ("high_gl", "szm_hgze", "5GN9", "High grey level zone emphasis"),
    ("short_low", "szm_szlge", "5RAI", "Small zone low grey level emphasis"),
    ("short_high", "szm_szhge", "HW1V", "Small zone high grey level emphasis"),
    ("long_low", "szm_lzlge", "YH51", "Large zone low grey level emphasis"),
    ("long_high", "szm_lzhge", "J17V", "Large zone high grey level emphasis"),
    ("glnu", "szm_glnu", "JNSA", "Grey level non-uniformity"),
    ("glnu_norm", "szm_glnu_norm", "Y1RO", "Normalised grey level non-uniformity"),
    ("jnu", "szm_zsnu", "4JP3", "Zone size non-uniformity"),
    ("jnu_norm", "szm_zsnu_norm", "VB3A", "Normalised zone size non-uniformity"),
    ("perc", "szm_z_perc", "P30P", "Zone percentage"),
    ("gl_var", "szm_gl_var", "BYLV", "Grey level variance"),
    ("j_var", "szm_zs_var", "3NSA", "Zone size variance"),
    ("entropy", "szm_zs_entr", "GU8N", "Zone size entropy"),
), symbol="s")

@dataclass(frozen=True)
class Zones:
    """Connected zones of equal grey level in a ROI box.

    Attributes
    ----------
    labels : array (Z, Y, X) of int
        Zone number ``1..n`` per ROI voxel, 0 outside.
    n : int
        Number of zones.
    levels, sizes, slices : arrays (n,) of int64
        Grey level, voxel count and slice index (of its first voxel; 2D zones lie in one slice)
        of each zone.
    """

    labels: Any
    n: int
    levels: Any
    sizes: Any
    slices: Any


def find_zones(interior, *, in_plane: bool) -> Zones:
    """Label the zones of a cropped grey-level array (see
    :func:`~neurorad.features.texture_kernels.label_zones`) and tabulate their grey level, size and slice."""
    return tabulate_zones(interior, *label_zones(interior, in_plane=in_plane))


def tabulate_zones(interior, labels, n: int) -> Zones:
    """Grey level, size and slice of each zone ``1..n`` of ``labels`` (zones of ``interior``)."""
    xp = get_xp(interior)
    flat = labels.ravel()
    sizes = xp.bincount(flat, minlength=n + 1)[1:].astype(xp.int64)
    # Every voxel of a zone carries the same level (and, in 2D, slice), so a scatter in any
    # order writes the same value.
    levels = xp.zeros(n + 1, dtype=xp.int64)
    levels[flat] = interior.ravel()
    z_index = xp.broadcast_to(xp.arange(interior.shape[0])[:, None, None], interior.shape)
    slices = xp.zeros(n + 1, dtype=xp.int64)
    slices[flat] = z_index.ravel()
    return Zones(labels, n, levels[1:], sizes, slices[1:])


# GLSZM and GLDZM of one ROI label the same zones; the most recent zone tables are kept
# (CPU only), keyed by the *content* of the cropped ROI, so the second family reuses them.
_ZONE_CACHE: OrderedDict = OrderedDict()
_ZONE_CACHE_SIZE = 4
_ZONE_CACHE_LOCK = threading.Lock()


def zones_of(interior, *, in_plane: bool) -> Zones:
    """:func:`find_zones`, reusing the result for an identical array (NumPy arrays only)."""
    if get_xp(interior) is not np:
        return find_zones(interior, in_plane=in_plane)
    data = np.ascontiguousarray(interior)
    key = (in_plane, data.shape, data.dtype.str,
           hashlib.blake2b(data.tobytes(), digest_size=16).digest())
    with _ZONE_CACHE_LOCK:
        if key in _ZONE_CACHE:
            _ZONE_CACHE.move_to_end(key)
            return _ZONE_CACHE[key]
    zones = find_zones(data, in_plane=in_plane)
    with _ZONE_CACHE_LOCK:
        _ZONE_CACHE[key] = zones
        while len(_ZONE_CACHE) > _ZONE_CACHE_SIZE:
            _ZONE_CACHE.popitem(last=False)
    return zones


def zone_counts(batch_zones) -> list[SliceMatrices | None]:
    """Turn zone tables into per-slice and 3D count matrices with one ``bincount``.

    Parameters
    ----------
    batch_zones : list of (PreparedRoi, dict) or None
        Per ROI, a dict with keys ``"2D"`` (in-plane zones) and/or ``"3D"`` mapping to
        ``(Zones, j)``, where ``j`` (array (n,) of int64) is each zone's column value: its size
        (GLSZM) or its distance (GLDZM).

    Returns
    -------
    list of SliceMatrices (None for an empty ROI); columns are the distinct ``j`` values.
    """
    codes, sizes, layout = [], [], []
    for item in batch_zones:
        if item is None:
            layout.append(None)
            continue
        roi, kinds = item
        xp = get_xp(roi.padded)
        n_g, n_slices = roi.n_levels, roi.shape[0]
        j_values = xp.unique(xp.concatenate([j for _, j in kinds.values()]))
        n_cols = int(j_values.size)
        parts = []
        for kind, (zones, j) in kinds.items():
            # 2D zones go to their slice's block, 3D zones to the last block.
            block = zones.slices if kind == "2D" else n_slices
            parts.append((block * n_g + zones.levels - 1) * n_cols + xp.searchsorted(j_values, j))
        codes.append(xp.concatenate(parts))
        sizes.append((n_slices + 1) * n_g * n_cols)
        layout.append((roi, j_values, set(kinds)))
    counts = iter(batched_bincount(codes, sizes) if codes else [])
    out = []
    for item in layout:
        if item is None:
            out.append(None)
            continue
        roi, j_values, kinds = item
        xp = get_xp(roi.padded)
        blocks = next(counts).reshape(roi.shape[0] + 1, roi.n_levels, -1)
        per_slice_voxels = (roi.interior > 0).sum(axis=(1, 2))
        out.append(SliceMatrices(blocks[:-1] if "2D" in kinds else None,
                                 blocks[-1] if "3D" in kinds else None,
                                 j_values.astype(xp.float64), per_slice_voxels,
                                 int(per_slice_voxels.sum()), roi.n_levels, roi.is_2d_image))
    return out


def glszm_matrices(batch, *, in_plane: bool = True, volume: bool = True
                   ) -> list[SliceMatrices | None]:
    """Size zone count matrices of a batch of discretised ROIs.

    Parameters
    ----------
    batch : sequence of (binned, n_levels)
        Discretised ROIs (grey levels ``1..n_levels`` inside, 0 outside; (z, y, x)).
    in_plane, volume : bool
        Build the per-slice (8-connected 2D zones) and/or the 3D (26-connected) matrices.

    Returns
    -------
    list of SliceMatrices (None for an empty ROI)
        ``per_slice`` (n_slices, N_g, J), ``volume`` (N_g, J); columns are the distinct zone
        sizes ``j_values`` found in the ROI (the matrix is sparse in size, so absent sizes
        are dropped: they contribute nothing to any feature).

    Notes
    -----
    Zones are labelled per ROI (scikit-image on the CPU, ``cupyx.scipy.ndimage.label`` per
    grey level on the GPU); all zones of all ROIs are counted with one ``bincount``.
    """
    prepared = [prepare_roi(b, n, FAMILY, pad=0) for b, n in batch]
    return matrices_from_prepared(prepared, in_plane, volume)


def zone_tables(prepared: list[PreparedRoi | None], *, in_plane: bool, volume: bool,
                label_binary=None) -> list[dict[str, Zones] | None]:
    """The zones of each prepared ROI: ``{"2D": in-plane zones, "3D": volume zones}`` (the
    kinds asked for), None for an empty ROI. GLSZM and GLDZM share these tables.

    On a GPU all ROIs are labelled together
    (:func:`~neurorad.features.texture_kernels.label_zones_batch`: one launch per grey level
    for the whole batch); on the CPU each ROI is labelled in one pass (and cached), unless a
    binary labeller ``label_binary`` is given (it selects the stacked GPU strategy).
    """
    kinds = [kind for kind, wanted in (("2D", in_plane), ("3D", volume)) if wanted]
    present = [roi for roi in prepared if roi is not None]
    by_kind = {}
    for kind in kinds:
        if present and (label_binary is not None or get_xp(present[0].padded) is not np):
            labelled = label_zones_batch([roi.interior for roi in present],
                                         in_plane=kind == "2D", label_binary=label_binary)
            by_kind[kind] = iter([tabulate_zones(roi.interior, labels, n)
                                  for roi, (labels, n) in zip(present, labelled)])
        else:
            by_kind[kind] = iter([zones_of(roi.interior, in_plane=kind == "2D")
                                  for roi in present])
    return [None if roi is None else {kind: next(by_kind[kind]) for kind in kinds}
            for roi in prepared]


def matrices_from_zones(prepared: list[PreparedRoi | None], zones: list[dict | None]
                        ) -> list[SliceMatrices | None]:
    """GLSZMs of prepared ROIs from their :func:`zone_tables` (one ``bincount`` for all)."""
    return zone_counts([None if roi is None else
                        (roi, {kind: (z, z.sizes) for kind, z in roi_zones.items()})
                        for roi, roi_zones in zip(prepared, zones)])


def matrices_from_prepared(prepared: list[PreparedRoi | None], in_plane: bool, volume: bool
                           ) -> list[SliceMatrices | None]:
    """:func:`glszm_matrices` of ROIs already prepared with ``prepare_roi(..., pad=0)``."""
    zones = zone_tables(prepared, in_plane=in_plane, volume=volume)
    return matrices_from_zones(prepared, zones)


def glszm_features(binned, n_levels: int, *, aggregations=("3D",)) -> dict[str, float]:
    """GLSZM features of one discretised ROI.

    Parameters
    ----------
    binned : array (z, y, x), integer (NumPy or CuPy)
        Grey levels ``1..n_levels`` inside the ROI intensity mask, 0 outside.
    n_levels : int
        Number of grey levels :math:`N_g` of the discretisation.
    aggregations : sequence of str
        Among ``2D`` (per-slice matrices, features averaged over slices), ``2_5D`` (slice
        matrices summed, :math:`N_v` summed), ``3D`` (volumetric zones).

    Returns
    -------
    dict
        ``szm_<feature>_<aggregation>`` -> float, e.g. ``szm_sze_3D``.

    Notes
    -----
    Formulas: :data:`FEATURES`. NaN with a warning for an empty ROI or a 3D aggregation of a
    single-slice image.

    Reference: IBSI reference manual, "Grey level size zone based features" (9SAK).
    """
    aggregations = check_aggregations(aggregations, VOLUME_AGGREGATIONS, FAMILY)
    roi = prepare_roi(binned, n_levels, FAMILY, pad=0)
    need_2d, need_3d = needed_kinds(aggregations, roi)
    matrices = matrices_from_prepared([roi], need_2d, need_3d)[0] if roi is not None else None
    return glszm_features_from_matrices(matrices, aggregations)


def glszm_features_from_matrices(matrices: SliceMatrices | None, aggregations=("3D",)
                                 ) -> dict[str, float]:
    """GLSZM features from pre-built matrices (:func:`glszm_matrices`; None: empty ROI).

    The second half of :func:`glszm_features`, for callers that build the matrices of many
    ROIs / discretisations in one batch. Same tags, values and warnings.
    """
    return evaluate_level_count_family(FAMILY, NAMES, aggregations, matrices)
