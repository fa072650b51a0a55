"""Diffusion-weighted series: a 4-D NIfTI with FSL-style ``bvals`` / ``bvecs`` text files.

``bvals``: one line of N b-values (s/mm^2). ``bvecs``: three lines of N components (FSL)
or N lines of three; vectors of diffusion-weighted volumes must be unit length (within
``BVEC_NORM_TOLERANCE``; they are renormalised), those of b = 0 volumes may be zero or NaN
(a converter habit: NaN directions of b = 0 volumes are set to 0 with a logged note).
Errors name the file, the subject and what is wrong; no header value is printed.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurorad.errors import InputError
from neurorad.io.images import ImageReadError, display_path

MIN_DWI_VOLUMES = 22         # 15 kurtosis + 6 diffusion tensor elements + S0

log = logging.getLogger(__name__)

BVEC_NORM_TOLERANCE = 0.1
B0_THRESHOLD = 50.0          # s/mm^2: volumes at or below count as b = 0 (dipy's default)


class DwiError(InputError):
    """A DWI series or its gradient table is unusable; the message names file and subject.

    ``path`` is the file concerned and ``reason`` the message without subject and file
    (for reports that show those in their own columns).
    """

    def __init__(self, where: str, reason: str, *, path: Path | None = None) -> None:
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.path = path


@dataclass
class DwiSeries:
    """A loaded DWI series.

    Attributes
    ----------
    data : numpy.ndarray
        ``(x, y, z, N)`` as stored in the NIfTI (the layout dipy expects).
    affine : numpy.ndarray
        4 x 4 voxel-to-world (RAS) matrix of the NIfTI.
    bvals : numpy.ndarray
        ``(N,)`` s/mm^2.
    bvecs : numpy.ndarray
        ``(N, 3)`` unit vectors (zero for b = 0 volumes).
    header : nibabel header, for writing maps on the same grid.
    """

    data: np.ndarray
    affine: np.ndarray
    bvals: np.ndarray
    bvecs: np.ndarray
    header: object = None


def _where(path, subject, data_root) -> str:
    who = f"subject {subject}: " if subject else ""
    return f"{who}{display_path(path, data_root)}"


def _numbers(path: Path, where: str, *, allow_nan: bool = False) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DwiError(where, f"unreadable ({exc.strerror or exc})", path=path) from None
    try:
        rows = [[float(v) for v in line.replace(",", " ").split()]
                for line in text.splitlines() if line.strip()]
    except ValueError:
        raise DwiError(where, "not a table of numbers", path=path) from None
    if not rows or len({len(r) for r in rows}) != 1:
        raise DwiError(where, "rows have different numbers of values (or the file is empty)",
                       path=path)
    array = np.array(rows, float)
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if bad.any():
        raise DwiError(where, "holds NaN or infinite values", path=path)
    return array


def read_gradient_table(bvals_path, bvecs_path, *, n_volumes: int | None = None,
                        subject: str | None = None, data_root=None,
                        notes: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read and check ``bvals`` / ``bvecs``; return ``(bvals (N,), bvecs (N, 3))``.

    NaN directions on b = 0 rows (a converter habit) are set to 0 with a logged note, also
    appended to ``notes`` as ``(path, message)`` when a list is given (``validate``).

    Raises
    ------
    DwiError
        Missing/unreadable file, wrong shape, count different from ``n_volumes``, negative
        b-values, or a diffusion-weighted direction that is not (close to) unit length.
    """
    bvals_path, bvecs_path = Path(bvals_path), Path(bvecs_path)
    where_vals = _where(bvals_path, subject, data_root)
    where_vecs = _where(bvecs_path, subject, data_root)
    for path, where in ((bvals_path, where_vals), (bvecs_path, where_vecs)):
        if not path.is_file():
            raise DwiError(where, "missing (no such file)", path=path)
    bvals = _numbers(bvals_path, where_vals)
    if 1 not in bvals.shape:
        raise DwiError(where_vals, f"expected one row (or column) of b-values, got shape "
                       f"{bvals.shape}", path=bvals_path)
    bvals = bvals.ravel()
    if np.any(bvals < 0):
        raise DwiError(where_vals, "negative b-value(s)", path=bvals_path)
    bvecs = _numbers(bvecs_path, where_vecs, allow_nan=True)
    if bvecs.shape[0] == 3 and bvecs.shape[1] != 3 or bvecs.shape == (3, 3):
        bvecs = bvecs.T                  # FSL layout: 3 rows of N
    if bvecs.shape[1] != 3:
        raise DwiError(where_vecs, f"expected 3 rows (FSL) or 3 columns, got shape "
                       f"{bvecs.shape}", path=bvecs_path)
    if len(bvecs) != len(bvals):
        raise DwiError(where_vecs, f"{len(bvecs)} directions but {len(bvals)} b-values in "
                       f"{display_path(bvals_path, data_root)}", path=bvecs_path)
    if n_volumes is not None and len(bvals) != n_volumes:
        raise DwiError(where_vals, f"{len(bvals)} b-values but the DWI series has "
                       f"{n_volumes} volumes", path=bvals_path)
    weighted = bvals > B0_THRESHOLD
    nan_rows = np.isnan(bvecs).any(axis=1)
    if (nan_rows & weighted).any():
        first = int(np.argmax(nan_rows & weighted))
        raise DwiError(where_vecs, f"{int((nan_rows & weighted).sum())} diffusion-weighted "
                       f"volume(s) have NaN directions (e.g. volume {first}, b = "
                       f"{bvals[first]:g})", path=bvecs_path)
    if nan_rows.any():
        # A converter habit: b = 0 volumes have no direction, written as NaN.
        log.warning("%s: %d b = 0 volume(s) have NaN directions; set to 0 (a b = 0 volume "
                    "has no gradient direction)", where_vecs, int(nan_rows.sum()),
                    extra={"neurorad_file": display_path(bvecs_path, data_root),
                           "neurorad_detail": f"dwi bvecs: {int(nan_rows.sum())} b = 0 "
                           "volume(s) have NaN directions; set to 0"})
        if notes is not None:
            notes.append((bvecs_path, f"dwi bvecs: {int(nan_rows.sum())} b = 0 volume(s) have "
                          "NaN directions; set to 0"))
        bvecs = np.where(nan_rows[:, None], 0.0, bvecs)
    norms = np.linalg.norm(bvecs, axis=1)
    bad = weighted & (np.abs(norms - 1.0) > BVEC_NORM_TOLERANCE)
    if bad.any():
        raise DwiError(where_vecs, f"{int(bad.sum())} diffusion-weighted direction(s) are not "
                       f"unit vectors (e.g. volume {int(np.argmax(bad))}, norm "
                       f"{norms[np.argmax(bad)]:.3g})", path=bvecs_path)
    unit = np.where(norms[:, None] > 0, bvecs / np.where(norms > 0, norms, 1.0)[:, None], 0.0)
    return bvals, unit


def read_dwi(path, bvals_path, bvecs_path, *, subject: str | None = None,
             data_root=None) -> DwiSeries:
    """Read a 4-D DWI NIfTI and its gradient table (see :func:`read_gradient_table`).

    Raises :class:`neurorad.io.images.ImageReadError` for a missing or corrupt image and
    :class:`DwiError` for a non-4-D image or an inconsistent gradient table.
    """
    import nibabel as nib

    path = Path(path)
    shown = display_path(path, data_root)
    if not path.exists():
        raise ImageReadError(shown, "missing (no such file or folder)", subject=subject,
                             role="DWI")
    try:
        image = nib.load(str(path))
        data = np.asarray(image.dataobj, dtype=np.float64)
    except Exception as exc:  # nibabel's message names only the file and the format issue
        raise ImageReadError(shown, f"corrupt: {type(exc).__name__}: "
                             f"{str(exc).replace(str(path), shown)}", subject=subject,
                             role="DWI") from None
    if data.ndim != 4:
        raise DwiError(_where(path, subject, data_root), "a DWI series must be 4-D "
                       f"(x, y, z, volumes), got {data.ndim}-D", path=path)
    bvals, bvecs = read_gradient_table(bvals_path, bvecs_path, n_volumes=data.shape[3],
                                       subject=subject, data_root=data_root)
    return DwiSeries(data, image.affine, bvals, bvecs, image.header)


def dwi_problems(path, bvals_path, bvecs_path, *, read_voxels: bool = True,
                 data_root=None) -> list[tuple[str, Path, str]]:
    """Check a DWI entry of a manifest without loading the whole series.

    Returns ``(severity, file, message)`` triples: a header that is not a 4-D NIfTI, a
    truncated file, NaN/inf voxels (with ``read_voxels``), a gradient table that does not
    fit the series (errors), and a table from which DKI cannot be fitted (a warning: the
    series may serve other models).
    """
    import nibabel as nib

    from neurorad.io.images import nifti_nonfinite_counts, nifti_truncation

    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".nii", ".nii.gz")):
        return [("error", path, "dwi: expected a 4-D NIfTI (.nii or .nii.gz)")]
    problem = nifti_truncation(path)
    if problem:
        return [("error", path, f"dwi: corrupt: {problem}")]
    try:
        shape = nib.load(str(path)).shape
    except Exception as exc:
        return [("error", path, f"dwi: corrupt: {type(exc).__name__}")]
    if len(shape) != 4:
        return [("error", path, f"dwi: a DWI series must be 4-D (x, y, z, volumes), got "
                 f"{len(shape)}-D")]
    problems = []
    if read_voxels:
        n_nan, n_inf = nifti_nonfinite_counts(path)
        if n_nan or n_inf:
            problems.append(("error", path, f"dwi: {n_nan} NaN and {n_inf} infinite voxel(s)"))
    notes: list = []
    try:
        bvals, bvecs = read_gradient_table(bvals_path, bvecs_path, n_volumes=shape[3],
                                           data_root=data_root, notes=notes)
    except DwiError as exc:
        return problems + [("error", exc.path or path, f"dwi: {exc.reason}")]
    problems += [("warning", note_path, message) for note_path, message in notes]
    try:
        gradient_table(bvals, bvecs)
    except ValueError as exc:
        problems.append(("warning", path, f"dwi: DKI cannot be fitted: {exc}"))
    return problems


def default_gradient_files(path: str | os.PathLike) -> tuple[Path, Path]:
    """``x.bval`` / ``x.bvec`` beside ``x.nii[.gz]`` (the dcm2niix naming)."""
    path = Path(path)
    stem = path.name[:-7] if path.name.endswith(".nii.gz") else path.stem
    return path.with_name(stem + ".bval"), path.with_name(stem + ".bvec")


def gradient_table(bvals, bvecs, *, b0_threshold: float = 50.0):
    """A dipy ``GradientTable`` after checking DKI can be fitted (>= 2 non-zero b-values,
    >= 22 volumes); raises ValueError otherwise."""
    from dipy.core.gradients import gradient_table as dipy_gradient_table

    bvals = np.asarray(bvals, float).ravel()
    bvecs = np.asarray(bvecs, float)
    if bvecs.shape == (3, len(bvals)) and len(bvals) != 3:
        bvecs = bvecs.T
    if len(bvals) < MIN_DWI_VOLUMES:
        raise ValueError(f"DKI needs at least {MIN_DWI_VOLUMES} volumes (21 tensor elements + "
                         f"S0), got {len(bvals)}")
    shells = np.unique(np.round(bvals[bvals > b0_threshold], -2))
    if len(shells) < 2:
        raise ValueError("DKI needs at least two non-zero b-values (shells); got "
                         f"{', '.join(f'{s:g}' for s in shells) or 'none'}")
    return dipy_gradient_table(bvals, bvecs=bvecs, b0_threshold=b0_threshold)
