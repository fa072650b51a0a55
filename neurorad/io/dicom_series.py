"""Slice geometry of DICOM image series: positions along the slice normal must be evenly
spaced before a series is stacked into a volume.

A series is stacked along the normal ``n = row x column`` of ``ImageOrientationPatient``;
slice ``k`` lies at ``d_k = n . ImagePositionPatient_k`` (DICOM PS3.3 C.7.6.2.1.1). ITK's
series reader assumes equal gaps and takes their mean as the slice spacing, so a series with
one missing slice is read with a stretched spacing (e.g. 58 slices at 3.327 mm instead of
59 at 3.27 mm) and every physical size and position after the gap is wrong. Uneven gaps, a
missing slice and a duplicate position are therefore errors, unless the caller explicitly
allows reading such a series (with a warning).

Only positions and orientations are read (geometry, never identifiers).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

# Gaps may differ from the median gap by this fraction (header positions are decimal strings
# of limited precision) or by ABSOLUTE_GAP_TOLERANCE_MM, whichever is larger.
RELATIVE_GAP_TOLERANCE = 0.01
ABSOLUTE_GAP_TOLERANCE_MM = 1e-3
ORIENTATION_TOLERANCE = 1e-4
_SHOWN_GAPS = 3


def slice_normal(orientation) -> np.ndarray:
    """Unit normal ``row x column`` of an ``ImageOrientationPatient`` value (6 numbers)."""
    orientation = np.asarray(orientation, float)
    normal = np.cross(orientation[:3], orientation[3:])
    return normal / np.linalg.norm(normal)


def spacing_problem(positions) -> str | None:
    """Why slice positions along the normal (mm, any order) are not an even lattice, or
    None when they are (fewer than three slices always are, unless two coincide).

    The usual gap ``g`` is the smallest gap when every gap is a whole multiple of it
    (slices missing from an even series), else the median gap; a gap differing from it by more than
    ``max(RELATIVE_GAP_TOLERANCE * g, ABSOLUTE_GAP_TOLERANCE_MM)`` is reported with the two
    positions around it and the slice numbers (in position order, 1-based).
    """
    d = np.sort(np.asarray(positions, float))
    n = d.size
    if n < 2:
        return None
    gaps = np.diff(d)
    duplicate = np.flatnonzero(gaps <= ABSOLUTE_GAP_TOLERANCE_MM)
    if duplicate.size:
        i = int(duplicate[0])
        return (f"{duplicate.size} duplicate slice position(s) along the normal, e.g. slices "
                f"{i + 1} and {i + 2} of {n} both at {d[i]:.4f} mm")
    usual = float(np.median(gaps))
    multiples = gaps / gaps.min()
    if np.abs(multiples - np.round(multiples)).max() < RELATIVE_GAP_TOLERANCE:
        usual = float(gaps.min())   # whole multiples of the smallest gap: missing slices
    bad = np.flatnonzero(np.abs(gaps - usual) > max(RELATIVE_GAP_TOLERANCE * usual,
                                                     ABSOLUTE_GAP_TOLERANCE_MM))
    if not bad.size:
        return None
    shown = []
    for i in bad[:_SHOWN_GAPS]:
        ratio = gaps[i] / usual
        guess = ""
        if abs(ratio - round(ratio)) < 0.05 and round(ratio) >= 2:
            guess = f", {round(ratio) - 1} missing slice(s)?"
        shown.append(f"{gaps[i]:.4f} mm between slices {i + 1} and {i + 2} (at {d[i]:.4f} and "
                     f"{d[i + 1]:.4f} mm{guess})")
    more = f" and {bad.size - _SHOWN_GAPS} more" if bad.size > _SHOWN_GAPS else ""
    return (f"slice positions along the normal are unevenly spaced: {n} slices, usual gap "
            f"{usual:.4f} mm, but a gap of {'; '.join(shown)}{more}")


def series_positions(files) -> tuple[np.ndarray, np.ndarray] | None:
    """(orientation of the first slice, positions along its normal) of single-frame files;
    None when the files carry no ``ImagePositionPatient`` / ``ImageOrientationPatient``
    (nothing to check) or hold multi-frame objects (checked per frame elsewhere).

    Raises ValueError when the orientation differs between slices.
    """
    import pydicom

    positions, orientation = [], None
    for name in files:
        ds = pydicom.dcmread(name, stop_before_pixels=True, force=True,
                             specific_tags=["ImagePositionPatient", "ImageOrientationPatient",
                                            "NumberOfFrames"])
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            return None
        ipp, iop = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
        if ipp is None or iop is None or len(ipp) != 3 or len(iop) != 6:
            return None
        iop = np.asarray(iop, float)
        if orientation is None:
            orientation = iop
        elif np.abs(iop - orientation).max() > ORIENTATION_TOLERANCE:
            raise ValueError(f"ImageOrientationPatient differs between slices ({Path(name).name} "
                             "is tilted against the first slice): not one stack of slices")
        positions.append(np.asarray(ipp, float))
    if orientation is None:
        return None
    return orientation, np.asarray(positions) @ slice_normal(orientation)


def series_spacing_problem(files) -> str | None:
    """:func:`spacing_problem` of a list of single-frame DICOM files (None when fine or
    when the files carry no plane geometry); an orientation change between slices is a
    problem too."""
    try:
        found = series_positions(files)
    except ValueError as exc:
        return str(exc)
    if found is None:
        return None
    return spacing_problem(found[1])
