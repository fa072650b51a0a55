"""Loading glue: an image and a label-map mask (SimpleITK images or paths) -> arrays.

Uses ``neurorad.io.images`` for reading; adds the label selection, the geometry check between
image and mask, and IBSI's rounding of intensities stored as floats.
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from neurorad.errors import EmptyROIError, ROIInputError
from neurorad.io.images import image_to_array, labels_present, read_image, roi_mask, same_geometry


class ROIError(ROIInputError):
    """The ROI cannot be used (mask on another grid, non-integer labels, NaN inside);
    an empty ROI raises :class:`neurorad.errors.EmptyROIError`."""


class ROILabelError(ROIError, ROIInputError):
    """The ROI label is not a whole number >= 1 (e.g. 1.9999, 0, True, "2")."""


def checked_label(label) -> int:
    """``label`` as an int, when it is a whole number >= 1 (``2``, ``2.0``, ``numpy.int16(2)``).

    A label map's ROI is the set of voxels equal to an integer label; 0 is the background.
    Anything else is refused rather than rounded or truncated (``int(1.9999)`` would
    silently select label 1).

    Raises
    ------
    ROILabelError
        Naming the value.
    """
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (numbers.Integral,
                                                                    numbers.Real)):
        raise ROILabelError(f"ROI label must be a whole number >= 1, got "
                            f"{type(label).__name__} {label!r:.40}")
    if isinstance(label, numbers.Integral):
        value = int(label)
    elif math.isfinite(label) and float(label).is_integer():
        value = int(label)
    else:
        raise ROILabelError(f"ROI label must be a whole number >= 1, got {label!r} (labels are "
                            "never rounded: give the integer voxel value)")
    if value < 1:
        raise ROILabelError(f"ROI label must be a whole number >= 1, got {label!r} (0 is the "
                            "background of a label map)")
    return value


@dataclass(frozen=True)
class LoadedROI:
    """Image intensities and ROI mask on the image's own grid.

    Attributes
    ----------
    image : ndarray, float64, (z, y, x)
    mask : ndarray, bool, (z, y, x)
    spacing : tuple (z, y, x) in mm
    """

    image: np.ndarray
    mask: np.ndarray
    spacing: tuple[float, float, float]


def _describe(source) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<in-memory image>"


def _as_image(source, role: str) -> sitk.Image:
    if isinstance(source, sitk.Image):
        return source
    if isinstance(source, (str, os.PathLike)):
        return read_image(source, role=role)
    raise TypeError(f"{role}: expected a SimpleITK image or a path, got {type(source).__name__}")


def load_roi(image, mask, label: int, *, round_intensities: bool = False) -> LoadedROI:
    """Read ``image`` and the voxels of ``mask`` equal to ``label``.

    Parameters
    ----------
    image, mask : SimpleITK.Image or path
        Image and label map on the same grid (size, spacing, origin, direction).
    label : int
        Label value of the ROI in the mask.
    round_intensities : bool
        Round intensities to the nearest integer (IBSI: images stored as floats, such as
        the CT phantom's NIfTI, "should be ... rounded to the nearest integer before further
        processing").

    Raises
    ------
    ROIError
        When the grids differ, the mask is not a label map, or the label is absent (the
        message names the mask file, the label and the labels present); ``ROILabelError``
        when ``label`` is not a whole number >= 1 (:func:`checked_label`).
    """
    label = checked_label(label)
    img = _as_image(image, "image")
    msk = _as_image(mask, "mask")
    where = _describe(mask)
    if img.GetDimension() != msk.GetDimension():
        raise ROIError(f"mask {where}: {msk.GetDimension()}-D mask for a "
                       f"{img.GetDimension()}-D image {_describe(image)}")
    diffs = same_geometry(img, msk)
    if diffs:
        raise ROIError(f"mask {where} is not on the grid of image {_describe(image)}: "
                       + "; ".join(diffs))
    try:
        selected = roi_mask(msk, label)
    except ValueError as exc:
        raise ROIError(f"mask {where}: {exc}") from None
    if not selected.any():
        # Listing the labels sorts the whole mask: only worth it for the error message.
        present = labels_present(msk)
        raise EmptyROIError(f"mask {where}: ROI label {label} is empty (no voxel has this value); "
                       f"labels present: {present or 'none'}")
    array, spacing = image_to_array(img)
    if selected.ndim == 2:
        selected = selected[np.newaxis]
    if not np.all(np.isfinite(array[selected])):
        raise ROIError(f"image {_describe(image)}: NaN or infinite intensities inside ROI "
                       f"label {label}")
    if round_intensities:
        array = np.round(array)
    return LoadedROI(image=array, mask=selected, spacing=spacing)
