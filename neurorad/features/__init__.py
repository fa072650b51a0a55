"""IBSI feature families, one module per family, and their registry :data:`FAMILIES`.

Each family module defines ``FEATURES`` (base tag -> (IBSI code, name, formula); the source
of ``docs/features.md``) and its feature function. The registry says, per family, where
that function is and what it needs; the settings validate family names against it, the
extraction orchestrator (:mod:`neurorad.extraction`), the texture batcher
(:mod:`neurorad.features.texture_batch`) and the catalogue read it, so adding a family is
its module plus one entry here (``docs/architecture.md``, "How to add a feature family").

This module is plain data: it imports no family module (they are imported when first used,
e.g. by :func:`family_table`).
"""
from __future__ import annotations

from dataclasses import dataclass

#: What a family's feature function takes (``neurorad.extraction`` calls it accordingly).
INPUTS = {
    "roi": "the preprocessed ROI (masks, image, spacing), once per ROI",
    "values": "the intensities inside the intensity mask, once per ROI",
    "levels": "the grey levels of one discretisation (1-D), once per discretisation",
    "ivh": "the intensities for the intensity-volume histogram and its discretisation",
    "texture": "the discretised ROI; matrices built for many ROIs at once "
               "(neurorad.features.texture_batch)",
}


@dataclass(frozen=True)
class Family:
    """One feature family.

    name
        Settings name and tag prefix family (``glcm``).
    module, function
        Where the feature function is (``neurorad.features.glcm``, ``glcm_features``).
    title
        Heading in ``docs/features.md``.
    inputs
        A key of :data:`INPUTS`.
    aggregations
        ``directional`` (``2D_avg`` ... ``3D_comb``: GLCM, GLRLM), ``plain`` (``2D``,
        ``2_5D``, ``3D``: the zone and neighbourhood matrices) or None.
    needs_discretisation
        Computed once per discretisation (tags carry its suffix); settings without a
        discretisation are refused when such a family is enabled.
    default
        Enabled when the settings do not list families.
    on_response_maps
        Computed on filter response maps by default (IBSI-2 computes no family that sees
        the mask only).
    """

    name: str
    module: str
    function: str
    title: str
    inputs: str
    aggregations: str | None = None
    needs_discretisation: bool = False
    default: bool = True
    on_response_maps: bool = True


def _family(name, function, title, inputs, **kw) -> Family:
    return Family(name, f"neurorad.features.{name}", function, title, inputs, **kw)


#: Family name -> Family, in the order features are computed and documented.
FAMILIES: dict[str, Family] = {f.name: f for f in (
    _family("morphology", "morphology_features", "Morphology", "roi",
            on_response_maps=False),
    _family("local_intensity", "local_intensity_features", "Local intensity", "roi"),
    _family("statistics", "statistics_features", "Intensity statistics", "values"),
    _family("histogram", "histogram_features", "Intensity histogram", "levels",
            needs_discretisation=True),
    _family("ivh", "ivh_features", "Intensity-volume histogram", "ivh"),
    _family("glcm", "glcm_features", "Grey level co-occurrence matrix (GLCM)", "texture",
            aggregations="directional", needs_discretisation=True),
    _family("glrlm", "glrlm_features", "Grey level run length matrix (GLRLM)", "texture",
            aggregations="directional", needs_discretisation=True),
    _family("glszm", "glszm_features", "Grey level size zone matrix (GLSZM)", "texture",
            aggregations="plain", needs_discretisation=True),
    _family("gldzm", "gldzm_features", "Grey level distance zone matrix (GLDZM)", "texture",
            aggregations="plain", needs_discretisation=True),
    _family("ngtdm", "ngtdm_features",
            "Neighbourhood grey tone difference matrix (NGTDM)", "texture",
            aggregations="plain", needs_discretisation=True),
    _family("ngldm", "ngldm_features",
            "Neighbouring grey level dependence matrix (NGLDM)", "texture",
            aggregations="plain", needs_discretisation=True),
    _family("fractal", "fractal_features", "Fractal dimensions (RIA; not IBSI)", "roi",
            default=False, on_response_maps=False),
    _family("ria_extras", "ria_extra_features",
            "Extra first-order statistics (RIA; not IBSI)", "values", default=False),
)}


def families_where(**conditions) -> tuple[str, ...]:
    """Names of the families whose attributes equal ``conditions``, in registry order.

    Examples
    --------
    >>> families_where(inputs="texture", aggregations="directional")
    ('glcm', 'glrlm')
    """
    return tuple(name for name, f in FAMILIES.items()
                 if all(getattr(f, key) == value for key, value in conditions.items()))


def family_table(family: str) -> dict:
    """``FEATURES`` of a family (base tag -> (IBSI code, name, formula)); its module is
    imported here, on first use."""
    import importlib

    return dict(importlib.import_module(FAMILIES[family].module).FEATURES)


__all__ = ["FAMILIES", "INPUTS", "Family", "families_where", "family_table"]
