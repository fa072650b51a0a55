"""Masks from DICOM RTSTRUCT and DICOM-SEG, rasterised on the grid of a reference image;
multi-label label maps from several masks.

RTSTRUCT (DICOM PS3.3 C.8.8.6): each structure (``StructureSetROISequence > ROIName``) is a
set of ``CLOSED_PLANAR`` contours in patient coordinates (mm). A contour is mapped to the
reference image's continuous voxel index, must lie in one slice plane of that image, and
fills the voxels whose **centre** lies inside the polygon (half-open rule on edges: a centre
exactly on a left/top edge is inside, on a right/bottom edge outside, so two polygons sharing
an edge never both take a voxel). Several contours of one structure on the same slice are
combined with exclusive-or (even-odd rule), so a contour inside another is a hole — the
convention of most planning systems, since RTSTRUCT has no explicit hole flag. ``POINT`` and
``OPEN_*`` contours carry no area and are ignored.

DICOM-SEG (PS3.3 C.8.20): each frame is one plane of one segment
(``PerFrameFunctionalGroupsSequence > SegmentIdentificationSequence``); frames are stacked on
the segmentation's own grid and resampled on the reference grid with nearest neighbour
(exact when the SEG was made on that grid, the usual case). ``FRACTIONAL`` segments are
binarised at half the maximum fractional value. A label several segments share (common:
every lesion "Neoplasm, Secondary") is never resolved to one of them silently: segments are
selected by number, as ``"<label>#<number>"``, or all as ``"<label>#all"`` (their union), see
:func:`select_segments`.

Privacy: only geometry, structure names and segment labels are read; no header value of the
patient or study enters messages.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from neurorad.errors import DicomInputError

# A contour counts as lying in a slice when its points are within this fraction of a slice
# spacing of one slice centre plane.
PLANE_TOLERANCE = 0.25
RTSTRUCT_MODALITY, SEG_MODALITY = "RTSTRUCT", "SEG"
# "<label>#<number>" names one segment of a label several segments share; "<label>#all"
# their union.
SEGMENT_SEPARATOR = "#"
REPEATED_LABEL_RULES = ("error", "separate", "union")


class DicomRtError(DicomInputError):
    """An RTSTRUCT / DICOM-SEG cannot be converted; the message names the file and problem."""


def _read(path, modality: str):
    import pydicom

    path = Path(path)
    try:
        ds = pydicom.dcmread(path)
    except Exception:  # pydicom's text may quote header content
        raise DicomRtError(f"{path.name}: cannot be parsed as DICOM") from None
    if str(ds.get("Modality", "")).upper() != modality:
        raise DicomRtError(f"{path.name}: Modality is {ds.get('Modality', 'missing')!r}, "
                           f"expected {modality}")
    return ds


def _index_transform(reference: sitk.Image):
    """(matrix, origin) mapping a physical point p to the continuous index M (p - origin),
    index order (x, y, z)."""
    direction = np.array(reference.GetDirection(), float).reshape(3, 3)
    spacing = np.array(reference.GetSpacing(), float)
    return np.linalg.inv(direction * spacing), np.array(reference.GetOrigin(), float)


def _check_reference(reference: sitk.Image) -> None:
    if not isinstance(reference, sitk.Image) or reference.GetDimension() != 3:
        raise DicomRtError("the reference image must be a 3-D SimpleITK image")


def _empty_like(reference: sitk.Image) -> np.ndarray:
    return np.zeros(reference.GetSize()[::-1], np.uint8)


def _to_image(array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    image = sitk.GetImageFromArray(array.astype(np.uint8))
    image.CopyInformation(reference)
    return image


def _pick(available: dict, wanted, what: str, name: str) -> dict:
    """``{requested key: available value}``; unknown keys raise naming the alternatives."""
    if wanted is None:
        return dict(available)
    chosen = {}
    for key in wanted:
        if key in available:
            chosen[key] = available[key]
            continue
        folded = {str(k).casefold(): k for k in available}
        close = difflib.get_close_matches(str(key).casefold(), list(folded), n=1)
        hint = f" (did you mean {folded[close[0]]!r}?)" if close else ""
        listed = ", ".join(repr(k) for k in available) or "none"
        raise DicomRtError(f"{name}: no {what} {key!r}{hint}; it has {listed}")
    return chosen


# ----------------------------------------------------------------------------- RTSTRUCT
def rtstruct_roi_names(path: str | os.PathLike) -> list[str]:
    """Structure names (``ROIName``) of an RTSTRUCT, in file order."""
    ds = _read(path, RTSTRUCT_MODALITY)
    return [str(item.get("ROIName", "")) for item in ds.get("StructureSetROISequence", [])]


def fill_polygon(vertices_xy: np.ndarray, shape_yx: tuple[int, int]) -> np.ndarray:
    """Voxels whose centre lies inside a polygon given in continuous (x, y) index units.

    Scanline even-odd fill: on row ``y`` an edge from ``(x0, y0)`` to ``(x1, y1)`` crosses
    when ``min(y0, y1) <= y < max(y0, y1)``, at ``x = x0 + (y - y0) (x1 - x0) / (y1 - y0)``;
    the columns ``c`` with ``x_left <= c < x_right`` between successive crossings are inside.

    Returns a bool array of ``shape_yx``.
    """
    ny, nx = shape_yx
    out = np.zeros(shape_yx, bool)
    x0, y0 = vertices_xy[:, 0], vertices_xy[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
    rows = np.arange(max(0, int(np.ceil(lo.min()))), min(ny, int(np.floor(hi.max())) + 1))
    for y in rows:
        crossing = (lo <= y) & (y < hi)
        if not crossing.any():
            continue
        xs = np.sort(x0[crossing] + (y - y0[crossing]) * (x1[crossing] - x0[crossing])
                     / (y1[crossing] - y0[crossing]))
        for left, right in zip(xs[0::2], xs[1::2]):
            start, stop = max(0, int(np.ceil(left))), min(nx, int(np.ceil(right)))
            if start < stop:
                out[y, start:stop] = True
    return out


def _contour_slices(ds, roi_number, transform, size_xyz, name: str, roi_name: str):
    """Yield (slice index, polygon in (x, y) index units) of one structure's contours."""
    matrix, origin = transform
    for item in ds.get("ROIContourSequence", []):
        if int(item.get("ReferencedROINumber", -1)) != roi_number:
            continue
        for contour in item.get("ContourSequence", []):
            if str(contour.get("ContourGeometricType", "CLOSED_PLANAR")).upper() != "CLOSED_PLANAR":
                continue
            data = np.asarray(contour.get("ContourData", []), float)
            if data.size < 9 or data.size % 3:
                raise DicomRtError(f"{name}: structure {roi_name!r} has a contour with "
                                   f"{data.size} coordinates (need >= 3 points of x, y, z)")
            index = (data.reshape(-1, 3) - origin) @ matrix.T
            k = np.rint(index[:, 2].mean())
            if np.abs(index[:, 2] - k).max() > PLANE_TOLERANCE:
                raise DicomRtError(f"{name}: structure {roi_name!r} has a contour that does not "
                                   "lie in a slice plane of the reference image (drawn on "
                                   "another series, or image and RTSTRUCT orientations differ: "
                                   "name the series it was drawn on as the mask's reference)")
            k = int(k)
            if 0 <= k < size_xyz[2]:
                yield k, index[:, :2]


def rtstruct_to_masks(path: str | os.PathLike, reference_image: sitk.Image,
                      roi_names=None) -> dict[str, sitk.Image]:
    """Rasterise RTSTRUCT structures on the grid of ``reference_image``.

    Parameters
    ----------
    path : path-like
        The RTSTRUCT file.
    reference_image : SimpleITK.Image
        The image (read by :func:`neurorad.io.images.read_image`) whose voxels are filled.
    roi_names : list of str, optional
        Structure names (``ROIName``, exact); default all structures.

    Returns
    -------
    dict
        ``{name: SimpleITK.Image}`` of ``uint8`` 0/1 voxels with the reference geometry.

    Raises
    ------
    DicomRtError
        Unknown structure name (the message lists those present), malformed contour, or a
        contour not in a slice plane of the reference image.
    """
    _check_reference(reference_image)
    name = Path(path).name
    ds = _read(path, RTSTRUCT_MODALITY)
    numbers = {str(item.get("ROIName", "")): int(item.ROINumber)
               for item in ds.get("StructureSetROISequence", [])}
    chosen = _pick(numbers, roi_names, "structure", name)
    transform = _index_transform(reference_image)
    size = reference_image.GetSize()
    masks = {}
    for roi_name, number in chosen.items():
        array = _empty_like(reference_image).astype(bool)
        for k, polygon in _contour_slices(ds, number, transform, size, name, roi_name):
            array[k] ^= fill_polygon(polygon, (size[1], size[0]))
        masks[roi_name] = _to_image(array, reference_image)
    return masks


# ----------------------------------------------------------------------------- DICOM-SEG
def seg_segments(path: str | os.PathLike) -> dict[int, str]:
    """``{SegmentNumber: SegmentLabel}`` of a DICOM-SEG."""
    ds = _read(path, SEG_MODALITY)
    return {int(item.SegmentNumber): str(item.get("SegmentLabel", ""))
            for item in ds.get("SegmentSequence", [])}


def _functional(ds, frame: int, sequence: str, keyword: str, name: str):
    """A per-frame functional group value, falling back to the shared group."""
    from neurorad.io.dicom_multiframe import functional_group_value

    value = functional_group_value(ds, frame, sequence, keyword)
    if value is None:
        raise DicomRtError(f"{name}: frame {frame + 1} has no {sequence} > {keyword}")
    return value


def _segment_volume(ds, frames: list[int], pixels: np.ndarray, name: str) -> sitk.Image:
    """The frames of one segment stacked on the SEG's own grid (uint8 0/1)."""
    orientation = np.array(_functional(ds, frames[0], "PlaneOrientationSequence",
                                       "ImageOrientationPatient", name), float)
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    spacing_rc = [float(v) for v in _functional(ds, frames[0], "PixelMeasuresSequence",
                                                "PixelSpacing", name)]
    positions = np.array([_functional(ds, f, "PlanePositionSequence", "ImagePositionPatient",
                                      name) for f in frames], float)
    depth = positions @ normal
    first = int(np.argmin(depth))
    in_plane = (positions - positions[first]) - np.outer(depth - depth[first], normal)
    if np.abs(in_plane).max(initial=0.0) > 1e-3 * min(spacing_rc):
        raise DicomRtError(f"{name}: the frames of a segment are not stacked on one grid")
    levels = np.unique(np.round(depth - depth[first], 4))
    gaps = np.diff(levels)
    try:
        between = float(_functional(ds, frames[0], "PixelMeasuresSequence",
                                    "SpacingBetweenSlices", name))
    except DicomRtError:
        between = float(gaps.min()) if gaps.size else 1.0
    k = np.rint((depth - depth[first]) / between).astype(int)
    if gaps.size and np.abs((depth - depth[first]) / between - k).max() > 1e-3:
        raise DicomRtError(f"{name}: frame positions are not on a regular slice lattice")
    volume = np.zeros((k.max() + 1, *pixels.shape[1:]), np.uint8)
    for frame, slice_index in zip(frames, k):
        volume[slice_index] |= pixels[frame]
    image = sitk.GetImageFromArray(volume)
    image.SetOrigin(tuple(positions[first]))
    image.SetSpacing((spacing_rc[1], spacing_rc[0], between))
    image.SetDirection(tuple(np.column_stack([row_dir, col_dir, normal]).ravel()))
    return image


def repeated_segment_labels(segments: dict[int, str]) -> dict[str, list[int]]:
    """``{label: [segment numbers]}`` of the labels that several segments share."""
    numbers: dict[str, list[int]] = {}
    for number, label in segments.items():
        numbers.setdefault(label, []).append(number)
    return {label: sorted(n) for label, n in numbers.items() if len(n) > 1}


def _numbers_text(numbers) -> str:
    return ", ".join(map(str, numbers))


def _segment_key(label: str, number: int) -> str:
    """The name of one segment of a repeated label: ``<label>#<number>``."""
    return f"{label}{SEGMENT_SEPARATOR}{number}"


def select_segments(segments: dict[int, str], wanted=None, *, repeated: str = "error",
                    name: str = "SEG") -> dict:
    """Resolve requested segment keys to segment numbers, never silently.

    Parameters
    ----------
    segments : dict
        ``{SegmentNumber: SegmentLabel}`` (:func:`seg_segments`).
    wanted : list of int or str, optional
        Each entry one of: a segment number (``int``); ``"<label>"`` (a label one segment
        has; for a label several segments share, see ``repeated``); ``"<label>#<number>"``
        (that segment, whose label must be ``<label>``); ``"<label>#all"`` (the union of
        every segment with that label). Default: every segment, keyed by its label, or by
        ``"<label>#<number>"`` when the label is repeated (``repeated="union"``: the label,
        holding their union).
    repeated : {"error", "separate", "union"}
        What a plain ``"<label>"`` shared by several segments means: an error naming the
        segment numbers (default), each segment as a separate ROI ``"<label>#<number>"``, or
        their union.
    name : str
        The file, for messages.

    Returns
    -------
    dict
        ``{key: tuple of segment numbers}``; a key maps to several numbers only for a union.

    Raises
    ------
    DicomRtError
        Unknown number or label (the message lists those present), a ``#number`` whose
        segment has another label, or a repeated label with ``repeated="error"``.
    """
    if repeated not in REPEATED_LABEL_RULES:
        raise ValueError(f"repeated must be one of {', '.join(REPEATED_LABEL_RULES)}, got "
                         f"{repeated!r}")
    by_label: dict[str, list[int]] = {}
    for number, label in segments.items():
        by_label.setdefault(label, []).append(number)
    if wanted is None:
        wanted = []
        for label, numbers in by_label.items():
            if len(numbers) == 1 or repeated == "union":
                wanted.append(label)
            else:
                wanted += [_segment_key(label, n) for n in numbers]
        repeated = "union" if repeated == "union" else "separate"
    chosen: dict = {}
    listed = ", ".join(f"{n} {label!r}" for n, label in segments.items()) or "none"
    for key in wanted:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if int(key) not in segments:
                raise DicomRtError(f"{name}: no segment number {key}; it has segments {listed}")
            chosen[key] = (int(key),)
            continue
        key = str(key)
        label, sep, suffix = key.rpartition(SEGMENT_SEPARATOR)
        if sep and label in by_label and (suffix == "all" or suffix.isdigit()):
            if suffix == "all":
                chosen[key] = tuple(by_label[label])
            elif int(suffix) in by_label[label]:
                chosen[key] = (int(suffix),)
            else:
                raise DicomRtError(f"{name}: segment {key!r}: segment number {suffix} is not "
                                   f"labelled {label!r} (segments with that label: "
                                   f"{_numbers_text(by_label[label])})")
            continue
        if key not in by_label:
            _pick(by_label, [key], "segment", name)   # raises, naming the alternatives
        numbers = by_label[key]
        if len(numbers) == 1:
            chosen[key] = tuple(numbers)
        elif repeated == "union":
            chosen[key] = tuple(numbers)
        elif repeated == "separate":
            chosen.update({_segment_key(key, n): (n,) for n in numbers})
        else:
            raise DicomRtError(
                f"{name}: segments {_numbers_text(numbers)} share the label {key!r}; select "
                f"one by number or as {_segment_key(key, numbers[0])!r}, each as a separate "
                f"ROI ('<label>#<number>'), or their union as "
                f"{key + SEGMENT_SEPARATOR + 'all'!r}")
    return chosen


def seg_to_masks(path: str | os.PathLike, reference_image: sitk.Image,
                 segments=None, *, repeated: str = "error") -> dict:
    """Segments of a DICOM-SEG as masks on the grid of ``reference_image``.

    Parameters
    ----------
    path : path-like
        The DICOM-SEG file.
    reference_image : SimpleITK.Image
    segments : list of int or str, optional
        Segment numbers (``SegmentNumber``), labels (``SegmentLabel``),
        ``"<label>#<number>"`` or ``"<label>#all"`` (see :func:`select_segments`); default
        all segments, keyed by label (``"<label>#<number>"`` for a label several segments
        share: every segment is kept).
    repeated : {"error", "separate", "union"}
        What a plain label shared by several segments selects (:func:`select_segments`).
        Real SEGs often give every lesion the same label (e.g. ten segments "Neoplasm,
        Secondary"): resolving such a label to one of them would silently lose the others.

    Returns
    -------
    dict
        ``{key: SimpleITK.Image}`` of ``uint8`` 0/1 with the reference geometry
        (nearest-neighbour resampling from the SEG grid).
    """
    _check_reference(reference_image)
    name = Path(path).name
    ds = _read(path, SEG_MODALITY)
    chosen = select_segments(seg_segments(path), segments, repeated=repeated, name=name)
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception:
        raise DicomRtError(f"{name}: the segmentation pixel data cannot be decoded") from None
    if pixels.ndim == 2:
        pixels = pixels[None]
    if str(ds.get("SegmentationType", "BINARY")).upper() == "FRACTIONAL":
        pixels = pixels > 0.5 * float(ds.get("MaximumFractionalValue", 255))
    pixels = (pixels > 0).astype(np.uint8)
    frame_segment = [int(_functional(ds, f, "SegmentIdentificationSequence",
                                     "ReferencedSegmentNumber", name))
                     for f in range(pixels.shape[0])]
    masks = {}
    for key, numbers in chosen.items():
        array = _empty_like(reference_image)
        for number in numbers:
            frames = [f for f, s in enumerate(frame_segment) if s == number]
            if not frames:
                continue
            volume = _segment_volume(ds, frames, pixels, name)
            resampled = sitk.Resample(volume, reference_image, sitk.Transform(),
                                      sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
            array |= sitk.GetArrayViewFromImage(resampled)
        masks[key] = _to_image(array, reference_image)
    return masks


# ----------------------------------------------------------------------------- label maps
def masks_to_labelmap(masks: dict, labels: dict | None = None) -> tuple[sitk.Image, dict]:
    """Combine binary masks on one grid into a multi-label map.

    Parameters
    ----------
    masks : dict
        ``{name: SimpleITK.Image}`` (0/1, same geometry), as returned by
        :func:`rtstruct_to_masks` / :func:`seg_to_masks`.
    labels : dict, optional
        ``{name: label value}``; default 1, 2, ... in the order of ``masks``.

    Returns
    -------
    (SimpleITK.Image, dict)
        ``uint16`` label map and ``{name: label}`` (for the manifest's ``rois:``).

    Raises
    ------
    ValueError
        Two masks share voxels (a label map holds one label per voxel: write them as
        separate masks), or the grids differ.
    """
    from neurorad.io.images import same_geometry

    if not masks:
        raise ValueError("no masks to combine")
    labels = labels or {name: i for i, name in enumerate(masks, start=1)}
    names = list(masks)
    first = masks[names[0]]
    out = np.zeros(first.GetSize()[::-1], np.uint16)
    for name in names:
        if same_geometry(masks[name], first):
            raise ValueError(f"mask {name!r} is not on the grid of mask {names[0]!r}")
        voxels = sitk.GetArrayViewFromImage(masks[name]) > 0
        clash = voxels & (out > 0)
        if clash.any():
            taken = set(np.unique(out[clash]).tolist())
            other = [str(n) for n in names[:names.index(name)] if labels[n] in taken]
            raise ValueError(f"structures {str(name)!r} and {', '.join(map(repr, other))} "
                             f"overlap in {int(clash.sum())} voxel(s); a label map holds one "
                             "label per voxel: keep them as separate masks (neurorad rt-masks "
                             "--separate)")
        out[voxels] = labels[name]
    image = sitk.GetImageFromArray(out)
    image.CopyInformation(first)
    return image, dict(labels)


def write_labelmap(masks: dict, path: str | os.PathLike, labels: dict | None = None) -> dict:
    """Write :func:`masks_to_labelmap` of ``masks`` to ``path`` (NIfTI/NRRD by suffix);
    return ``{name: label}``."""
    image, labels = masks_to_labelmap(masks, labels)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)
    return labels
