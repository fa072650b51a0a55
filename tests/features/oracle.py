"""The reference path of the feature orchestration, for tests only.

Each texture family's own ``*_features`` function once per discretisation of one ROI (no
batching, no shared matrices): what ``neurorad.extraction.features_from_roi`` must equal.
It reads the same family registry and the same level-free and first-order steps as the
production code, so only the texture batching is checked against it.
"""
from __future__ import annotations

from neurorad.backend import get_xp
from neurorad.errors import EmptyROIError
from neurorad.extraction import (_as_floats, _binned_image, _discretisations,
                                 _enabled_functions, _first_order_features,
                                 _level_free_features)


def features_one_by_one(roi, settings) -> dict[str, float]:
    """All enabled families on ``roi``, every texture family through its ``*_features``."""
    funcs = _enabled_functions(settings)
    values = roi.image[roi.int_mask]
    if values.size == 0:
        raise EmptyROIError("no voxel of the ROI survived re-segmentation")
    out = _level_free_features(roi, values, settings, funcs)
    xp = get_xp(roi.image)
    for disc, levels, n_levels, sfx in _discretisations(values, settings, funcs):
        out.update(_first_order_features(values, disc, levels, n_levels, sfx, settings, funcs))
        binned = _binned_image(roi.image.shape, roi.int_mask, levels, xp)
        out.update(_as_floats(texture_one_discretisation(binned, n_levels, roi, settings,
                                                         funcs), sfx))
    return out


def texture_one_discretisation(binned, n_levels, roi, settings, funcs) -> dict:
    """The texture families of one discretisation, each family's ``*_features`` function."""
    texture = settings.texture
    directional = list(settings.directional_aggregations())
    plain = list(settings.plain_aggregations())
    out: dict = {}
    if "glcm" in funcs:
        out.update(funcs["glcm"](binned, n_levels, aggregations=directional,
                                 distance=texture.glcm_distance))
    if "glrlm" in funcs:
        out.update(funcs["glrlm"](binned, n_levels, aggregations=directional))
    if "glszm" in funcs:
        out.update(funcs["glszm"](binned, n_levels, aggregations=plain))
    if "gldzm" in funcs:
        out.update(funcs["gldzm"](binned, n_levels, roi.morph_mask, aggregations=plain))
    if "ngtdm" in funcs:
        out.update(funcs["ngtdm"](binned, n_levels, aggregations=plain,
                                  distance=texture.ngtdm_distance))
    if "ngldm" in funcs:
        out.update(funcs["ngldm"](binned, n_levels, aggregations=plain,
                                  distance=texture.ngldm_distance,
                                  coarseness=texture.ngldm_coarseness))
    return out
