"""Reading medical images and label maps with SimpleITK, and comparing their geometry.

Supported inputs: NIfTI (``.nii``, ``.nii.gz``), NRRD (``.nrrd``, ``.nhdr``), MetaImage
(``.mha``, ``.mhd``) and DICOM series folders. Spacing, origin and direction are kept (they
live on the returned ``SimpleITK.Image``); arrays follow the project contract: ``float64`` in
``(z, y, x)`` order with spacing ``(z, y, x)`` in mm.

Privacy: DICOM headers carry patient identifiers. Nothing in this module prints, logs or
puts into an exception message any header value; files are named by the path the caller
gives (relative to the data root when ``data_root`` is passed) and subjects by the
manifest's pseudonymous id.
"""
from __future__ import annotations

import errno
import gzip
import logging
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from neurorad.errors import InputError

log = logging.getLogger(__name__)

# Image formats a manifest may name; "auto" decides from the suffix (a folder is DICOM).
# A format SimpleITK reads is added here and in _SUFFIX_FORMATS, nowhere else
# (docs/architecture.md, "How to add an input format").
IMAGE_FORMATS = ("auto", "nifti", "nrrd", "mha", "dicom")

_SUFFIX_FORMATS = {
    ".nii.gz": "nifti",
    ".nii": "nifti",
    ".nrrd": "nrrd",
    ".nhdr": "nrrd",
    ".mha": "mha",
    ".mhd": "mha",
}

_FLOAT_PIXEL_IDS = {
    sitk.sitkFloat32,
    sitk.sitkFloat64,
    sitk.sitkVectorFloat32,
    sitk.sitkVectorFloat64,
}


class ImageReadError(InputError):
    """An image could not be read; the message names the file, the subject and the reason.

    Attributes
    ----------
    path : str
        The file as shown to the user (relative to the data root when known).
    subject : str or None
        The manifest's pseudonymous subject id.
    role : str or None
        What the file is for (an image name such as ``"T1"``, or ``"mask"``).
    reason : str
        One of ``missing``, ``unreadable``, ``corrupt``, ``unsupported format``,
        ``non-finite voxels``, followed by details.
    """

    def __init__(self, path: str, reason: str, *, subject: str | None = None,
                 role: str | None = None) -> None:
        self.path = path
        self.subject = subject
        self.role = role
        self.reason = reason
        who = f"subject {subject}: " if subject else ""
        what = f"{role} " if role else ""
        super().__init__(f"{who}{what}file {path}: {reason}")


class NonFiniteVoxelsError(ImageReadError):
    """A NIfTI float image stores NaN or infinite voxels (which ITK would read as 0).

    Attributes
    ----------
    n_nan, n_inf, n_voxels : int
        NaN voxels, +-inf voxels and all voxels of the file.
    """

    def __init__(self, path: str, n_nan: int, n_inf: int, n_voxels: int, *,
                 subject: str | None = None, role: str | None = None) -> None:
        self.n_nan, self.n_inf, self.n_voxels = n_nan, n_inf, n_voxels
        super().__init__(path, nonfinite_reason(n_nan, n_inf, n_voxels) + " stored in the "
                         "file (ITK's NIfTI reader would silently read them as 0); replace "
                         "them or cut them out of the image before extraction",
                         subject=subject, role=role)


def nonfinite_reason(n_nan: int, n_inf: int, n_voxels: int) -> str:
    """The one wording of a non-finite voxel count, shared by ``read_image`` and validate."""
    return f"non-finite voxels: {n_nan} NaN and {n_inf} infinite voxel(s) of {n_voxels}"


@dataclass(frozen=True)
class Geometry:
    """The physical grid of an image, in SimpleITK's (x, y, z) order.

    Attributes
    ----------
    size, spacing, origin, direction : tuple
        As ``SimpleITK.Image.GetSize()`` etc.; ``direction`` is the row-major
        ``dimension x dimension`` direction-cosine matrix.
    pixel_id : int
        SimpleITK pixel type id (tells integer from float voxels without reading them).
    components : int
        Number of components per voxel (1 for scalar images).
    """

    size: tuple
    spacing: tuple
    origin: tuple
    direction: tuple
    pixel_id: int = sitk.sitkUnknown
    components: int = 1

    @property
    def dimension(self) -> int:
        return len(self.size)

    @property
    def is_float(self) -> bool:
        """True when the voxels may hold NaN or infinity."""
        return self.pixel_id in _FLOAT_PIXEL_IDS

    @classmethod
    def of(cls, obj: "sitk.Image | sitk.ImageFileReader | Geometry") -> "Geometry":
        """The geometry of an image, or of a reader after ``ReadImageInformation()``."""
        if isinstance(obj, Geometry):
            return obj
        if isinstance(obj, sitk.Image):
            return cls(obj.GetSize(), obj.GetSpacing(), obj.GetOrigin(), obj.GetDirection(),
                       obj.GetPixelID(), obj.GetNumberOfComponentsPerPixel())
        if isinstance(obj, sitk.ImageFileReader):
            return cls(obj.GetSize(), obj.GetSpacing(), obj.GetOrigin(), obj.GetDirection(),
                       obj.GetPixelID(), obj.GetNumberOfComponents())
        raise TypeError(f"expected a SimpleITK image, reader or Geometry, got {type(obj).__name__}")


def display_path(path: str | os.PathLike, data_root: str | os.PathLike | None = None) -> str:
    """``path`` relative to ``data_root`` when it lies below it, else as given (POSIX form)."""
    path = Path(path)
    if data_root is not None:
        try:
            return path.resolve().relative_to(Path(data_root).resolve()).as_posix()
        except (OSError, RuntimeError):  # a symlink loop: resolve() gives up
            try:
                return Path(os.path.abspath(path)).relative_to(
                    os.path.abspath(data_root)).as_posix()
            except ValueError:
                pass
        except ValueError:
            pass
    return path.as_posix()


def path_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be used as an input (None: it exists and can be looked at).

    Distinguishes a missing file from a symbolic-link loop, a permission problem or another
    system error, which ``Path.exists()`` all reports as "missing".
    """
    try:
        os.stat(path)
    except FileNotFoundError:
        return "missing (no such file or folder)"
    except PermissionError:
        return "permission denied (check the file's and its folders' permissions)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link points back to itself)"
        return f"cannot be opened ({exc.strerror or type(exc).__name__})"
    if os.path.isdir(path) and not os.access(path, os.R_OK | os.X_OK):
        return "folder not readable (permission denied)"
    if os.path.isfile(path) and not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    return None


def image_stem(path: str | os.PathLike) -> str:
    """File name of ``path`` without its image suffix (``suv.nii.gz`` -> ``suv``)."""
    name = Path(path).name
    for suffix in _SUFFIX_FORMATS:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def detect_format(path: str | os.PathLike) -> str | None:
    """The image format implied by ``path``: a folder is ``"dicom"``, else by suffix.

    Returns None when the suffix is not one neurorad reads.
    """
    path = Path(path)
    if path.is_dir():
        return "dicom"
    name = path.name.lower()
    for suffix, fmt in _SUFFIX_FORMATS.items():
        if name.endswith(suffix):
            return fmt
    if name.endswith(".dcm"):
        return "dicom"
    return None


def _itk_reason(exc: Exception, path: Path, shown: str) -> str:
    """The informative line of an ITK exception, with the absolute path replaced by ``shown``.

    ITK messages look like ``Exception thrown in SimpleITK ...: /long/file.cxx:123: ITK ERROR:
    ...: actual message``; users need only the last part.
    """
    text = str(exc).strip()
    detail = re.split(r"ITK ERROR: [^:]*: |sitk::ERROR: ", text)[-1]
    lines = [line.strip() for line in detail.splitlines() if line.strip()] or [text]
    if len(lines) > 1 and lines[-1].startswith("Reason:") and path.exists():
        lines.pop()  # ITK appends a stale errno text ("No such file") to parse failures
    # First line says what failed; the last one (when different) often says why.
    reason = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
    for variant in {str(path), str(path.resolve()), os.fspath(path)}:
        reason = reason.replace(variant, shown)
    return reason


def _resolve_format(path: Path, fmt: str, shown: str, subject: str | None,
                    role: str | None) -> str:
    if fmt not in IMAGE_FORMATS:
        raise ImageReadError(shown, f"unsupported format {fmt!r} (expected one of "
                             f"{', '.join(IMAGE_FORMATS)})", subject=subject, role=role)
    problem = path_problem(path)
    if problem:
        raise ImageReadError(shown, problem, subject=subject, role=role)
    if path.is_file() and path.stat().st_size == 0:
        raise ImageReadError(shown, "empty file (0 bytes): the copy or download did not "
                             "finish, or the disk was full; copy the file again",
                             subject=subject, role=role)
    if fmt == "auto":
        found = detect_format(path)
        if found is None:
            raise ImageReadError(
                shown, f"unsupported format: expected {', '.join(sorted(_SUFFIX_FORMATS))} "
                "or a DICOM series folder", subject=subject, role=role)
        return found
    if fmt == "dicom" and not path.is_dir():
        raise ImageReadError(shown, "unsupported format: format 'dicom' expects a folder "
                             "holding one DICOM series", subject=subject, role=role)
    if fmt != "dicom" and path.is_dir():
        raise ImageReadError(shown, f"unreadable: is a folder, but format is {fmt!r}",
                             subject=subject, role=role)
    return fmt


@dataclass(frozen=True)
class _NiftiHeader:
    byte_order: str     # "<" or ">"
    header_size: int    # 348 (NIfTI-1) or 540 (NIfTI-2)
    datatype: int       # NIfTI datatype code (16 float32, 64 float64, ...)
    bitpix: int
    n_voxels: int
    vox_offset: int
    scl_inter: float = 0.0  # intensity offset; ITK adds it to the 0 it puts for NaN/inf
    scl_slope: float = 0.0  # intensity scale (0: none); its sign flips a stored inf

    @property
    def expected_bytes(self) -> int:
        """Bytes the file must hold: header, extensions and voxels."""
        return max(self.vox_offset, self.header_size) + self.n_voxels * self.bitpix // 8


# NIfTI datatype codes of floating-point voxels, as NumPy dtype strings.
_NIFTI_FLOAT_DTYPES = {16: "f4", 64: "f8"}


def _open_nifti(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _nifti_header(header: bytes) -> _NiftiHeader | None:
    """The fields of a NIfTI-1/-2 header that locate the voxels (either byte order), parsed
    by nibabel's ``Nifti1Header`` / ``Nifti2Header``; None when ``header`` starts with
    neither header size (348 or 540) in either byte order."""
    import nibabel as nib

    for klass in (nib.Nifti1Header, nib.Nifti2Header):
        size = klass.sizeof_hdr
        if len(header) < size:
            continue
        order = next((o for o in "<>" if struct.unpack(o + "i", header[:4])[0] == size), None)
        if order is None:
            continue
        try:
            fields = klass(header[:size], endianness=order, check=False)
            dims = [int(d) for d in fields["dim"]]
            datatype, bitpix = int(fields["datatype"]), int(fields["bitpix"])
            offset = int(fields["vox_offset"])
            slope, inter = float(fields["scl_slope"]), float(fields["scl_inter"])
        except (ValueError, TypeError, OverflowError):
            return None
        n_dims = dims[0]
        if not 1 <= n_dims <= 7 or bitpix <= 0:
            return None
        n_voxels = int(np.prod([max(d, 1) for d in dims[1:n_dims + 1]]))
        return _NiftiHeader(order, size, datatype, bitpix, n_voxels, offset,
                            inter if np.isfinite(inter) else 0.0,
                            slope if np.isfinite(slope) else 0.0)
    return None


def _read_nifti_header(path: Path) -> _NiftiHeader | None:
    try:
        with _open_nifti(path) as handle:
            return _nifti_header(handle.read(540))
    except (OSError, EOFError):
        return None


def nifti_truncation(path: str | os.PathLike) -> str | None:
    """Why a NIfTI file is shorter than its header promises, or None when it is complete.

    ITK fills the missing part of a truncated NIfTI file with zeros without complaint, so
    this compares the header's promise, ``vox_offset + prod(dim) * bitpix / 8`` bytes, with
    the file size (for ``.nii.gz`` with the gzip trailer's uncompressed size, confirmed by
    decompressing when they disagree). NIfTI-1 (348-byte header) and NIfTI-2 (540) are read
    in either byte order.
    """
    path = Path(path)
    try:
        with _open_nifti(path) as handle:
            header = _nifti_header(handle.read(540))
    except (OSError, EOFError) as exc:
        return f"cannot read the header ({exc})"
    if header is None:
        return None  # not a NIfTI header ITK would accept either; ITK reports that
    expected = header.expected_bytes
    if not path.name.lower().endswith(".gz"):
        actual = path.stat().st_size
    else:
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            actual = struct.unpack("<I", handle.read(4))[0]
        if actual == expected % 2**32:
            return None
        actual = _gunzipped_size(path)
    if actual is None:
        return "the compressed stream ends early (file truncated)"
    if actual < expected:
        return f"file truncated: {actual} bytes of image data and header, {expected} expected"
    return None


def nifti_nonfinite_voxels(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Where a floating-point NIfTI file stores NaN or +-inf voxels, and those values.

    ITK's NIfTI reader (ITK <= 5.4, used by SimpleITK 2.x) silently replaces NaN and infinite
    voxels by 0 (then applies ``scl_inter``), so they cannot be seen on the image it returns;
    this reads the stored voxel values directly. Integer NIfTI files store none.

    Returns
    -------
    flat_index : int64 array
        Positions in the file's voxel order (x fastest), which is also the C order of
        ``SimpleITK.GetArrayFromImage`` of a scalar image read from the file.
    value : float64 array
        ``nan``, ``inf`` or ``-inf`` at those positions, after ``scl_slope`` (whose sign flips
        an infinity; scaling cannot turn a NaN into a number).

    References
    ----------
    ITK pull request #6683, "Preserve non-finite pixel values when reading NIfTI images"
    (ITK 6): ``nifti_read_buffer()`` of ITK <= 5.4 zeroes them.
    """
    path = Path(path)
    indices, values = [], []
    with _open_nifti(path) as handle:
        header = _nifti_header(handle.read(540))
        if header is None or header.datatype not in _NIFTI_FLOAT_DTYPES:
            return np.empty(0, np.int64), np.empty(0)
        dtype = np.dtype(header.byte_order + _NIFTI_FLOAT_DTYPES[header.datatype])
        handle.seek(max(header.vox_offset, header.header_size))
        done = 0
        while done < header.n_voxels:
            block = handle.read(min(header.n_voxels - done, 1 << 22) * dtype.itemsize)
            if not block:
                break
            stored = np.frombuffer(block[: len(block) - len(block) % dtype.itemsize], dtype)
            # One isfinite pass over the block; positions only where it finds something.
            finite = np.isfinite(stored)
            if not finite.all():
                where = np.flatnonzero(~finite)
                indices.append(where + done)
                values.append(stored[where].astype(np.float64))
            done += stored.size
    if not indices:
        return np.empty(0, np.int64), np.empty(0)
    value = np.concatenate(values)
    if header.scl_slope < 0:
        value = -value
    return np.concatenate(indices).astype(np.int64), value


def nifti_nonfinite_counts(path: str | os.PathLike) -> tuple[int, int]:
    """(number of NaN, number of +-inf) voxels stored in a floating-point NIfTI file
    (:func:`nifti_nonfinite_voxels`)."""
    _, value = nifti_nonfinite_voxels(path)
    n_nan = int(np.count_nonzero(np.isnan(value)))
    return n_nan, int(value.size - n_nan)


def _may_hide_nonfinite(image: sitk.Image, header: _NiftiHeader) -> bool:
    """Whether ``image`` (as ITK read it) has a voxel where ITK may have put a NaN/inf.

    ITK zeroes non-finite stored values before applying ``scl_inter``, so a hidden NaN
    reads as 0 or as ``scl_inter``; an image holding neither value hides none, and the file
    need not be scanned (a ~10 ms comparison in memory instead of reading the file again).
    """
    array = sitk.GetArrayViewFromImage(image)
    candidates = {0.0, header.scl_inter}
    return any(bool(np.any(array == array.dtype.type(c))) for c in candidates)


def _restore_nonfinite(path: Path, image: sitk.Image, shown: str, subject, role) -> sitk.Image:
    """``image`` with the NaN/inf voxels the NIfTI file stores put back where ITK put 0.

    Only float files whose image holds a voxel ITK may have put there are scanned
    (:func:`_may_hide_nonfinite`). A file whose voxel order does not map one to one onto a
    scalar image (vector images) cannot be restored and raises
    :class:`NonFiniteVoxelsError` instead.
    """
    header = _read_nifti_header(path)
    if header is None or header.datatype not in _NIFTI_FLOAT_DTYPES:
        return image  # integer voxels cannot hold NaN or inf
    if not _may_hide_nonfinite(image, header):
        return image
    flat_index, value = nifti_nonfinite_voxels(path)
    if flat_index.size == 0:
        return image
    if (image.GetNumberOfComponentsPerPixel() != 1 or image.GetNumberOfPixels() != header.n_voxels
            or image.GetPixelID() not in (sitk.sitkFloat32, sitk.sitkFloat64)):
        n_nan = int(np.count_nonzero(np.isnan(value)))
        raise NonFiniteVoxelsError(shown, n_nan, value.size - n_nan, header.n_voxels,
                                   subject=subject, role=role)
    array = sitk.GetArrayFromImage(image)
    array.reshape(-1)[flat_index] = value
    restored = sitk.GetImageFromArray(array)
    restored.CopyInformation(image)
    for key in image.GetMetaDataKeys():
        restored.SetMetaData(key, image.GetMetaData(key))
    return restored


def _gunzipped_size(path: Path) -> int | None:
    """Uncompressed size of a gzip file, or None when its stream is cut short."""
    size = 0
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                size += len(block)
    except (EOFError, OSError, zlib.error):
        return None
    return size


def dicom_truncation(files: list[str]) -> str | None:
    """Why a DICOM series' pixel data is incomplete, or None when every file is complete.

    GDCM reads a file whose pixel data is cut short without complaint; for uncompressed
    transfer syntaxes the expected length is ``Rows * Columns * SamplesPerPixel *
    BitsAllocated / 8 * NumberOfFrames`` bytes. Only lengths are compared: no header value
    leaves this function.
    """
    import pydicom

    for name in files:
        try:
            ds = pydicom.dcmread(name, force=True)
            if "PixelData" not in ds:
                return f"{Path(name).name} has no pixel data"
            syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
            if syntax is not None and syntax.is_compressed:
                continue  # encapsulated frames have no fixed length; the decoder checks them
            expected = (int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1))
                        * int(ds.BitsAllocated) // 8 * int(ds.get("NumberOfFrames", 1) or 1))
            actual = len(ds.PixelData)
        except Exception:  # any parse failure: say which file, never what pydicom printed
            return f"{Path(name).name} cannot be parsed as DICOM"
        if actual < expected:
            return f"{Path(name).name} is truncated ({actual} of {expected} bytes of pixel data)"
    return None


def _raise_if_truncated(path: Path, fmt: str, shown: str, subject, role) -> None:
    if fmt == "nifti":
        problem = nifti_truncation(path)
        if problem:
            raise ImageReadError(shown, f"corrupt: {problem}", subject=subject, role=role)


def _check_readable(path: Path, shown: str, subject: str | None, role: str | None) -> None:
    if not os.access(path, os.R_OK):
        raise ImageReadError(shown, "unreadable (permission denied)", subject=subject, role=role)


def dicom_series_files(folder: str | os.PathLike, *, subject: str | None = None,
                       role: str | None = None, data_root=None) -> list[str]:
    """The files of the DICOM series to read from ``folder``, sorted by slice position.

    When the folder holds several series, the one with the most files is chosen and a
    warning says how many series there were and how many files each had (series UIDs and
    descriptions are not printed: they can identify a patient).
    """
    folder = Path(folder)
    shown = display_path(folder, data_root)
    _check_readable(folder, shown, subject, role)
    series_ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not series_ids:
        raise ImageReadError(shown, "corrupt or not DICOM: no DICOM series found in the folder",
                             subject=subject, role=role)
    files = [sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid) for uid in series_ids]
    _check_stray_dicom_files(folder, files, shown, subject, role)
    counts = [len(f) for f in files]
    best = int(np.argmax(counts))
    if len(series_ids) > 1:
        _note(shown, subject, role, f"folder holds {len(series_ids)} DICOM series "
              f"({', '.join(map(str, counts))} files); reading series {best + 1} of "
              f"{len(series_ids)} ({counts[best]} files, the largest)")
    return list(files[best])


def _note(shown: str, subject: str | None, role: str | None, detail: str) -> None:
    """Log a warning about a file; ``extra`` lets callers (validate) turn it into a Problem."""
    who = f"subject {subject}: " if subject else ""
    what = f"{role} " if role else ""
    log.warning("%s%sfile %s: %s", who, what, shown, detail,
                extra={"neurorad_file": shown, "neurorad_detail": f"{what}{detail}"
                       if not role else f"{role}: {detail}"})


def _check_stray_dicom_files(folder: Path, series_files: list, shown: str, subject, role) -> None:
    """DICOM files GDCM left out of every series: a damaged slice is silently dropped there,
    leaving a volume with a missing slice, so such files are checked and reported."""
    listed = {os.path.realpath(f) for files in series_files for f in files}
    stray = [str(p) for p in sorted(folder.iterdir())
             if p.is_file() and os.path.realpath(p) not in listed and _looks_like_dicom(p)]
    if not stray:
        return
    problem = dicom_truncation(stray)
    if problem:
        raise ImageReadError(shown, f"corrupt: {problem}", subject=subject, role=role)
    _note(shown, subject, role, f"{len(stray)} DICOM file(s) belong to no series and are "
          f"ignored (e.g. {Path(stray[0]).name})")


def _looks_like_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".ima"):
        return True
    with open(path, "rb") as handle:
        handle.seek(128)
        return handle.read(4) == b"DICM"


def _read_special_dicom(files: list[str], shown: str, subject, role) -> sitk.Image | None:
    """An enhanced multi-frame object or a Siemens mosaic read as 3-D
    (:mod:`neurorad.io.dicom_multiframe`); None for an ordinary series of slices."""
    from neurorad.io.dicom_multiframe import MultiframeError, read_special_series

    try:
        return read_special_series(files)
    except MultiframeError as exc:
        raise ImageReadError(shown, f"unsupported DICOM: {exc}", subject=subject,
                             role=role) from None


def check_dicom_slices(files: list[str], shown: str, *, subject: str | None = None,
                       role: str | None = None, allow_uneven_slices: bool = False) -> None:
    """Slice positions of a DICOM series along the normal must be evenly spaced
    (:func:`neurorad.io.dicom_series.spacing_problem`).

    Raises :class:`ImageReadError` naming the series, the positions and the gap; with
    ``allow_uneven_slices`` logs a warning instead (the series is then read with the mean
    gap as its slice spacing, as ITK does).
    """
    from neurorad.io.dicom_series import series_spacing_problem

    problem = series_spacing_problem(files)
    if problem is None:
        return
    if allow_uneven_slices:
        _note(shown, subject, role, f"{problem}; read anyway (allow_uneven_slices): the "
              "slice spacing is the mean gap, so positions beyond the gap are off")
        return
    raise ImageReadError(shown, f"uneven slices: {problem}; stacking it would stretch the "
                         "slice spacing (re-export the complete series, or read it anyway with "
                         "allow_uneven_slices=True / --allow-uneven-slices)",
                         subject=subject, role=role)


def read_image(path: str | os.PathLike, *, subject: str | None = None, role: str | None = None,
               format: str = "auto", data_root: str | os.PathLike | None = None,
               allow_uneven_slices: bool = False) -> sitk.Image:
    """Read one image (NIfTI, NRRD, MetaImage or a DICOM series folder).

    Parameters
    ----------
    path : path-like
        Image file, or folder holding a DICOM series.
    subject, role : str, optional
        Pseudonymous subject id and image name, used only in error messages.
    format : {"auto", "nifti", "nrrd", "mha", "dicom"}
        ``"auto"`` decides from the suffix; a folder is read as a DICOM series.
    data_root : path-like, optional
        When given, error messages show ``path`` relative to it.
    allow_uneven_slices : bool
        Read a DICOM series whose slice positions are unevenly spaced (missing or
        duplicate slice) with a warning instead of raising (:func:`check_dicom_slices`).

    Returns
    -------
    SimpleITK.Image
        With spacing, origin and direction as stored in the file.

    Raises
    ------
    ImageReadError
        Naming the file, the subject and the reason (missing, unreadable, corrupt,
        unsupported format).
    NonFiniteVoxelsError
        (an ``ImageReadError``) A floating-point NIfTI vector image stores NaN or infinite
        voxels, which could not be put back (see Notes); the message gives their counts.

    Notes
    -----
    NIfTI files cut short are reported as corrupt (ITK would pad them with zeros). ITK <= 5.4
    reads stored NaN/inf voxels of NIfTI files as 0, which would enter the features as real
    intensities; they are found in the file (:func:`nifti_nonfinite_voxels`) and put back, so
    the returned image holds what the file stores, as for the other formats. NaN outside the
    ROIs is common (e.g. parametric maps masked to the brain) and harmless; feature
    extraction refuses an ROI that contains NaN/inf (``neurorad.preprocess.load``). The
    second read happens only for float files whose image, as ITK returned it, holds a voxel
    equal to 0 (or ``scl_inter``), the only values a hidden NaN/inf can take (for a
    256 x 256 x 180 float ``.nii.gz`` with a zero background it adds about 0.5 s).
    """
    path = Path(path)
    shown = display_path(path, data_root)
    fmt = _resolve_format(path, format, shown, subject, role)
    _check_readable(path, shown, subject, role)
    try:
        if fmt == "dicom":
            files = dicom_series_files(path, subject=subject, role=role, data_root=data_root)
            problem = dicom_truncation(files)
            if problem:
                raise ImageReadError(shown, f"corrupt: {problem}", subject=subject, role=role)
            special = _read_special_dicom(files, shown, subject, role)
            if special is not None:
                return special
            check_dicom_slices(files, shown, subject=subject, role=role,
                               allow_uneven_slices=allow_uneven_slices)
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(files)
            return reader.Execute()
        _raise_if_truncated(path, fmt, shown, subject, role)
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        image = reader.Execute()
        if fmt == "nifti":
            image = _restore_nonfinite(path, image, shown, subject, role)
        return image
    except ImageReadError:
        raise
    except RuntimeError as exc:
        # DICOM reader messages may echo header content; give the reason without it.
        detail = "the DICOM series could not be decoded" if fmt == "dicom" else \
            _itk_reason(exc, path, shown)
        raise ImageReadError(shown, f"corrupt: {detail}", subject=subject, role=role) from None


def read_geometry(path: str | os.PathLike, *, subject: str | None = None, role: str | None = None,
                  format: str = "auto", data_root: str | os.PathLike | None = None) -> Geometry:
    """The geometry of an image file from its header alone (no voxel data is read).

    A DICOM series has no single header with the full grid, so it is read completely.
    Raises :class:`ImageReadError` like :func:`read_image`.
    """
    path = Path(path)
    shown = display_path(path, data_root)
    fmt = _resolve_format(path, format, shown, subject, role)
    if fmt == "dicom":
        return Geometry.of(read_image(path, subject=subject, role=role, format=fmt,
                                      data_root=data_root))
    _check_readable(path, shown, subject, role)
    _raise_if_truncated(path, fmt, shown, subject, role)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ImageReadError(shown, f"corrupt: {_itk_reason(exc, path, shown)}",
                             subject=subject, role=role) from None
    return Geometry.of(reader)


def image_to_array(img: sitk.Image) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Voxel values as ``float64`` in (z, y, x) order, and the spacing (z, y, x) in mm.

    A 2-D image becomes a single slice (shape ``(1, y, x)``) with a z spacing of 1 mm, as
    ``SimpleITK.JoinSeries`` would make it. Vector images are rejected.
    """
    if img.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError(f"expected a scalar image, got {img.GetNumberOfComponentsPerPixel()} "
                         "components per voxel")
    if img.GetDimension() == 2:
        img = sitk.JoinSeries(img)
    if img.GetDimension() != 3:
        raise ValueError(f"expected a 2-D or 3-D image, got {img.GetDimension()}-D")
    array = sitk.GetArrayFromImage(img).astype(np.float64, copy=False)
    spacing = tuple(float(s) for s in reversed(img.GetSpacing()))
    return array, spacing


def _label_array(labelmap: "sitk.Image | np.ndarray") -> np.ndarray:
    array = sitk.GetArrayViewFromImage(labelmap) if isinstance(labelmap, sitk.Image) \
        else np.asarray(labelmap)
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all() or np.any(array[finite] != np.round(array[finite])):
            raise ValueError("not a label map: the mask has non-integer or non-finite values")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"not a label map: voxel type {array.dtype}")
    return array


def labels_present(labelmap: "sitk.Image | np.ndarray") -> list[int]:
    """The non-zero label values occurring in a label map, ascending."""
    values = np.unique(_label_array(labelmap))
    return [int(v) for v in values if v != 0]


def roi_mask(labelmap: "sitk.Image | np.ndarray", label: int) -> np.ndarray:
    """Boolean mask (z, y, x for an image) of the voxels equal to ``label``."""
    return _label_array(labelmap) == label


def same_geometry(a, b, tol: float = 1e-4) -> list[str]:
    """Differences between the grids of two images (empty list when they match).

    Parameters
    ----------
    a, b : SimpleITK.Image, SimpleITK.ImageFileReader (after ``ReadImageInformation``) or Geometry
    tol : float
        Relative tolerance. Spacings match when ``|sa - sb| <= tol * max(|sa|, |sb|)``;
        origins when every coordinate differs by at most ``tol`` times the largest voxel
        spacing (so the tolerance means "a fraction of a voxel", whatever the origin's
        magnitude); direction cosines when every entry differs by at most ``tol``.

    Returns
    -------
    list of str
        One readable line per differing property, e.g. ``"spacing (0.5, 0.5, 1) vs
        (0.5, 0.5, 2)"``.
    """
    ga, gb = Geometry.of(a), Geometry.of(b)
    if ga.dimension != gb.dimension:
        return [f"dimension {ga.dimension}-D vs {gb.dimension}-D"]
    diffs = []
    if tuple(ga.size) != tuple(gb.size):
        diffs.append(f"size {_fmt(ga.size)} vs {_fmt(gb.size)}")
    sa, sb = np.asarray(ga.spacing, float), np.asarray(gb.spacing, float)
    if np.any(np.abs(sa - sb) > tol * np.maximum(np.abs(sa), np.abs(sb))):
        diffs.append(f"spacing {_fmt(ga.spacing)} vs {_fmt(gb.spacing)}")
    voxel = float(max(sa.max(), sb.max()))
    if np.any(np.abs(np.subtract(ga.origin, gb.origin)) > tol * voxel):
        diffs.append(f"origin {_fmt(ga.origin)} vs {_fmt(gb.origin)}")
    if np.any(np.abs(np.subtract(ga.direction, gb.direction)) > tol):
        diffs.append(f"direction {_fmt(ga.direction)} vs {_fmt(gb.direction)}")
    return diffs


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values) + ")"
