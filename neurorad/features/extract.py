"""``extract_features``: IBSI preprocessing and every enabled feature family for one ROI.

Order of work (IBSI manual, figure "image processing scheme"):

1. load image and ROI, round intensities when asked, interpolate, re-segment
   (``neurorad.preprocess.pipeline``);
2. level-independent families once: morphology, local intensity, intensity statistics,
   fractal dimensions, RIA extras;
3. per discretisation: intensity histogram, IVH (unless it has its own discretisation,
   then once), and the texture families GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM.

With more than one discretisation, the tags of step 3 carry the discretisation's suffix
(``cm_joint_max_3D_avg_fbn32``, ``ih_mean_ep8``); see ``docs/features.md``.
"""
from __future__ import annotations

import importlib
import math
import warnings

import numpy as np

from neurorad.features.backend import get_xp, resolve_device, to_numpy, xp_for_device
from neurorad.preprocess.discretise import discretise, fbn_nested_levels
from neurorad.preprocess.pipeline import PreprocessedROI, preprocess_roi

# family -> (module, function); imported when first used so a missing optional dependency
# of one family cannot break the others.
FAMILY_FUNCTIONS = {
    "morphology": ("neurorad.features.morphology", "morphology_features"),
    "local_intensity": ("neurorad.features.local_intensity", "local_intensity_features"),
    "statistics": ("neurorad.features.statistics", "statistics_features"),
    "histogram": ("neurorad.features.histogram", "histogram_features"),
    "ivh": ("neurorad.features.ivh", "ivh_features"),
    "glcm": ("neurorad.features.glcm", "glcm_features"),
    "glrlm": ("neurorad.features.glrlm", "glrlm_features"),
    "glszm": ("neurorad.features.glszm", "glszm_features"),
    "gldzm": ("neurorad.features.gldzm", "gldzm_features"),
    "ngtdm": ("neurorad.features.ngtdm", "ngtdm_features"),
    "ngldm": ("neurorad.features.ngldm", "ngldm_features"),
    "fractal": ("neurorad.features.fractal", "fractal_features"),
    "ria_extras": ("neurorad.features.ria_extras", "ria_extra_features"),
}
LEVEL_FREE = ("morphology", "local_intensity", "statistics", "fractal", "ria_extras")
PER_DISCRETISATION = ("histogram", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")


class EmptyIntensityMask(ValueError):
    """No voxel of the ROI survived re-segmentation."""


def family_function(family: str):
    """The feature function of ``family``, or None (with a warning) when its module is absent."""
    module_name, func_name = FAMILY_FUNCTIONS[family]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module exists but one of its imports is missing: a real error
        warnings.warn(f"feature family {family!r} is not available ({module_name} is not "
                      "installed); its features are skipped", RuntimeWarning, stacklevel=3)
        return None
    return getattr(module, func_name)


def _as_floats(features: dict, suffix: str = "") -> dict[str, float]:
    """Plain Python floats (CuPy/NumPy scalars included), tags suffixed."""
    return {key + suffix: float(to_numpy(value)) for key, value in features.items()}


def _binned_image(shape, int_mask, levels, xp):
    """Grey levels on the image grid: ``levels`` inside the intensity mask, 0 outside."""
    binned = xp.zeros(shape, dtype=xp.int64)
    binned[int_mask] = levels
    return binned


def _ivh_arguments(values, disc, value_range, levels=None, n_levels=None):
    """Arguments of ``ivh_features`` for one discretisation (module ``ivh`` doc)."""
    low = disc.lower_bound if getattr(disc, "lower_bound", None) is not None else value_range[0]
    if disc.method == "none":
        return values, {"value_range": value_range}
    if disc.method == "fbs":
        return values, {"bin_width": disc.bin_width, "value_range": (low, value_range[1])}
    if disc.method == "fbn":
        return values, {"n_levels": disc.n_bins}
    # Equal-probability / aligned bins have no IVH regime of their own: the IVH runs on the
    # grey levels over the grid 1..Ng.
    return levels.astype(np.float64), {"value_range": (1.0, float(n_levels))}


def _per_discretisation_levels(values, settings, range_low):
    """(levels, Ng) per discretisation; FBN power-of-two series come from the finest."""
    fbn = [d.n_bins for d in settings.discretisation if d.method == "fbn"]
    nested = fbn_nested_levels(values, fbn) if len(fbn) > 1 else {}
    for disc in settings.discretisation:
        if disc.method == "fbn" and disc.n_bins in nested:
            yield disc, nested[disc.n_bins]
        else:
            yield disc, discretise(values, disc, range_low=range_low)


def features_from_roi(roi: PreprocessedROI, settings) -> dict[str, float]:
    """All enabled families on a preprocessed ROI (see module doc for the order of work)."""
    funcs = {f: family_function(f) for f in settings.families}
    funcs = {f: fn for f, fn in funcs.items() if fn is not None}
    xp = get_xp(roi.image)
    values = roi.image[roi.int_mask]
    if values.size == 0:
        raise EmptyIntensityMask()
    spacing = roi.spacing
    texture = settings.texture
    directional = list(settings.directional_aggregations())
    plain = list(settings.plain_aggregations())
    out: dict[str, float] = {}

    if "morphology" in funcs:
        out.update(_as_floats(funcs["morphology"](roi.morph_mask, roi.int_mask, roi.image,
                                                  spacing)))
    if "local_intensity" in funcs:
        out.update(_as_floats(funcs["local_intensity"](roi.image, roi.int_mask, spacing)))
    if "statistics" in funcs:
        out.update(_as_floats(funcs["statistics"](values)))
    if "fractal" in funcs:
        out.update(_as_floats(funcs["fractal"](roi.morph_mask, spacing)))
    if "ria_extras" in funcs:
        out.update(_as_floats(funcs["ria_extras"](values)))

    value_range = tuple(settings.resegment.range)
    if "ivh" in funcs and settings.ivh_discretisation is not None:
        ivh_values, kw = _ivh_arguments(values, settings.ivh_discretisation, value_range)
        out.update(_as_floats(funcs["ivh"](ivh_values, **kw)))

    suffixes = settings.discretisation_suffixes()
    per_disc = [f for f in PER_DISCRETISATION if f in funcs]
    want_ivh = "ivh" in funcs and settings.ivh_discretisation is None
    if not per_disc and not want_ivh:
        return out
    for (disc, (levels, n_levels)), sfx in zip(
            _per_discretisation_levels(values, settings, value_range[0]), suffixes):
        if want_ivh:
            ivh_values, kw = _ivh_arguments(values, disc, value_range, levels, n_levels)
            out.update(_as_floats(funcs["ivh"](ivh_values, **kw), sfx))
        if "histogram" in funcs:
            out.update(_as_floats(funcs["histogram"](levels, n_levels), sfx))
        binned = _binned_image(roi.image.shape, roi.int_mask, levels, xp)
        if "glcm" in funcs:
            out.update(_as_floats(funcs["glcm"](binned, n_levels, aggregations=directional,
                                                distance=texture.glcm_distance), sfx))
        if "glrlm" in funcs:
            out.update(_as_floats(funcs["glrlm"](binned, n_levels, aggregations=directional),
                                  sfx))
        if "glszm" in funcs:
            out.update(_as_floats(funcs["glszm"](binned, n_levels, aggregations=plain), sfx))
        if "gldzm" in funcs:
            out.update(_as_floats(funcs["gldzm"](binned, n_levels, roi.morph_mask,
                                                 aggregations=plain), sfx))
        if "ngtdm" in funcs:
            out.update(_as_floats(funcs["ngtdm"](binned, n_levels, aggregations=plain,
                                                 distance=texture.ngtdm_distance), sfx))
        if "ngldm" in funcs:
            out.update(_as_floats(funcs["ngldm"](binned, n_levels, aggregations=plain,
                                                 distance=texture.ngldm_distance,
                                                 coarseness=texture.ngldm_coarseness), sfx))
    return out


def extract_features(image, mask, settings, *, label: int | None = None,
                     device: str | None = None) -> dict[str, float]:
    """IBSI features of one ROI.

    Parameters
    ----------
    image : SimpleITK.Image or path
        The image (NIfTI, NRRD, MetaImage or a DICOM series folder).
    mask : SimpleITK.Image or path
        Label map on the image's grid.
    settings : Settings, preset name, path or dict
        Passed through ``neurorad.load_settings``.
    label : int, optional
        ROI label value in ``mask``; default ``settings.roi_label``.
    device : {"cpu", "gpu", "auto"}, optional
        Default ``settings.device``; ``auto`` uses a usable GPU, else the CPU.

    Returns
    -------
    dict[str, float]
        Feature tag -> value (IBSI tags, ``docs/features.md``). Values IBSI leaves
        undefined for this ROI are NaN, with a warning. When no voxel survives
        re-segmentation, the intensity-based features are NaN (warning) and morphology is
        still computed.

    Raises
    ------
    neurorad.preprocess.load.ROIError
        Empty ROI (the label is absent from the mask), mask on another grid.
    neurorad.settings.SettingsError
        Invalid settings.
    """
    from neurorad.settings import load_settings

    settings = load_settings(settings)
    xp = xp_for_device(resolve_device(device or settings.device))
    roi = preprocess_roi(image, mask, settings, label=label, xp=xp, diagnostics=False)
    try:
        return features_from_roi(roi, settings)
    except EmptyIntensityMask:
        warnings.warn(
            f"ROI label {settings.roi_label if label is None else label}: no voxel left after "
            f"re-segmentation (range {list(settings.resegment.range)}, outliers "
            f"{settings.resegment.outliers_sd} sd); intensity features are NaN",
            RuntimeWarning, stacklevel=2)
        return _empty_intensity_result(roi, settings)


def _empty_intensity_result(roi: PreprocessedROI, settings) -> dict[str, float]:
    """Morphology of the ROI, NaN for every intensity-based tag the settings produce."""
    from neurorad.features.catalogue import expected_tags

    out = {tag: math.nan for tag in expected_tags(settings)}
    if "morphology" in settings.families:
        func = family_function("morphology")
        if func is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out.update(_as_floats(func(roi.morph_mask, roi.int_mask, roi.image,
                                           roi.spacing)))
    return out
