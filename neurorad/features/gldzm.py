"""Grey level distance zone matrix features (IBSI family *VMDZ*, tags ``dzm_*``).

Zones are those of the GLSZM (connected voxels of one grey level in the intensity mask;
26-connectivity in 3D, 8 within a slice in 2D). The distance of a zone is the minimum, over
its voxels, of the distance map computed on the **morphological** mask: the number of
face-connected steps (6-connectivity in 3D, 4 in-plane in 2D) to leave the ROI, with voxels
on the ROI edge at distance 1 (the image border counts as outside). Element :math:`d_{ij}`
counts zones of grey level :math:`i` at distance :math:`j`; :math:`N_v` is the number of
voxels of the intensity mask (summed over slices when merged). Features are those of
:func:`neurorad.features.texture.level_count_features`.

Reference: IBSI reference manual (arXiv:1612.07003), section "Grey level distance zone based
features"; Thibault G et al., IEEE Trans Biomed Eng 2014;61:630-637.
"""
from __future__ import annotations

from neurorad.backend import get_xp
from neurorad.features.glszm import zone_counts, zone_tables
from neurorad.features.texture import (
    VOLUME_AGGREGATIONS, PreparedRoi, SliceMatrices, as_volume, check_aggregations,
    evaluate_level_count_family, level_count_catalogue, needed_kinds, prepare_roi, roi_bounding_box,
)
from neurorad.features.texture_kernels import border_distance, group_by_value, zone_minimum

FAMILY = "GLDZM"

NAMES, FEATURES = level_count_catalogue((
    ("short", "dzm_sde", "0GBI", "Small distance emphasis"),
    ("long", "dzm_lde", "MB4I", "Large distance emphasis"),
    ("low_gl", "dzm_lgze", "S1RA", "Low grey level zone emphasis"),
    ("high_gl", "dzm_hgze", "K26C", "High grey level zone emphasis"),
    ("short_low", "dzm_sdlge", "RUVG", "Small distance low grey level emphasis"),
    ("short_high", "dzm_sdhge", "DKNJ", "Small distance high grey level emphasis"),
    ("long_low", "dzm_ldlge", "A7WM", "Large distance low grey level emphasis"),
    ("long_high", "dzm_ldhge", "KLTH", "Large distance high grey level emphasis"),
    ("glnu", "dzm_glnu", "VFT7", "Grey level non-uniformity"),
    ("glnu_norm", "dzm_glnu_norm", "7HP3", "Normalised grey level non-uniformity"),
    ("jnu", "dzm_zdnu", "V294", "Zone distance non-uniformity"),
    ("jnu_norm", "dzm_zdnu_norm", "IATH", "Normalised zone distance non-uniformity"),
    ("perc", "dzm_z_perc", "VIWW", "Zone percentage"),
    ("gl_var", "dzm_gl_var", "QK93", "Grey level variance"),
    ("j_var", "dzm_zd_var", "7WT1", "Zone distance variance"),
    ("entropy", "dzm_zd_entr", "GBDU", "Zone distance entropy"),
), symbol="d")

def prepare(binned, n_levels, morph_mask):
    """Crop the ROI to its box and the morphological mask to its own (larger) box; check them.

    Returns ``(roi, morph_crop, offset)``: ``offset`` is the position of the ROI box inside
    the morphological box (the intensity mask lies inside the morphological mask).
    """
    arr, _ = as_volume(binned, n_levels, FAMILY)
    xp = get_xp(arr)
    morph = xp.asarray(morph_mask)
    if morph.ndim == 2:
        morph = morph[None]
    if morph.shape != arr.shape:
        raise ValueError(f"{FAMILY}: morphological mask shape {tuple(morph.shape)} differs from "
                         f"the discretised ROI shape {tuple(arr.shape)}")
    morph = morph.astype(bool)
    if bool(xp.any((arr > 0) & ~morph)):
        raise ValueError(f"{FAMILY}: the intensity mask (grey levels > 0) has voxels outside the "
                         f"morphological mask; the distance map is undefined there")
    roi = prepare_roi(arr, n_levels, FAMILY, pad=0)
    if roi is None:
        return None, None, None
    morph_box = roi_bounding_box(morph)
    offset = tuple(o - start for o, (start, _) in zip(roi.origin, morph_box))
    return roi, morph[tuple(slice(a, b) for a, b in morph_box)], offset


def distance_maps(roi: PreparedRoi, morph, offset, *, in_plane: bool, volume: bool) -> dict:
    """Distance-to-edge maps of the morphological mask over the ROI's voxels.

    ``{"2D": 4-connected in-plane map, "3D": 6-connected map}`` (the kinds asked for), each
    cropped to the ROI box and grouped by distance over the intensity-mask voxels
    (:func:`~neurorad.features.texture_kernels.group_by_value`); the arguments are those
    returned by :func:`prepare`. The maps depend on the masks only, so all discretisations of
    a ROI share them.
    """
    inside_roi_box = tuple(slice(o, o + s) for o, s in zip(offset, roi.shape))
    inside = roi.interior > 0
    return {kind: group_by_value(border_distance(morph, in_plane=kind == "2D")[inside_roi_box],
                                 inside)
            for kind, wanted in (("2D", in_plane), ("3D", volume)) if wanted}


def matrices_from_zones(prepared: list[PreparedRoi | None], zones: list[dict | None],
                        distances: list[dict | None]) -> list[SliceMatrices | None]:
    """GLDZMs of prepared ROIs (pad 0) from their zones (``glszm.zone_tables``) and
    :func:`distance_maps`; the zone distance is the minimum of the map over the zone. One
    ``bincount`` for all ROIs."""
    batch_zones = []
    for roi, roi_zones, roi_distances in zip(prepared, zones, distances):
        if roi is None:
            batch_zones.append(None)
            continue
        kinds = {}
        for kind, groups in roi_distances.items():
            z = roi_zones[kind]
            kinds[kind] = (z, zone_minimum(z.labels, groups, z.n))
        batch_zones.append((roi, kinds))
    return zone_counts(batch_zones)


def gldzm_matrices(batch, *, in_plane: bool = True, volume: bool = True
                   ) -> list[SliceMatrices | None]:
    """Distance zone count matrices of a batch of ROIs.

    Parameters
    ----------
    batch : sequence of (binned, n_levels, morph_mask)
        Discretised ROIs (grey levels ``1..n_levels`` inside the intensity mask, 0 outside)
        with their morphological masks (same shape, containing the intensity mask).
    in_plane, volume : bool
        Build the per-slice (2D zones, 4-connected in-plane distance) and/or the 3D matrices.

    Returns
    -------
    list of SliceMatrices (None for an empty ROI)
        Columns are the distinct zone distances ``j_values`` (>= 1).

    Notes
    -----
    Distance map: :func:`~neurorad.features.texture_kernels.border_distance`; zone distance: minimum
    over the zone (:func:`~neurorad.features.texture_kernels.zone_minimum`). All zones of all
    ROIs are counted with one ``bincount``.
    """
    prepared = [prepare(b, n, m) for b, n, m in batch]
    return _matrices_from_prepared(prepared, in_plane, volume)


def _matrices_from_prepared(prepared, in_plane: bool, volume: bool):
    rois = [roi for roi, _, _ in prepared]
    zones = zone_tables(rois, in_plane=in_plane, volume=volume)
    distances = [None if roi is None else
                 distance_maps(roi, morph, offset, in_plane=in_plane, volume=volume)
                 for roi, morph, offset in prepared]
    return matrices_from_zones(rois, zones, distances)


def gldzm_features(binned, n_levels: int, morph_mask, *, aggregations=("3D",)) -> dict[str, float]:
    """GLDZM features of one discretised ROI.

    Parameters
    ----------
    binned : array (z, y, x), integer (NumPy or CuPy)
        Grey levels ``1..n_levels`` inside the ROI intensity mask, 0 outside.
    n_levels : int
        Number of grey levels :math:`N_g` of the discretisation.
    morph_mask : array (z, y, x) of bool
        Morphological ROI mask (not re-segmented); the distance map is computed on it. It must
        contain every voxel of the intensity mask.
    aggregations : sequence of str
        Among ``2D``, ``2_5D``, ``3D``.

    Returns
    -------
    dict
        ``dzm_<feature>_<aggregation>`` -> float, e.g. ``dzm_sde_3D``.

    Notes
    -----
    Formulas: :data:`FEATURES`. NaN with a warning for an empty ROI or a 3D aggregation of a
    single-slice image. ``ValueError`` when the masks disagree in shape or the intensity mask
    leaves the morphological mask.

    Reference: IBSI reference manual, "Grey level distance zone based features" (VMDZ).
    """
    aggregations = check_aggregations(aggregations, VOLUME_AGGREGATIONS, FAMILY)
    prepared = prepare(binned, n_levels, morph_mask)
    roi = prepared[0]
    need_2d, need_3d = needed_kinds(aggregations, roi)
    matrices = (_matrices_from_prepared([prepared], need_2d, need_3d)[0]
                if roi is not None else None)
    return gldzm_features_from_matrices(matrices, aggregations)


def gldzm_features_from_matrices(matrices: SliceMatrices | None, aggregations=("3D",)
                                 ) -> dict[str, float]:
    """GLDZM features from pre-built matrices (:func:`gldzm_matrices`; None: empty ROI).

    The second half of :func:`gldzm_features`, for callers that build the matrices of many
    ROIs / discretisations in one batch. Same tags, values and warnings.
    """
    return evaluate_level_count_family(FAMILY, NAMES, aggregations, matrices)
