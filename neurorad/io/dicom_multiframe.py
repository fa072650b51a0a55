"""Enhanced multi-frame DICOM and Siemens mosaics as 3-D images with their geometry.

**Enhanced multi-frame** objects (Enhanced MR/CT/PET, Legacy Converted Enhanced; DICOM PS3.3
C.7.6.16) hold every slice as a frame of one file; each frame's plane is given by the
per-frame (or shared) functional groups: ``PlanePositionSequence > ImagePositionPatient``,
``PlaneOrientationSequence > ImageOrientationPatient``, ``PixelMeasuresSequence >
PixelSpacing`` and ``PixelValueTransformationSequence > RescaleSlope/RescaleIntercept``.
Frames are stacked by their position along the slice normal (``d = n . IPP``), whatever
their order in the file, and each frame is rescaled with its own slope and intercept. An
object with several frames at each position (several b-values, echoes, time points or
stacks) is **refused** with the grouping named: features are computed on 3-D images, so
one volume must be exported (e.g. ``dcm2niix``) and listed. Positions must be evenly
spaced (:func:`neurorad.io.dicom_series.spacing_problem`) and lie on one line along the
normal (no shear or gantry tilt).

nibabel's ``MultiframeWrapper`` is not used for these: it claims only Enhanced MR, keeps
one of several stacks with a warning, drops isotropic diffusion frames, and takes the
slice spacing from the first two positions only; the stacking here is the few lines above,
on pydicom's decoded pixel data.

**Siemens mosaics** (``ImageType`` containing ``MOSAIC``: one file holds all slices of a
volume as tiles) are unpacked with nibabel's ``MosaicWrapper``, which reads the number of
tiles and the slice geometry from the Siemens CSA header. A folder with one mosaic file is
one 3-D volume; a series of several mosaic files (a DWI or fMRI time series) is refused
with the reason (convert it to 4-D NIfTI with ``dcm2niix``; ``neurorad dki`` reads that).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from neurorad.io.dicom_series import ORIENTATION_TOLERANCE, slice_normal, spacing_problem

# Per-frame attributes that tell the volumes of a multi-volume object apart, with the
# words used in messages.
VOLUME_GROUPINGS = (
    ("MRDiffusionSequence", "DiffusionBValue", "b-value"),
    ("MRDiffusionSequence", "DiffusionGradientOrientation", "diffusion direction"),
    ("MREchoSequence", "EffectiveEchoTime", "echo time"),
    ("FrameContentSequence", "TemporalPositionIndex", "time point"),
    ("FrameContentSequence", "StackID", "stack"),
    ("FrameContentSequence", "FrameAcquisitionDateTime", "acquisition time"),
    ("CardiacSynchronizationSequence", "NominalCardiacTriggerDelayTime", "cardiac phase"),
)


class MultiframeError(ValueError):
    """An enhanced multi-frame object or mosaic cannot be read as one 3-D image."""


def is_mosaic(ds) -> bool:
    """Whether a dataset is a Siemens mosaic (``ImageType`` lists ``MOSAIC``)."""
    value = ds.get("ImageType") or []
    values = [value] if isinstance(value, str) else list(value)
    return any(str(v).strip().upper() == "MOSAIC" for v in values)


def functional_group_value(ds, frame: int, sequence: str, keyword: str):
    """A functional-group value of one frame (``<sequence>[0].<keyword>``), falling back to
    the shared groups; None when absent or empty (shared with ``neurorad.io.dicom_rt``)."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    shared = ds.get("SharedFunctionalGroupsSequence") or []
    for group in ([per_frame[frame]] if frame < len(per_frame) else []) + list(shared[:1]):
        items = group.get(sequence)
        if items and keyword in items[0] and items[0].get(keyword) not in (None, ""):
            return items[0].get(keyword)
    return None


def _required(ds, frame, sequence, keyword):
    value = functional_group_value(ds, frame, sequence, keyword)
    if value is None:
        raise MultiframeError(f"frame {frame + 1} has no {sequence} > {keyword}")
    return value


def _volume_grouping(ds, frames_at_one_position) -> str:
    """Which per-frame attributes differ between the frames at one slice position."""
    differing = []
    for sequence, keyword, words in VOLUME_GROUPINGS:
        values = {str(functional_group_value(ds, f, sequence, keyword))
                  for f in frames_at_one_position}
        if len(values) > 1:
            differing.append(words)
    return ", ".join(differing) or "attributes neurorad does not interpret"


def read_multiframe(path: str | Path) -> sitk.Image:
    """One enhanced multi-frame DICOM file as a 3-D image (see the module docstring).

    Returns
    -------
    SimpleITK.Image
        ``float64`` (rescaled) voxels; origin, spacing and direction from the frames.

    Raises
    ------
    MultiframeError
        Several volumes (the grouping is named), missing geometry, frames not on one
        evenly spaced stack, or undecodable pixel data.
    """
    import pydicom

    ds = pydicom.dcmread(str(path))
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    orientations = np.array([np.asarray(_required(ds, f, "PlaneOrientationSequence",
                                                  "ImageOrientationPatient"), float)
                             for f in range(n_frames)])
    if np.abs(orientations - orientations[0]).max() > ORIENTATION_TOLERANCE:
        raise MultiframeError("its frames have different orientations (several stacks, e.g. "
                              "a localiser): export one stack")
    orientation = orientations[0]
    normal = slice_normal(orientation)
    positions = np.array([np.asarray(_required(ds, f, "PlanePositionSequence",
                                               "ImagePositionPatient"), float)
                          for f in range(n_frames)])
    depth = positions @ normal
    levels, inverse, counts = np.unique(np.round(depth, 3), return_inverse=True,
                                        return_counts=True)
    if counts.max() > 1:
        first_position = np.flatnonzero(inverse == 0)
        grouping = _volume_grouping(ds, first_position)
        if counts.min() != counts.max():
            raise MultiframeError(f"{n_frames} frames at {levels.size} slice positions, "
                                  f"{counts.min()}-{counts.max()} frames per position (frames "
                                  f"differ in {grouping}): not one volume")
        raise MultiframeError(f"holds {counts.max()} volumes ({n_frames} frames at "
                              f"{levels.size} slice positions) that differ in {grouping}; "
                              "neurorad reads 3-D images: export one volume (e.g. with "
                              "dcm2niix) and list it")
    problem = spacing_problem(depth)
    if problem:
        raise MultiframeError(f"uneven slices: {problem}")
    order = np.argsort(depth, kind="stable")
    first = positions[order[0]]
    spacing_rc = [float(v) for v in _required(ds, 0, "PixelMeasuresSequence", "PixelSpacing")]
    in_plane = (positions - first) - np.outer(depth - depth[order[0]], normal)
    if np.abs(in_plane).max(initial=0.0) > 1e-3 * min(spacing_rc):
        raise MultiframeError("its frames are not stacked along the slice normal (sheared "
                              "stack or gantry tilt): not supported")
    try:
        pixels = np.asarray(ds.pixel_array, dtype=np.float64)
    except Exception:  # pydicom's text may quote header content
        raise MultiframeError("its pixel data cannot be decoded") from None
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.ndim != 3 or pixels.shape[0] != n_frames:
        raise MultiframeError(f"pixel data of shape {pixels.shape} for {n_frames} frames "
                              "(colour or malformed)")
    slopes = np.array([_rescale(ds, f, "RescaleSlope", 1.0) for f in range(n_frames)])
    intercepts = np.array([_rescale(ds, f, "RescaleIntercept", 0.0) for f in range(n_frames)])
    volume = pixels[order] * slopes[order, None, None] + intercepts[order, None, None]
    if n_frames > 1:
        z_spacing = float(np.diff(depth[order]).mean())
    else:
        measures = "PixelMeasuresSequence"
        z_spacing = float(functional_group_value(ds, 0, measures, "SpacingBetweenSlices")
                          or functional_group_value(ds, 0, measures, "SliceThickness") or 1.0)
    image = sitk.GetImageFromArray(volume)
    image.SetOrigin(tuple(float(v) for v in first))
    # PixelSpacing is (between rows = along a column (y), between columns (x))
    image.SetSpacing((spacing_rc[1], spacing_rc[0], z_spacing))
    image.SetDirection(tuple(np.column_stack([orientation[:3], orientation[3:], normal])
                             .ravel()))
    return image


def _rescale(ds, frame: int, keyword: str, default: float) -> float:
    value = functional_group_value(ds, frame, "PixelValueTransformationSequence", keyword)
    if value is None:
        value = ds.get(keyword)
    return float(value) if value not in (None, "") else default


def read_mosaic(path: str | Path) -> sitk.Image:
    """One Siemens mosaic file unpacked into a 3-D volume (nibabel ``MosaicWrapper``).

    nibabel gives the volume as (row, column, slice) with an affine from voxel index to
    DICOM patient coordinates (LPS, as ITK's physical space); the image here is the same
    volume in ITK's (x = column, y = row, z = slice) order.
    """
    import warnings

    import pydicom

    ds = pydicom.dcmread(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # nibabel: "highly experimental"
        from nibabel.nicom import dicomwrappers

        wrapper = dicomwrappers.wrapper_from_data(ds)
        if not isinstance(wrapper, dicomwrappers.MosaicWrapper):
            raise MultiframeError("ImageType says MOSAIC, but its Siemens CSA header does not "
                                  "give the number of tiles: cannot be unpacked")
        try:
            data = np.asarray(wrapper.get_data(), dtype=np.float64)
            affine = np.asarray(wrapper.affine, float)
            vox = np.asarray(wrapper.voxel_sizes, float)   # row, column, slice spacing
        except Exception as exc:  # nibabel's WrapperError and decoding failures
            raise MultiframeError(f"the mosaic cannot be unpacked ({type(exc).__name__})") \
                from None
    cosines = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    image = sitk.GetImageFromArray(np.ascontiguousarray(data.transpose(2, 0, 1)))
    image.SetOrigin(tuple(float(v) for v in affine[:3, 3]))
    image.SetSpacing((float(vox[1]), float(vox[0]), float(vox[2])))
    image.SetDirection(tuple(np.column_stack([cosines[:, 1], cosines[:, 0], cosines[:, 2]])
                             .ravel()))
    return image


def special_series_kind(files) -> str | None:
    """``"multiframe"``, ``"mosaic"`` or None (an ordinary series of single-frame slices),
    from the first file's header."""
    import pydicom

    ds = pydicom.dcmread(files[0], stop_before_pixels=True, force=True,
                         specific_tags=["NumberOfFrames", "ImageType"])
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        return "multiframe"
    if is_mosaic(ds):
        return "mosaic"
    return None


def read_special_series(files) -> sitk.Image | None:
    """An enhanced multi-frame or mosaic series read as 3-D (None for an ordinary series).

    Raises MultiframeError for what cannot be read as one volume (named reason).
    """
    kind = special_series_kind(files)
    if kind is None:
        return None
    if len(files) > 1:
        what = "enhanced multi-frame" if kind == "multiframe" else "Siemens mosaic"
        extra = (" (a DWI or fMRI series: convert it to 4-D NIfTI with dcm2niix; neurorad dki "
                 "reads that)" if kind == "mosaic" else "")
        raise MultiframeError(f"a series of {len(files)} {what} files, each a volume: neurorad "
                              f"reads one 3-D image per folder{extra}")
    return read_multiframe(files[0]) if kind == "multiframe" else read_mosaic(files[0])
