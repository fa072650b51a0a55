"""Filtered images in the IBSI preprocessing chain (IBSI-2, "image processing").

Order for one ROI with ``settings.filters``:

1. load, round, interpolate (``preprocess_roi(..., crop=False)``: the whole image);
2. re-segment on the *unfiltered* intensities: the intensity mask is the one of the
   original image and is used unchanged on every response map (IBSI-2: the re-segmentation
   range is in the units of the original image);
3. filter the whole interpolated image once per spec (``neurorad.filters.apply_array``), so
   the boundary condition acts at the image border, not at a crop;
4. crop image, masks and response maps to the ROI plus the local-intensity margin;
5. features of each response map with ``Settings.response_map_settings()`` (no rounding of
   response maps, no range bound in original units, response-map families and
   discretisation).

References
----------
Depeursinge A, Andrearczyk V, Whybra P, et al. Standardised convolutional filtering for
radiomics. arXiv:2006.05470 (IBSI chapter 2). Whybra P, et al. Radiology 2024;310:e231319.
"""
from __future__ import annotations

from typing import Iterator

from neurorad.backend import get_xp
from neurorad.preprocess.pipeline import PreprocessedROI, crop_to_roi

__all__ = ["image_rois", "response_map"]


def response_map(image, spacing, spec: dict):
    """Response map of ``spec`` on ``image`` (array (z, y, x), ``spacing`` (z, y, x) mm),
    on the image's array module (``neurorad.filters.apply_array``)."""
    from neurorad.filters import apply_array

    xp = get_xp(image)
    out = apply_array(image, tuple(float(s) for s in spacing), dict(spec), xp=xp)
    return xp.ascontiguousarray(out, dtype=xp.float64)


def image_rois(roi: PreprocessedROI, settings, *, cropped: bool = False
               ) -> Iterator[tuple[dict | None, str, PreprocessedROI, object]]:
    """The original image and every response map of ``settings.filters``, ready for features.

    Parameters
    ----------
    roi : PreprocessedROI
        Interpolated and re-segmented, *not* cropped (``preprocess_roi(..., crop=False)``),
        unless ``cropped``: then the arrays are filtered as they are.
    settings : Settings

    Yields
    ------
    (spec, tag part, PreprocessedROI, Settings)
        ``spec`` None and tag part ``""`` for the original image (when kept); the response
        maps one at a time (only one full-size map is held at once).
    """
    filters = settings.filters
    keep = filters is None or filters.keep_original
    crop = (lambda img: (img, roi.morph_mask, roi.int_mask)) if cropped else (
        lambda img: crop_to_roi(img, roi.morph_mask, roi.int_mask, roi.spacing))
    if keep:
        img, morph, int_mask = crop(roi.image)
        yield None, "", PreprocessedROI(img, morph, int_mask, roi.spacing, roi.diagnostics), \
            settings
    if filters is None or not filters.specs:
        return
    response_settings = settings.response_map_settings()
    for spec, part in zip(filters.specs, filters.tag_parts()):
        img, morph, int_mask = crop(response_map(roi.image, roi.spacing, spec))
        yield spec, part, PreprocessedROI(img, morph, int_mask, roi.spacing, {}), \
            response_settings
