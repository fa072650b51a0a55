"""``extract_features``: IBSI preprocessing and every enabled feature family for one ROI;
``extract_features_batch`` for many ROIs at once.

Order of work (IBSI manual, figure "image processing scheme"):

1. load image and ROI, round intensities when asked, interpolate, re-segment
   (``neurorad.preprocess.pipeline``);
2. level-independent families once: morphology, local intensity, intensity statistics,
   fractal dimensions, RIA extras;
3. per discretisation: intensity histogram, IVH (unless it has its own discretisation,
   then once);
4. the texture families GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM for every discretisation of
   every ROI at once: each family's matrices are built for a whole chunk of (ROI,
   discretisation) items in one call, then features per item
   (``neurorad.features.texture_batch``; ``docs/batch.md``).

With more than one discretisation, the tags of steps 3-4 carry the discretisation's suffix
(``cm_joint_max_3D_avg_fbn32``, ``ih_mean_ep8``); see ``docs/features.md``.

With ``settings.filters`` (IBSI-2), steps 2-4 run on the original image (when kept) and on
every filter response map, the filter applied to the whole interpolated image and the
intensity mask taken from the unfiltered image (``neurorad.preprocess.response_maps``); tags
of response-map features end in a filter part (``stat_mean__log_s2``,
``neurorad.features.tags``).
"""
from __future__ import annotations

import importlib
import math
import warnings
from typing import Sequence

import numpy as np

from neurorad.backend import (get_xp, resolve_device, to_device, to_numpy,
                                       xp_for_device)
from neurorad.errors import EmptyROIError
from neurorad.features import FAMILIES, families_where
from neurorad.features.texture import level_dtype
from neurorad.features.texture_batch import TextureItem, TextureParams, texture_features_batch
from neurorad.preprocess.discretise import discretise, equal_probability_levels, fbn_nested_levels
from neurorad.features.tags import build_tag
from neurorad.preprocess.guard import check_grey_levels
from neurorad.preprocess.pipeline import PreprocessedROI, preprocess_roi
from neurorad.preprocess.response_maps import image_rois

# Families computed once per discretisation (from the registry, neurorad.features.FAMILIES).
PER_DISCRETISATION = families_where(needs_discretisation=True)


# What extract_features does with an ROI that re-segmentation empties: "nan" returns
# morphology and NaN intensity features with a warning; "raise" raises EmptyROIError
# (batch extraction records such a case as failed, never as computed).
ON_EMPTY = ("nan", "raise")


def family_function(family: str):
    """The feature function of ``family`` (its module, named by the registry
    :data:`neurorad.features.FAMILIES`, is imported on first use)."""
    family = FAMILIES[family]
    return getattr(importlib.import_module(family.module), family.function)


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
    """(levels, Ng) per discretisation; FBN power-of-two series come from the finest, all
    equal-probability ones from one sort."""
    fbn = [d.n_bins for d in settings.discretisation if d.method == "fbn"]
    ep = [d.n_bins for d in settings.discretisation if d.method == "ep"]
    shared = {"fbn": fbn_nested_levels(values, fbn) if len(fbn) > 1 else {},
              "ep": equal_probability_levels(values, ep) if len(ep) > 1 else {}}
    for disc in settings.discretisation:
        if disc.n_bins in shared.get(disc.method, {}):
            yield disc, shared[disc.method][disc.n_bins]
        else:
            yield disc, discretise(values, disc, range_low=range_low)


def _enabled_functions(settings) -> dict:
    return {f: family_function(f) for f in settings.families}


def _level_free_features(roi: PreprocessedROI, values, settings, funcs) -> dict[str, float]:
    """Families computed once per ROI (and the IVH when it has its own discretisation)."""
    spacing = roi.spacing
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
    if "ivh" in funcs and settings.ivh_discretisation is not None:
        value_range = tuple(settings.resegment.range)
        ivh_values, kw = _ivh_arguments(values, settings.ivh_discretisation, value_range)
        out.update(_as_floats(funcs["ivh"](ivh_values, **kw)))
    return out


def _discretisations(values, settings, funcs) -> list[tuple]:
    """``(disc, levels, Ng, suffix)`` per discretisation; [] when no family needs them."""
    per_disc = [f for f in PER_DISCRETISATION if f in funcs]
    want_ivh = "ivh" in funcs and settings.ivh_discretisation is None
    if not per_disc and not want_ivh:
        return []
    range_low = tuple(settings.resegment.range)[0]
    xp = get_xp(values)
    check_grey_levels(settings.discretisation, float(xp.min(values)), float(xp.max(values)),
                      range_low=range_low)
    return [(disc, levels, int(n_levels), sfx) for (disc, (levels, n_levels)), sfx in zip(
        _per_discretisation_levels(values, settings, range_low),
        settings.discretisation_suffixes())]


def _first_order_features(values, disc, levels, n_levels, sfx, settings, funcs) -> dict:
    """IVH (when it follows the discretisation) and intensity histogram of one discretisation."""
    out: dict[str, float] = {}
    if "ivh" in funcs and settings.ivh_discretisation is None:
        ivh_values, kw = _ivh_arguments(values, disc, tuple(settings.resegment.range), levels,
                                        n_levels)
        out.update(_as_floats(funcs["ivh"](ivh_values, **kw), sfx))
    if "histogram" in funcs:
        out.update(_as_floats(funcs["histogram"](levels, n_levels), sfx))
    return out


def features_from_rois(rois: Sequence[PreprocessedROI], settings, *,
                       max_voxels: int | None = None) -> list[dict[str, float] | None]:
    """All enabled families on many preprocessed ROIs, texture matrices built in batches.

    Level-free families and the per-discretisation histogram / IVH run per ROI; the texture
    families run on every (ROI, discretisation) pair at once
    (:func:`neurorad.features.texture_batch.texture_features_batch`, chunked to
    ``max_voxels`` image-box voxels).

    Returns
    -------
    list of dict or None
        Per ROI, the features :func:`features_from_roi` returns (same tags, values, order);
        None for a ROI whose intensity mask is empty.
    """
    funcs = _enabled_functions(settings)
    params = TextureParams.from_settings(settings, funcs)
    heads, per_disc_first, suffixes = [], [], []
    items: list[TextureItem] = []
    for index, roi in enumerate(rois):
        values = roi.image[roi.int_mask]
        if values.size == 0:
            heads.append(None)
            per_disc_first.append([])
            suffixes.append([])
            continue
        xp = get_xp(roi.image)
        heads.append(_level_free_features(roi, values, settings, funcs))
        discs = _discretisations(values, settings, funcs)
        per_disc_first.append([_first_order_features(values, *d, settings, funcs)
                               for d in discs])
        suffixes.append([d[3] for d in discs])
        if params.families:
            # Narrow grey levels: they are held for every discretisation of every ROI of
            # the batch until their texture chunk runs.
            items += [TextureItem(levels.astype(level_dtype(n_levels, xp)), n_levels,
                                  roi.int_mask, roi.morph_mask, roi_key=index)
                      for _, levels, n_levels, _ in discs]
    texture = iter(texture_features_batch(items, params, max_voxels=max_voxels))
    out: list[dict | None] = []
    for head, first, sfxs in zip(heads, per_disc_first, suffixes):
        if head is None:
            out.append(None)
            continue
        for first_order, sfx in zip(first, sfxs):
            head.update(first_order)
            if params.families:
                head.update(_as_floats(next(texture), sfx))
        out.append(head)
    return out


def features_from_roi(roi: PreprocessedROI, settings) -> dict[str, float]:
    """All enabled families on a preprocessed ROI (see module doc for the order of work):
    :func:`features_from_rois` with one ROI.

    Raises
    ------
    neurorad.errors.EmptyROIError
        No voxel of the ROI survived re-segmentation.
    """
    (features,) = features_from_rois([roi], settings)
    if features is None:
        raise EmptyROIError("no voxel of the ROI survived re-segmentation")
    return features


def extract_features(image, mask, settings, *, label: int | None = None,
                     device: str | None = None, on_empty: str = "nan") -> dict[str, float]:
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
        ROI label value in ``mask``: a whole number >= 1 (``2`` or ``2.0``; ``1.9999`` or
        ``0`` raise ``ROILabelError`` naming the value); default ``settings.roi_label``.
    device : {"cpu", "gpu", "auto"}, optional
        Default ``settings.device``; ``auto`` uses a usable GPU, else the CPU.
    on_empty : {"nan", "raise"}
        When no voxel survives re-segmentation: ``"nan"`` (default) returns morphology and
        NaN intensity-based features with a warning; ``"raise"`` raises
        :class:`EmptyROIError` (what batch extraction uses: such a case is failed).

    Returns
    -------
    dict[str, float]
        Feature tag -> value (IBSI tags, ``docs/features.md``). Values IBSI leaves
        undefined for this ROI are NaN, with a warning. When no voxel survives
        re-segmentation (``on_empty="nan"``), the intensity-based features are NaN
        (warning) and morphology is still computed.

    Raises
    ------
    neurorad.errors.EmptyROIError
        The label is absent from the mask.
    neurorad.preprocess.load.ROIError
        Mask on another grid, a label that is not a whole number >= 1 (``ROILabelError``).
    neurorad.settings.SettingsError
        Invalid settings.

    Examples
    --------
    A 3 x 3 x 3 ROI inside a 5 x 5 x 5 image of intensities 0 ... 124 (1 mm voxels):

    >>> import numpy as np, SimpleITK as sitk
    >>> from neurorad.extraction import extract_features
    >>> array = np.arange(125, dtype=float).reshape(5, 5, 5)
    >>> mask = np.zeros((5, 5, 5), np.uint8)
    >>> mask[1:4, 1:4, 1:4] = 1
    >>> settings = {"families": ["statistics", "glcm"],
    ...             "discretisation": {"method": "fbn", "n_bins": 8}}
    >>> features = extract_features(sitk.GetImageFromArray(array),
    ...                             sitk.GetImageFromArray(mask), settings)
    >>> features["stat_mean"] == float(array[1:4, 1:4, 1:4].mean()), features["stat_max"]
    (True, 93.0)
    >>> sorted(tag for tag in features if tag.startswith("cm_joint_max"))
    ['cm_joint_max_3D_avg', 'cm_joint_max_3D_comb']
    """
    from neurorad.settings import load_settings

    settings = load_settings(settings)
    xp = xp_for_device(resolve_device(device or settings.device))
    _check_on_empty(on_empty)
    filtered = settings.filters is not None
    roi = preprocess_roi(image, mask, settings, label=label, xp=xp, diagnostics=False,
                         crop=not filtered)
    if not filtered:
        try:
            return features_from_roi(roi, settings)
        except EmptyROIError:
            if on_empty == "raise":
                raise EmptyROIError(_empty_intensity_message(settings, label)) from None
            _warn_empty_intensity(settings, label)
            return _empty_intensity_result(roi, settings)
    if not bool(roi.int_mask.any()):
        if on_empty == "raise":
            raise EmptyROIError(_empty_intensity_message(settings, label))
        _warn_empty_intensity(settings, label)
        return _empty_intensity_result(roi, settings)
    out: dict[str, float] = {}
    for _, part, image_roi, image_settings in image_rois(roi, settings):
        out.update(_with_filter_part(features_from_roi(image_roi, image_settings), part))
    return out


def _with_filter_part(features: dict[str, float], part: str) -> dict[str, float]:
    """Tags of one response map's features with its filter part (none for the original)."""
    if not part:
        return features
    return {build_tag(tag, filter_spec=part): value for tag, value in features.items()}


def extract_features_batch(rois: Sequence, settings, *, device: str | None = None,
                           max_voxels: int | None = None, on_empty: str = "nan"
                           ) -> list[dict[str, float]]:
    """IBSI features of many ROIs, texture matrices built for all of them in few launches.

    Each ROI is preprocessed on its own; then every (ROI, discretisation) pair goes through
    each texture family's matrix builder in chunks of about ``max_voxels`` image-box voxels
    (one ``bincount`` per family and chunk), which is what makes a GPU pay off: a single
    ROI is launch-bound (``docs/batch.md``).

    Parameters
    ----------
    rois : sequence
        Each entry ``(image, mask)`` or ``(image, mask, label)`` as accepted by
        :func:`extract_features` (SimpleITK images or paths), or a
        :class:`~neurorad.preprocess.pipeline.PreprocessedROI` (arrays already preprocessed:
        used as they are, moved to the device's array module).
    settings : Settings, preset name, path or dict
    device : {"cpu", "gpu", "auto"}, optional
        Default ``settings.device``.
    max_voxels : int, optional
        Texture chunk size (default ``neurorad.features.texture_batch.CHUNK_VOXELS``).
    on_empty : {"nan", "raise"}
        As for :func:`extract_features` (``"raise"``: the first ROI that re-segmentation
        empties raises, with a note naming its position).

    Returns
    -------
    list of dict[str, float]
        One dict per ROI, in order, equal to :func:`extract_features` on that ROI (same
        tags, values, NaN and warnings; an empty intensity mask gives NaN intensity
        features with a warning).

    Raises
    ------
    Exceptions of :func:`extract_features`, with a note naming the ROI's position in
    ``rois`` (``exc.__notes__``).

    Examples
    --------
    >>> import numpy as np, SimpleITK as sitk
    >>> from neurorad.extraction import extract_features, extract_features_batch
    >>> rng = np.random.default_rng(0)
    >>> mask = np.zeros((6, 6, 6), np.uint8)
    >>> mask[1:5, 1:5, 1:5] = 1
    >>> rois = [(sitk.GetImageFromArray(rng.normal(size=(6, 6, 6))),
    ...          sitk.GetImageFromArray(mask)) for _ in range(3)]
    >>> settings = {"families": ["glcm", "ngtdm"],
    ...             "discretisation": {"method": "fbn", "n_bins": 4}}
    >>> batch = extract_features_batch(rois, settings)
    >>> batch == [extract_features(image, roi, settings) for image, roi in rois]
    True

    """
    from neurorad.settings import load_settings

    _check_on_empty(on_empty)
    settings = load_settings(settings)
    xp = xp_for_device(resolve_device(device or settings.device))
    prepared, labels = [], []
    for index, entry in enumerate(rois):
        try:
            roi, label = _batch_entry(entry, settings, xp)
        except Exception as exc:
            exc.add_note(f"while preprocessing ROI {index} of {len(rois)} in the batch")
            raise
        prepared.append(roi)
        labels.append(label)
    if settings.filters is None:
        results = features_from_rois(prepared, settings, max_voxels=max_voxels)
    else:
        results = _filtered_features_batch(prepared, rois, settings, max_voxels)
    out = []
    for index, (roi, label, features) in enumerate(zip(prepared, labels, results)):
        if features is None and on_empty == "raise":
            error = EmptyROIError(_empty_intensity_message(settings, label))
            error.add_note(f"ROI {index} of {len(rois)} in the batch")
            raise error
        if features is None:
            _warn_empty_intensity(settings, label)
            features = _empty_intensity_result(roi, settings)
        out.append(features)
    return out


def _batch_entry(entry, settings, xp):
    """``(PreprocessedROI, label)`` of one entry of :func:`extract_features_batch`."""
    if isinstance(entry, PreprocessedROI):
        moved = PreprocessedROI(to_device(entry.image, xp), to_device(entry.morph_mask, xp),
                                to_device(entry.int_mask, xp), tuple(entry.spacing),
                                entry.diagnostics)
        return moved, settings.roi_label
    if not isinstance(entry, (tuple, list)) or len(entry) not in (2, 3):
        raise TypeError(f"a batch entry must be (image, mask), (image, mask, label) or a "
                        f"PreprocessedROI, got {type(entry).__name__}")
    image, mask, *rest = entry
    label = rest[0] if rest else None
    roi = preprocess_roi(image, mask, settings, label=label, xp=xp, diagnostics=False,
                         crop=settings.filters is None)
    return roi, label


def _filtered_features_batch(prepared, entries, settings, max_voxels):
    """:func:`features_from_rois` per image (original, each response map) over all ROIs.

    ROIs given as ``PreprocessedROI`` are already cropped: their arrays are filtered as they
    are. Returns per ROI the merged dict, or None when its intensity mask is empty.
    """
    images = [image_rois(roi, settings, cropped=isinstance(entry, PreprocessedROI))
              for roi, entry in zip(prepared, entries)]
    merged: list[dict | None] = [{} for _ in prepared]
    while True:
        step = [next(it, None) for it in images]
        if step[0] is None:
            return merged
        part, image_settings = step[0][1], step[0][3]
        results = features_from_rois([s[2] for s in step], image_settings,
                                     max_voxels=max_voxels)
        for i, features in enumerate(results):
            if features is None or merged[i] is None:
                merged[i] = None
            else:
                merged[i].update(_with_filter_part(features, part))


def _check_on_empty(on_empty: str) -> None:
    if on_empty not in ON_EMPTY:
        raise ValueError(f"on_empty must be one of {', '.join(ON_EMPTY)}, got {on_empty!r}")


def _empty_intensity_message(settings, label) -> str:
    return (f"ROI label {settings.roi_label if label is None else label}: no voxel left after "
            f"re-segmentation (range {list(settings.resegment.range)}, outliers "
            f"{settings.resegment.outliers_sd} sd): every intensity feature would be NaN; "
            "the re-segmentation range does not fit this image's intensities (e.g. a CT "
            "preset in HU on MR or PET data)")


def _warn_empty_intensity(settings, label) -> None:
    warnings.warn(_empty_intensity_message(settings, label) + "; intensity features are NaN",
                  RuntimeWarning, stacklevel=3)


def _empty_intensity_result(roi: PreprocessedROI, settings) -> dict[str, float]:
    """Morphology of the ROI, NaN for every intensity-based tag the settings produce."""
    from neurorad.features.catalogue import expected_tags

    out = {tag: math.nan for tag in expected_tags(settings)}
    keep = settings.filters is None or settings.filters.keep_original
    if "morphology" in settings.families and keep:
        func = family_function("morphology")
        if func is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out.update(_as_floats(func(roi.morph_mask, roi.int_mask, roi.image,
                                           roi.spacing)))
    return out
