"""Check a manifest and every file it lists; report all problems at once.

Checks, in addition to the schema checks of :func:`neurorad.io.manifest.parse_manifest`:

* file missing or unreadable; image corrupt or in an unsupported format;
* SHA-256 mismatch (when the manifest gives ``sha256``);
* NaN or infinite voxels in an image;
* image/mask geometry mismatch (size, spacing, origin, direction within the manifest's
  ``geometry_tolerance``, see :func:`neurorad.io.images.same_geometry`);
* label maps: non-integer voxels; a declared ROI label absent from the mask (empty ROI,
  an **error**); labels present in the mask but not declared in ``rois`` (a **warning**:
  masks often carry structures a study does not use, e.g. oedema next to the tumour, and
  ignoring them is harmless, whereas a missing label always loses an ROI);
* one file listed for subjects of different groups (a **warning**: a possible leak
  between patients).

A subject's ``dwi`` entry (4-D NIfTI with bvals/bvecs) is checked by
``neurorad.io.dwi.dwi_problems`` (4-D header, truncation, NaN, gradient table matching the
volumes; a warning when DKI cannot be fitted).

DICOM RTSTRUCT and DICOM-SEG masks are converted through the hook
:func:`dicom_rt_masks` (which calls ``neurorad.io.dicom_rt``); their ROIs are then checked
for emptiness and grid like label maps.

Only geometry is taken from headers when ``read_voxels=False``; by default every image is
read completely, so truncated files are found and NaN voxels counted.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from neurorad.io.images import (Geometry, ImageReadError, NonFiniteVoxelsError, display_path,
                                labels_present, nonfinite_reason, path_problem, read_geometry,
                                read_image, same_geometry)
from neurorad.io.manifest import (Manifest, MaskRef, Problem, Subject, file_sha256,
                                  parse_manifest)

# Manifests with at least this many subjects show a progress bar (on a terminal).
PROGRESS_MIN_SUBJECTS = 20

IMAGES_LOGGER = "neurorad.io.images"
DICOM_RT_MODULE = "neurorad.io.dicom_rt"
_DICOM_RT_CONVERTERS = {"rtstruct": "rtstruct_to_masks", "dicom-seg": "seg_to_masks"}


@dataclass
class ValidationReport:
    """All problems found in a manifest and its files.

    Attributes
    ----------
    manifest : str
        The manifest file as given.
    problems : list of Problem
        Errors and warnings, in the order found (manifest-wide first, then by subject).
    n_subjects : int
    data_root : str
    """

    manifest: str
    problems: list[Problem] = field(default_factory=list)
    n_subjects: int = 0
    data_root: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def to_frame(self):
        """The problems as a DataFrame (columns severity, subject, file, message)."""
        import pandas as pd

        return pd.DataFrame([vars(p) for p in self.problems],
                            columns=["severity", "subject", "file", "message"])

    def __str__(self) -> str:
        lines = [f"manifest {self.manifest}: {self.n_subjects} subject(s), data root "
                 f"{self.data_root}"]
        lines += [str(p) for p in self.errors] + [str(p) for p in self.warnings]
        verdict = "OK" if self.ok else "FAILED"
        lines.append(f"{verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)


def dicom_rt_masks(mask: MaskRef, reference_image: sitk.Image, roi_labels: list) -> dict:
    """Hook: rasterise an RTSTRUCT / DICOM-SEG mask on ``reference_image``.

    Calls ``neurorad.io.dicom_rt.rtstruct_to_masks(path, reference_image, roi_names)`` or
    ``seg_to_masks(path, reference_image, segment_names)``, which return
    ``{name: SimpleITK label image}``. Raises ``ImportError`` / ``AttributeError`` while that
    module is not available; the caller reports it as "content not checked".
    """
    module = importlib.import_module(DICOM_RT_MODULE)
    converter = getattr(module, _DICOM_RT_CONVERTERS[mask.format])
    return converter(mask.path, reference_image, roi_labels)


class _SubjectChecker:
    """Checks the files of one subject, appending to a shared problem list."""

    def __init__(self, manifest: Manifest, problems: list[Problem], *, check_images: bool,
                 read_voxels: bool) -> None:
        self.manifest = manifest
        self.problems = problems
        self.check_images = check_images
        self.read_voxels = read_voxels
        self.tol = manifest.geometry_tolerance
        # image name -> (geometry, boolean array of its NaN/inf voxels), for the ROI check
        self.nonfinite: dict[str, tuple[Geometry, np.ndarray]] = {}

    def report(self, severity: str, subject: Subject, path, message: str) -> None:
        self.problems.append(Problem(severity, subject.id, self.show(path), message))

    def show(self, path) -> str:
        return display_path(path, self.manifest.data_root)

    def file_ok(self, subject: Subject, role: str, path: Path, sha256: str | None) -> bool:
        """Existence and hash; False when the file cannot be used further."""
        problem = path_problem(path)
        if problem:
            self.report("error", subject, path, f"{role}: {problem}")
            return False
        if sha256 is not None:
            try:
                actual = file_sha256(path)
            except OSError as exc:
                self.report("error", subject, path, f"{role}: unreadable "
                            f"({exc.strerror or type(exc).__name__})")
                return False
            if actual != sha256:
                self.report("error", subject, path, f"{role}: SHA-256 mismatch: manifest says "
                            f"{sha256[:12]}..., file is {actual[:12]}... (file changed?)")
        return True

    def read(self, subject: Subject, role: str, path: Path, fmt: str, *, full: bool):
        """(geometry, image or None); (None, None) after reporting a read error."""
        try:
            if full or fmt == "dicom" or path.is_dir():
                image = read_image(path, subject=subject.id, role=role, format=fmt,
                                   data_root=self.manifest.data_root)
                return Geometry.of(image), image
            return read_geometry(path, subject=subject.id, role=role, format=fmt,
                                 data_root=self.manifest.data_root), None
        except NonFiniteVoxelsError as exc:
            # Reported, but the grid is still good for comparing the masks with.
            self.report("error", subject, path, f"{role}: {exc.reason}")
            return read_geometry(path, subject=subject.id, role=role, format=fmt,
                                 data_root=self.manifest.data_root), None
        except ImageReadError as exc:
            self.report("error", subject, path, f"{role}: {exc.reason}")
        except MemoryError:
            self.report("error", subject, path, f"{role}: too large to read into memory")
        return None, None

    def check(self, subject: Subject) -> None:
        geometries = {}
        self.nonfinite = {}
        for name, ref in subject.images.items():
            role = f"image {name}"
            if not self.file_ok(subject, role, ref.path, ref.sha256) or not self.check_images:
                continue
            geometry, image = self.read(subject, role, ref.path, ref.format, full=self.read_voxels)
            if geometry is None:
                continue
            if geometry.components != 1:
                self.report("error", subject, ref.path, f"{role}: has {geometry.components} "
                            "components per voxel; a scalar image is expected")
            geometries[name] = geometry
            if image is not None and geometry.is_float:
                self.check_finite(subject, name, ref.path, image, geometry)
        for mask_name, mask in subject.masks.items():
            role = f"mask {mask_name}"
            if not self.file_ok(subject, role, mask.path, mask.sha256) or not self.check_images:
                continue
            rois = {roi: r.label for roi, r in subject.rois.items() if r.mask == mask_name}
            if mask.format == "labelmap":
                self.check_labelmap(subject, role, mask, rois, geometries)
            else:
                self.check_dicom_rt(subject, role, mask, rois)
        if subject.dwi is not None:
            self.check_dwi(subject, subject.dwi)

    def check_dwi(self, subject, dwi) -> None:
        """Files of a DWI entry, then its content via ``neurorad.io.dwi.dwi_problems``."""
        present = self.file_ok(subject, "dwi", dwi.path, dwi.sha256)
        for role, path in (("dwi bvals", dwi.bvals), ("dwi bvecs", dwi.bvecs)):
            present = self.file_ok(subject, role, path, None) and present
        if not present or not self.check_images:
            return
        from neurorad.io.dwi import dwi_problems

        for severity, path, message in dwi_problems(dwi.path, dwi.bvals, dwi.bvecs,
                                                    read_voxels=self.read_voxels,
                                                    data_root=self.manifest.data_root):
            self.report(severity, subject, path, message)

    def check_finite(self, subject, name, path, image: sitk.Image, geometry: Geometry) -> None:
        """NaN/inf voxels of an image (``read_image`` puts back those ITK hides in NIfTI).

        Outside the ROIs they are harmless (e.g. a parametric map masked to the brain): a
        warning. Inside an ROI they make its extraction fail: an error, reported by
        :meth:`check_rois_finite` once the masks are read.
        """
        array = sitk.GetArrayViewFromImage(image)
        bad = ~np.isfinite(array)
        if not bad.any():
            return
        n_nan = int(np.count_nonzero(np.isnan(array)))
        n_inf = int(np.count_nonzero(bad)) - n_nan
        self.report("warning", subject, path, f"image {name}: "
                    f"{nonfinite_reason(n_nan, n_inf, image.GetNumberOfPixels())} (outside "
                    "the ROIs they are left out of every feature, local intensity peak "
                    "spheres included; inside an ROI they are an error)")
        self.nonfinite[name] = (geometry, bad)

    def check_rois_finite(self, subject, role, mask: MaskRef, labels: np.ndarray, rois: dict,
                          geometry: Geometry) -> None:
        """An error for each (ROI, image) whose ROI covers NaN/inf voxels of the image."""
        for image_name, (image_geometry, bad) in self.nonfinite.items():
            if bad.shape != labels.shape or same_geometry(geometry, image_geometry, self.tol):
                continue  # a grid mismatch is reported by check_geometry
            for roi, label in rois.items():
                n_bad = int(np.count_nonzero(bad & (labels == label)))
                if n_bad:
                    self.report("error", subject, mask.path, f"{role}: ROI {roi!r} covers "
                                f"{n_bad} NaN/infinite voxel(s) of image {image_name}: its "
                                "features cannot be computed on that image")
                    continue
                near, radius = _nonfinite_near(bad, labels == label,
                                               image_geometry.spacing[::-1])
                if near:
                    self.report("warning", subject, mask.path, f"{role}: ROI {roi!r}: {near} "
                                f"NaN/infinite voxel(s) of image {image_name} lie within "
                                f"{radius:.1f} mm of it; extraction leaves them out of its "
                                "local intensity peak spheres (loc_peak_*)")

    def check_geometry(self, subject, role, mask: MaskRef, mask_geometry, geometries) -> None:
        for image_name, geometry in geometries.items():
            diffs = same_geometry(mask_geometry, geometry, self.tol)
            if diffs:
                image_file = self.show(subject.images[image_name].path)
                self.report("error", subject, mask.path, f"{role}: geometry differs from image "
                            f"{image_name} ({image_file}): {'; '.join(diffs)}")

    def check_labelmap(self, subject, role, mask: MaskRef, rois: dict, geometries) -> None:
        geometry, image = self.read(subject, role, mask.path, "auto", full=True)
        if geometry is None:
            return
        self.check_geometry(subject, role, mask, geometry, geometries)
        try:
            present = set(labels_present(image))
        except ValueError as exc:
            self.report("error", subject, mask.path, f"{role}: {exc}")
            return
        for roi, label in rois.items():
            if label not in present:
                self.report("error", subject, mask.path, f"{role}: ROI {roi!r} is empty: label "
                            f"{label} does not occur in the mask (labels present: "
                            f"{sorted(present) or 'none'})")
        self.check_rois_finite(subject, role, mask, sitk.GetArrayViewFromImage(image), rois,
                               geometry)
        undeclared = sorted(present - set(rois.values()))
        if undeclared:
            self.report("warning", subject, mask.path, f"{role}: label(s) "
                        f"{', '.join(map(str, undeclared))} present but not declared in rois "
                        "(ignored)")

    def check_repeated_segment_labels(self, subject, role, mask: MaskRef) -> None:
        """A warning per label several segments of a DICOM-SEG share, listing their numbers
        (a manifest ROI naming such a label is an error of the converter)."""
        try:
            module = importlib.import_module(DICOM_RT_MODULE)
            repeated = module.repeated_segment_labels(module.seg_segments(mask.path))
        except Exception:  # noqa: BLE001 - unreadable SEGs are reported by the conversion
            return
        for label, numbers in repeated.items():
            self.report("warning", subject, mask.path, f"{role}: segments "
                        f"{', '.join(map(str, numbers))} share the label {label!r}; select one "
                        f"by number or as '{label}#<number>', or their union as '{label}#all'")

    def check_dicom_rt(self, subject, role, mask: MaskRef, rois: dict) -> None:
        reference_name = mask.reference or next(iter(subject.images), None)
        if reference_name is None:
            self.report("error", subject, mask.path, f"{role}: a {mask.format} mask needs a "
                        "reference image, and the subject has none")
            return
        reference = subject.images[reference_name]
        if not reference.path.exists():
            return  # already reported as missing
        try:
            reference_image = read_image(reference.path, subject=subject.id, format=reference.format,
                                         data_root=self.manifest.data_root)
        except ImageReadError:
            return  # already reported with the image
        if mask.format == "dicom-seg":
            self.check_repeated_segment_labels(subject, role, mask)
        try:
            converted = dicom_rt_masks(mask, reference_image, list(rois.values()))
        except (ImportError, AttributeError):
            self.report("warning", subject, mask.path, f"{role}: {mask.format} content not "
                        f"checked: {DICOM_RT_MODULE} is not available")
            return
        except Exception as exc:  # the converter's message names the problem (no identifiers)
            self.report("error", subject, mask.path, f"{role}: {mask.format} could not be "
                        f"converted: {exc}")
            return
        geometry = Geometry.of(reference_image)
        for roi, label in rois.items():
            roi_image = converted.get(label)
            if roi_image is None or not sitk.GetArrayViewFromImage(roi_image).any():
                self.report("error", subject, mask.path, f"{role}: ROI {roi!r} is empty: "
                            f"{label!r} gives no voxel on the grid of image {reference_name}")
            elif same_geometry(roi_image, geometry, self.tol):
                self.report("error", subject, mask.path, f"{role}: ROI {roi!r} not on the grid "
                            f"of image {reference_name}")


def _nonfinite_near(bad: np.ndarray, roi: np.ndarray, spacing_zyx) -> tuple[int, float]:
    """Non-finite voxels within the local intensity peak radius of some ROI voxel (the
    voxels :func:`neurorad.features.local_intensity.sphere_means` leaves out), and that
    radius in mm."""
    from scipy import ndimage

    from neurorad.features.local_intensity import PEAK_RADIUS_MM, sphere_kernel

    if not roi.any():
        return 0, PEAK_RADIUS_MM
    kernel = sphere_kernel(spacing_zyx).astype(bool)
    half = [k // 2 for k in kernel.shape]
    idx = np.nonzero(roi)
    box = tuple(slice(max(int(i.min()) - h, 0), int(i.max()) + h + 1) for i, h in zip(idx, half))
    reach = ndimage.binary_dilation(roi[box], structure=kernel)
    return int(np.count_nonzero(reach & bad[box])), PEAK_RADIUS_MM


class _ReaderNotes(logging.Handler):
    """Turns the warnings the image readers log (several DICOM series in a folder, stray
    DICOM files) into warning Problems of the subject being checked."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(logging.WARNING)
        self.problems = problems
        self.subject: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        file = getattr(record, "neurorad_file", None)
        if file is not None:
            self.problems.append(Problem("warning", self.subject, file, record.neurorad_detail))


@contextlib.contextmanager
def _collect_reader_notes(problems: list[Problem]):
    logger = logging.getLogger(IMAGES_LOGGER)
    handler = _ReaderNotes(problems)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False  # in the report, not twice on screen
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _check_shared_files(manifest: Manifest, problems: list[Problem]) -> None:
    """Warn when one file is listed for subjects of different groups (patients)."""
    owners: dict[Path, tuple[str, str]] = {}
    for subject in manifest.subjects:
        refs = [*subject.images.values(), *subject.masks.values()]
        for path in {Path(os.path.realpath(ref.path)) for ref in refs}:
            first = owners.setdefault(path, (subject.id, subject.group))
            if first[1] != subject.group:
                problems.append(Problem(
                    "warning", subject.id, display_path(path, manifest.data_root),
                    f"same file as subject {first[0]} of another group ({first[1]} vs "
                    f"{subject.group}): a possible leak between patients"))


def validate_manifest(path, data_root=None, *, check_images: bool = True,
                      read_voxels: bool = True, progress: bool | None = None) -> ValidationReport:
    """Check a manifest and the files it lists; collect every problem.

    Parameters
    ----------
    path : path-like
        The YAML manifest.
    data_root : path-like, optional
        As for :func:`neurorad.io.manifest.load_manifest`.
    check_images : bool
        Open the images and masks (geometry, labels, NaN). With False only the manifest,
        file existence and hashes are checked.
    read_voxels : bool
        Read every image completely (finds truncated files, counts NaN/inf). With False
        images contribute only their header (geometry); masks are always read.
    progress : bool, optional
        Show a progress bar on stderr; default: for manifests of at least
        ``PROGRESS_MIN_SUBJECTS`` subjects when stderr is a terminal.

    Returns
    -------
    ValidationReport
        ``.ok`` is False when any error was found.
    """
    from tqdm import tqdm

    manifest, problems = parse_manifest(path, data_root)
    problems = list(problems)
    report = ValidationReport(Path(path).as_posix(), problems, len(manifest.subjects),
                              str(manifest.data_root))
    if not manifest.subjects:
        return report
    _check_shared_files(manifest, problems)
    checker = _SubjectChecker(manifest, problems, check_images=check_images,
                              read_voxels=read_voxels)
    if progress is None:
        progress = len(manifest.subjects) >= PROGRESS_MIN_SUBJECTS and sys.stderr.isatty()
    with _collect_reader_notes(problems) as notes:
        for subject in tqdm(manifest.subjects, desc="validating", unit="subject",
                            file=sys.stderr, disable=not progress):
            notes.subject = subject.id
            try:
                checker.check(subject)
            except (OSError, RuntimeError) as exc:
                # A file-system problem the checks above did not foresee (e.g. a folder that
                # becomes unreadable below a DICOM series): this subject's error, not the end
                # of the report.
                problems.append(Problem("error", subject.id, manifest.display(
                    getattr(exc, "filename", None) or manifest.path),
                    f"cannot be checked: {type(exc).__name__}: "
                    f"{getattr(exc, 'strerror', None) or exc}"))
    # Manifest-wide problems first, then per subject in manifest order.
    order = {s.id: i for i, s in enumerate(manifest.subjects)}
    problems.sort(key=lambda p: -1 if p.subject is None else order.get(p.subject, len(order)))
    return report
