"""The IBSI preprocessing chain for one ROI: load -> interpolate -> re-segment.

Returns the arrays the feature families need (image, morphological and intensity masks,
spacing) plus IBSI's diagnostic values after each step (``img_dim_x_init_img``,
``int_mask_vox_count_reseg_roi``, ...; names as in the IBSI CT reference tables), which
check a pipeline before any feature is computed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurorad.backend import get_xp, to_numpy
from neurorad.preprocess.load import checked_label, load_roi
from neurorad.preprocess.resample import resample_roi
from neurorad.preprocess.resegment import resegment

# Local intensity peaks average over a 1 cm^3 sphere (radius 6.2 mm) around a voxel, which
# may reach outside the ROI: crops keep this margin of image around the ROI.
PEAK_RADIUS_MM = 6.2035


@dataclass
class PreprocessedROI:
    """One ROI ready for feature extraction (arrays in (z, y, x), NumPy or CuPy).

    Attributes
    ----------
    image : float64 array
    morph_mask, int_mask : bool arrays
        Morphological mask (ROI after interpolation) and intensity mask (after
        re-segmentation).
    spacing : (z, y, x) in mm
    diagnostics : dict
        IBSI diagnostic values (dimensions, voxel counts, intensities after each step).
    """

    image: object
    morph_mask: object
    int_mask: object
    spacing: tuple[float, float, float]
    diagnostics: dict = field(default_factory=dict)


def _image_diagnostics(image, spacing, step: str) -> dict:
    out = {}
    for axis, name in zip(range(3), "zyx"):
        out[f"img_dim_{name}_{step}_img"] = float(image.shape[axis])
        out[f"vox_dim_{name}_{step}_img"] = float(spacing[axis])
    out[f"mean_int_{step}_img"] = float(image.mean())
    out[f"min_int_{step}_img"] = float(image.min())
    out[f"max_int_{step}_img"] = float(image.max())
    return out


def _mask_diagnostics(image, mask, prefix: str, step: str) -> dict:
    out = {}
    for axis, name in zip(range(3), "zyx"):
        out[f"{prefix}_dim_{name}_{step}_roi"] = float(mask.shape[axis])
        other = tuple(a for a in range(3) if a != axis)
        occupied = np.flatnonzero(mask.any(axis=other))
        extent = occupied[-1] - occupied[0] + 1 if occupied.size else 0
        out[f"{prefix}_bb_dim_{name}_{step}_roi"] = float(extent)
    values = image[mask]
    out[f"{prefix}_vox_count_{step}_roi"] = float(values.size)
    nan = float("nan")
    out[f"{prefix}_mean_int_{step}_roi"] = float(values.mean()) if values.size else nan
    out[f"{prefix}_min_int_{step}_roi"] = float(values.min()) if values.size else nan
    out[f"{prefix}_max_int_{step}_roi"] = float(values.max()) if values.size else nan
    return out


def _roi_diagnostics(image, morph_mask, int_mask, step: str) -> dict:
    image, morph_mask, int_mask = to_numpy(image), to_numpy(morph_mask), to_numpy(int_mask)
    return {**_mask_diagnostics(image, int_mask, "int_mask", step),
            **_mask_diagnostics(image, morph_mask, "morph_mask", step)}


def crop_to_roi(image, morph_mask, int_mask, spacing, margin_mm: float = PEAK_RADIUS_MM):
    """Crop all three arrays to the ROI's bounding box plus ``margin_mm`` (at least 1 voxel).

    Feature values do not change: texture matrices only see ROI voxels, and the margin keeps
    every image voxel a local-intensity sphere centred in the ROI can reach.
    """
    xp = get_xp(image)
    slices = []
    host_mask = to_numpy(morph_mask)
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        occupied = np.flatnonzero(host_mask.any(axis=other))
        pad = max(1, math.ceil(margin_mm / spacing[axis]))
        start = max(0, int(occupied[0]) - pad)
        stop = min(image.shape[axis], int(occupied[-1]) + pad + 1)
        slices.append(slice(start, stop))
    sl = tuple(slices)
    return (xp.ascontiguousarray(image[sl]), xp.ascontiguousarray(morph_mask[sl]),
            xp.ascontiguousarray(int_mask[sl]))


def preprocess_roi(image, mask, settings, *, label: int | None = None, xp=np,
                   diagnostics: bool = True, crop: bool = True,
                   margin_mm: float = PEAK_RADIUS_MM) -> PreprocessedROI:
    """Run IBSI preprocessing for one ROI.

    Parameters
    ----------
    image, mask : SimpleITK.Image or path
    settings : neurorad.settings.Settings
    label : int, optional
        ROI label in the mask; default ``settings.roi_label``.
    xp : module
        ``numpy`` or ``cupy``: where the arrays live after loading.
    diagnostics : bool
        Compute the IBSI diagnostic values (a few reductions over the image per step). They
        describe the whole interpolated image, so with diagnostics the whole image is
        resampled; without (and with ``crop``), only the ROI's bounding box plus
        ``margin_mm`` (:func:`neurorad.preprocess.resample.roi_subgrid`: same grid, same
        values).
    crop : bool
        Crop to the ROI plus ``margin_mm`` (``crop_to_roi``). False keeps the
        whole (interpolated) image, which filters need (IBSI-2 filters the whole image).
    margin_mm : float
        Image kept around the ROI (mm): what the features read outside the ROI. Default
        the local-intensity peak radius, 6.2 mm; a filter with a wider support passes its
        own.

    Returns
    -------
    PreprocessedROI
    """
    label = checked_label(settings.roi_label if label is None else label)
    loaded = load_roi(image, mask, label, round_intensities=settings.round_intensities)
    diag: dict = {}
    if diagnostics:
        diag.update(_image_diagnostics(loaded.image, loaded.spacing, "init"))
        diag.update(_roi_diagnostics(loaded.image, loaded.mask, loaded.mask, "init"))
    img = xp.asarray(loaded.image)
    morph = xp.asarray(loaded.mask)
    spacing = loaded.spacing
    rs = settings.resample
    if rs is not None:
        img, morph, spacing = resample_roi(
            img, morph, spacing, rs.spacing_zyx, interpolator=rs.interpolator,
            mask_interpolator=rs.mask_interpolator, mask_threshold=rs.mask_threshold,
            round_intensities=settings.round_intensities,
            margin_mm=None if diagnostics or not crop else margin_mm,
            where=f"ROI label {label}")
        if not bool(morph.any()):
            raise ValueError(
                f"ROI label {label} vanished after interpolation to {rs.spacing_xyz} mm "
                f"(partial-volume threshold {rs.mask_threshold}): the ROI is smaller than "
                "about half a new voxel")
    if diagnostics:
        host_img = to_numpy(img)
        diag.update(_image_diagnostics(host_img, spacing, "interp"))
        diag.update(_roi_diagnostics(host_img, morph, morph, "interp"))
    int_mask = resegment(img, morph, value_range=settings.resegment.range,
                         outliers_sd=settings.resegment.outliers_sd)
    if diagnostics:
        diag.update(_roi_diagnostics(img, morph, int_mask, "reseg"))
    if crop:
        img, morph, int_mask = crop_to_roi(img, morph, int_mask, spacing, margin_mm)
    return PreprocessedROI(image=img, morph_mask=morph, int_mask=int_mask,
                           spacing=tuple(float(s) for s in spacing), diagnostics=diag)
