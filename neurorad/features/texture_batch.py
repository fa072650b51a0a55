"""Texture features of many (ROI, discretisation) items at once.

The feature orchestration (``neurorad.extraction``) hands over every discretisation of
every ROI as one list of :class:`TextureItem`. This module builds each texture family's
matrices for a whole *chunk* of items with one builder call (one ``bincount`` per family and
chunk, :mod:`neurorad.features.texture_kernels`), then computes the features of each item
from its matrices (``<family>_features_from_matrices``). On a GPU this turns
``n_rois x n_discretisations`` small, launch-bound kernel sequences into a few large ones; on
the CPU it computes what the discretisations of a ROI share (its bounding box, the GLDZM
distance maps, the zones used by both GLSZM and GLDZM) once instead of once per family and
discretisation.

Chunks bound memory: items are taken in order until their image boxes add up to
``max_voxels`` (:data:`CHUNK_VOXELS` per device); an item larger than that forms a chunk of
its own. Results equal those of the single-ROI functions (``glcm_features`` etc.) exactly:
the counts are integers and every matrix is evaluated by the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from neurorad.backend import get_xp
from neurorad.features import families_where, glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from neurorad.features.texture import PreparedRoi, level_dtype, needs_slices, roi_bounding_box

#: Families whose matrices are built here (``inputs="texture"`` in the family registry).
TEXTURE_FAMILIES = families_where(inputs="texture")

# Image-box voxels per chunk (summed over items). Peak memory is a few hundred bytes per voxel
# (GLCM pair codes: 13 int64 per ROI voxel, concatenated once; zone label maps). The CPU gains
# nothing from larger chunks, so it keeps them small; a GPU needs large ones to fill the device.
CHUNK_VOXELS = {"cpu": 1_000_000, "gpu": 16_000_000}


@dataclass(frozen=True)
class TextureParams:
    """Which texture families to compute and how.

    Attributes
    ----------
    families : tuple of str
        Among :data:`TEXTURE_FAMILIES`.
    directional : tuple of str
        Aggregations of GLCM and GLRLM (``2D_avg`` ... ``3D_comb``).
    plain : tuple of str
        Aggregations of GLSZM, GLDZM, NGTDM, NGLDM (``2D``, ``2_5D``, ``3D``).
    glcm_distance, ngtdm_distance, ngldm_distance : int
        Chebyshev distances :math:`\\delta`.
    ngldm_coarseness : int
        NGLDM coarseness :math:`\\alpha`.
    """

    families: tuple
    directional: tuple = ("3D_avg", "3D_comb")
    plain: tuple = ("3D",)
    glcm_distance: int = 1
    ngtdm_distance: int = 1
    ngldm_distance: int = 1
    ngldm_coarseness: int = 0

    @classmethod
    def from_settings(cls, settings, families: Sequence[str]) -> "TextureParams":
        """The parameters of a ``Settings`` object, for the given enabled families."""
        texture = settings.texture
        return cls(tuple(f for f in TEXTURE_FAMILIES if f in families),
                   tuple(settings.directional_aggregations()),
                   tuple(settings.plain_aggregations()),
                   texture.glcm_distance, texture.ngtdm_distance, texture.ngldm_distance,
                   texture.ngldm_coarseness)


@dataclass(frozen=True)
class TextureItem:
    """One discretisation of one ROI.

    Attributes
    ----------
    levels : 1-D integer array
        Grey levels ``1..n_levels`` of the intensity-mask voxels (in ``int_mask`` order).
    n_levels : int
        ``N_g`` of the discretisation.
    int_mask, morph_mask : bool arrays (z, y, x)
        Intensity and morphological masks of the ROI (the latter for GLDZM's distance map).
        Items of one ROI should share these array objects: per-ROI work is then done once.
    roi_key : hashable
        Identifies the ROI (items with equal keys share masks); default: the mask's id.
    """

    levels: Any
    n_levels: int
    int_mask: Any
    morph_mask: Any = None
    roi_key: Any = None

    @property
    def key(self):
        return self.roi_key if self.roi_key is not None else id(self.int_mask)


@dataclass
class _RoiGeometry:
    """What all discretisations of one ROI share: its box and (lazily) GLDZM distance maps."""

    box: tuple | None
    int_mask_box: Any
    is_2d_image: bool
    distances: dict | None = None


def chunk_items(items: Sequence[TextureItem], max_voxels: int) -> list[list[int]]:
    """Indices of consecutive items whose image boxes add up to at most ``max_voxels``."""
    chunks, current, total = [], [], 0
    for index, item in enumerate(items):
        size = int(item.int_mask.size)
        if current and total + size > max_voxels:
            chunks.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    if current:
        chunks.append(current)
    return chunks


def texture_features_batch(items: Sequence[TextureItem], params: TextureParams, *,
                           max_voxels: int | None = None) -> list[dict[str, float]]:
    """Texture features of every item (tags without a discretisation suffix).

    Parameters
    ----------
    items : sequence of TextureItem
        Items of one ROI should be consecutive (per-ROI work is shared within a chunk and
        with the next chunk).
    params : TextureParams
    max_voxels : int, optional
        Chunk size in image-box voxels; default :data:`CHUNK_VOXELS` of the items' device.

    Returns
    -------
    list of dict
        Per item, ``<family tag>_<aggregation>`` -> value, exactly as the single-ROI
        functions (``glcm_features`` ...) return them, families in
        :data:`TEXTURE_FAMILIES` order.
    """
    unknown = [f for f in params.families if f not in TEXTURE_FAMILIES]
    if unknown:
        raise ValueError(f"unknown texture families {unknown}; choose among {TEXTURE_FAMILIES}")
    if not items or not params.families:
        return [{} for _ in items]
    if max_voxels is None:
        on_gpu = get_xp(items[0].int_mask).__name__ == "cupy"
        max_voxels = CHUNK_VOXELS["gpu" if on_gpu else "cpu"]
    out: list[dict] = [{} for _ in items]
    geometry: dict = {}
    parents = coarsening_parents(items) if "glcm" in params.families else {}
    # Within each ROI the items with more grey levels first: a parent precedes its children.
    first = {}
    for i, item in enumerate(items):
        first.setdefault(item.key, i)
    order = sorted(range(len(items)), key=lambda i: (first[items[i].key], -int(items[i].n_levels)))
    glcm_kept: dict = {}
    for positions in chunk_items([items[i] for i in order], max_voxels):
        chunk = [order[p] for p in positions]
        chunk_items_ = [items[i] for i in chunk]
        keys = {item.key for item in chunk_items_}
        # Keep only the ROIs of this chunk (a ROI's items are consecutive, so the previous
        # chunk's last ROI may continue here).
        geometry = {k: g for k, g in geometry.items() if k in keys}
        glcm_kept = {i: m for i, m in glcm_kept.items() if items[i].key in keys}
        for item in chunk_items_:
            if item.key not in geometry:
                geometry[item.key] = _roi_geometry(item)
        glcm_plan = _GlcmPlan(chunk, parents, glcm_kept)
        for index, features in zip(chunk, _chunk_features(chunk_items_, params, geometry,
                                                          glcm_plan)):
            out[index] = features
    return out


#: A child's GLCMs are merged from its parent's only when the ROI has at least this many
#: voxels per cell of the parent's ``N_g x N_g`` matrix: merging costs ~``N_g^2`` per
#: direction, counting the pairs again ~the number of voxels, so small ROIs (e.g. 250 voxels at
#: 128 grey levels) count their pairs.
COARSEN_MIN_VOXELS_PER_CELL = 1.0


def coarsening_parents(items: Sequence[TextureItem]) -> dict[int, tuple[int, int]]:
    """``{child: (parent, ratio)}``: items whose grey levels are those of another item of the
    same ROI merged ``ratio`` at a time, ``child = (parent - 1) // ratio + 1`` voxel by voxel.

    Checked on the arrays, not assumed from the settings: fixed bin numbers 2, 4, ..., 128
    nest this way (``fbn_nested_levels``), and so do equal-probability levels whenever their
    quantile breaks do. A child's GLCMs are then block sums of its parent's
    (:func:`neurorad.features.glcm.coarsened`) instead of a new count over every voxel pair.
    The parent is the item with the fewest grey levels that works (128 -> 64 -> 32 ...: each
    merge is then of 2 x 2 blocks of a matrix half the size of the previous one), and only
    where merging is the cheaper (:data:`COARSEN_MIN_VOXELS_PER_CELL`).
    """
    by_roi: dict = {}
    for i, item in enumerate(items):
        by_roi.setdefault(item.key, []).append(i)
    parents: dict = {}
    for members in by_roi.values():
        done: list[int] = []  # by decreasing number of grey levels
        for i in sorted(members, key=lambda k: -int(items[k].n_levels)):
            child = items[i]
            for j in reversed(done):
                parent = items[j]
                ratio = int(parent.n_levels) // int(child.n_levels)
                worth = int(child.levels.size) >= COARSEN_MIN_VOXELS_PER_CELL * int(parent.n_levels) ** 2
                if (worth and ratio > 1 and ratio * int(child.n_levels) == int(parent.n_levels)
                        and _merges_to(parent.levels, child.levels, ratio)):
                    parents[i] = (j, ratio)
                    break
            done.append(i)
    return parents


def _merges_to(fine, coarse, ratio: int) -> bool:
    xp = get_xp(fine, coarse)
    if fine.shape != coarse.shape:
        return False
    return bool(xp.array_equal((fine.astype(xp.int64) - 1) // ratio + 1, coarse))


@dataclass
class _GlcmPlan:
    """Which items of a chunk build their GLCMs and which merge a parent's (``kept``: the
    parents' matrices, by item index, carried over to later chunks of the same ROI)."""

    chunk: list
    parents: dict
    kept: dict

    def matrices(self, build) -> list:
        """Per chunk item: built by ``build(positions)`` (a list of matrices for those chunk
        positions) or merged from the parent's."""
        own = [p for p, i in enumerate(self.chunk) if i not in self.parents]
        out: list = [None] * len(self.chunk)
        needed = {parent for parent, _ in self.parents.values()}
        for p, m in zip(own, build(own)):
            out[p] = m
            if self.chunk[p] in needed:
                self.kept[self.chunk[p]] = m
        for p, i in enumerate(self.chunk):  # parents precede their children in the chunk
            if i in self.parents:
                parent, ratio = self.parents[i]
                out[p] = glcm.coarsened(self.kept[parent], ratio)
                if i in needed:
                    self.kept[i] = out[p]
        return out


def _roi_geometry(item: TextureItem) -> _RoiGeometry:
    mask = item.int_mask
    box = roi_bounding_box(mask)
    crop = None if box is None else mask[tuple(slice(a, b) for a, b in box)]
    return _RoiGeometry(box, crop, mask.shape[0] == 1)


def _prepared(item: TextureItem, geometry: _RoiGeometry, pad: int) -> PreparedRoi | None:
    """The item as ``prepare_roi`` would return it: cropped to the ROI box, zero-padded."""
    if geometry.box is None:
        return None
    xp = get_xp(item.levels)
    n_levels = int(item.n_levels)
    cropped = xp.zeros(geometry.int_mask_box.shape, dtype=level_dtype(n_levels, xp))
    cropped[geometry.int_mask_box] = item.levels
    return PreparedRoi(xp.pad(cropped, pad), n_levels, pad,
                       tuple(int(s) for s in cropped.shape), geometry.is_2d_image,
                       tuple(a for a, _ in geometry.box))


def _gldzm_distances(item: TextureItem, geometry: _RoiGeometry, roi: PreparedRoi,
                     in_plane: bool, volume: bool) -> dict:
    """GLDZM distance maps of the item's ROI (computed for its first item, then reused)."""
    if geometry.distances is None:
        if item.morph_mask is None:
            raise ValueError("GLDZM needs the morphological mask of every ROI (TextureItem."
                             "morph_mask is None)")
        binned = get_xp(item.levels).zeros(item.int_mask.shape, dtype=roi.padded.dtype)
        binned[item.int_mask] = item.levels
        # gldzm.prepare checks the masks (same shape, intensity mask inside the morphological
        # one) and crops the morphological mask to its box.
        _, morph, offset = gldzm.prepare(binned, item.n_levels, item.morph_mask)
        geometry.distances = gldzm.distance_maps(roi, morph, offset, in_plane=in_plane,
                                                 volume=volume)
    return geometry.distances


def _chunk_features(items: list[TextureItem], params: TextureParams, geometry: dict,
                    glcm_plan: "_GlcmPlan | None" = None) -> list[dict[str, float]]:
    """Matrices of every enabled family for all items of a chunk, then features per item."""
    families = set(params.families)
    directional_slices = needs_slices(params.directional)
    plain_slices = needs_slices(params.plain)
    plain_volume = "3D" in params.plain
    padded: dict[int, list] = {}

    def prepared(pad: int) -> list:
        if pad not in padded:
            padded[pad] = [_prepared(item, geometry[item.key], pad) for item in items]
        return padded[pad]

    results: list[dict] = [{} for _ in items]

    def add(feature_function, matrices, aggregations):
        for result, m in zip(results, matrices):
            result.update(feature_function(m, aggregations))

    if "glcm" in families:
        d = params.glcm_distance
        rois = prepared(d)

        def build(positions):
            return glcm.matrices_from_prepared([rois[p] for p in positions], d,
                                               directional_slices)

        add(glcm.glcm_features_from_matrices,
            build(range(len(items))) if glcm_plan is None else glcm_plan.matrices(build),
            params.directional)
    if "glrlm" in families:
        add(glrlm.glrlm_features_from_matrices,
            glrlm.matrices_from_prepared(prepared(1), directional_slices), params.directional)
    if families & {"glszm", "gldzm"}:
        rois = prepared(0)
        # One zone labelling per item serves both families.
        zones = glszm.zone_tables(rois, in_plane=plain_slices, volume=plain_volume)
        if "glszm" in families:
            add(glszm.glszm_features_from_matrices, glszm.matrices_from_zones(rois, zones),
                params.plain)
        if "gldzm" in families:
            distances = [None if roi is None else
                         _gldzm_distances(item, geometry[item.key], roi, plain_slices,
                                          plain_volume)
                         for item, roi in zip(items, rois)]
            add(gldzm.gldzm_features_from_matrices,
                gldzm.matrices_from_zones(rois, zones, distances), params.plain)
    if "ngtdm" in families:
        d = params.ngtdm_distance
        add(ngtdm.ngtdm_features_from_matrices,
            ngtdm.matrices_from_prepared(prepared(d), d, plain_slices, plain_volume),
            params.plain)
    if "ngldm" in families:
        d = params.ngldm_distance
        add(ngldm.ngldm_features_from_matrices,
            ngldm.matrices_from_prepared(prepared(d), d, params.ngldm_coarseness, plain_slices,
                                         plain_volume), params.plain)
    return results
