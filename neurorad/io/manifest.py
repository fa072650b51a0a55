"""Study manifests: load a YAML manifest into dataclasses, with every schema problem reported.

The format is specified in ``data_manifests/README.md`` (version 1). Parsing never stops at
the first problem: :func:`parse_manifest` returns the manifest together with the list of
all :class:`Problem` found in the YAML itself (unknown keys, wrong types, missing required
entries, duplicate subject ids, missing or mistyped targets, single-class targets).
:func:`load_manifest` raises :class:`ManifestError` listing them when any is an error.
Checks that need the files (existence, hashes, geometry, labels, NaN voxels) live in
:mod:`neurorad.io.validate`.
"""
from __future__ import annotations

import difflib
import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from neurorad.errors import InputError
from neurorad.io.images import IMAGE_FORMATS
from neurorad.yamlsafe import BoundedLoader, YAMLLimitError, short_repr

MANIFEST_VERSION = 1
ENV_DATA_ROOT = "NEURORAD_DATA_ROOT"
DEFAULT_GEOMETRY_TOLERANCE = 1e-4
# Name of the mask of a subject written with the single-mask shorthand ``mask: path``.
DEFAULT_MASK_NAME = "mask"
MASK_FORMATS = ("labelmap", "rtstruct", "dicom-seg")
TARGET_TYPES = ("binary", "categorical", "continuous")
TARGET_ROLES = ("target", "annotation")
# Keys starting with this prefix are user extensions: kept out of the checks, ignored.
EXTENSION_PREFIX = "x_"

_TOP_KEYS = ("neurorad_manifest", "study", "description", "data_root", "geometry_tolerance",
             "targets", "subjects")
_SUBJECT_KEYS = ("id", "group", "images", "mask", "masks", "rois", "targets", "dwi")
_IMAGE_KEYS = ("path", "sha256", "format")
_MASK_KEYS = ("path", "sha256", "format", "reference")
_ROI_KEYS = ("mask", "label")
_DWI_KEYS = ("path", "sha256", "bvals", "bvecs")
_TARGET_KEYS = ("type", "classes", "role", "description")


# ----------------------------------------------------------------------------- data model
@dataclass(frozen=True)
class Problem:
    """One finding of the manifest checks.

    Attributes
    ----------
    severity : {"error", "warning"}
    subject : str or None
        Subject id, or None for manifest-wide problems.
    file : str
        The file concerned (relative to the data root), or the manifest itself.
    message : str
        What is wrong, and where in the manifest when it is a schema problem.
    """

    severity: str
    subject: str | None
    file: str
    message: str

    def __str__(self) -> str:
        who = f"subject {self.subject}: " if self.subject else ""
        return f"{self.severity.upper():7s} {who}{self.file}: {self.message}"


class ManifestError(InputError):
    """The manifest has errors; ``.problems`` lists all of them."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        lines = "\n".join(f"  {p}" for p in errors)
        super().__init__(f"manifest {path} has {len(errors)} error(s) "
                         f"(run `neurorad validate {path}` for the full report):\n{lines}")


@dataclass(frozen=True)
class ImageRef:
    """An image of a subject: resolved ``path``, optional ``sha256``, ``format`` (IMAGE_FORMATS)."""

    path: Path
    sha256: str | None = None
    format: str = "auto"


@dataclass(frozen=True)
class MaskRef:
    """A mask file of a subject.

    ``format`` is one of MASK_FORMATS. ``reference`` names the image whose grid a DICOM
    RTSTRUCT / SEG is rasterised on (default: the subject's first image); unused for label maps.
    """

    path: Path
    sha256: str | None = None
    format: str = "labelmap"
    reference: str | None = None


@dataclass(frozen=True)
class DwiRef:
    """A diffusion-weighted series: 4-D NIfTI ``path`` with its ``bvals`` / ``bvecs`` files
    (default: beside it, same name with ``.bval`` / ``.bvec``). Input to DKI maps
    (``neurorad dki``), never an image for feature extraction."""

    path: Path
    bvals: Path
    bvecs: Path
    sha256: str | None = None


@dataclass(frozen=True)
class RoiRef:
    """A region of interest: the mask it is in and its ``label`` there.

    For a label map the label is the integer voxel value; for an RTSTRUCT the structure
    name (``ROIName``); for a DICOM-SEG the segment number or segment label.
    """

    mask: str
    label: int | str


@dataclass(frozen=True)
class TargetSpec:
    """A declared target column.

    ``classes`` is the declared class order for binary/categorical targets (None when left
    to the data: then the sorted distinct values); ``role`` is ``"target"`` (modelled) or
    ``"annotation"`` (only shown, e.g. as plot colours).
    """

    name: str
    type: str
    classes: tuple | None = None
    role: str = "target"
    description: str = ""


@dataclass
class Subject:
    """One subject (one lesion set of one patient); ``group`` is the patient id."""

    id: str
    group: str
    images: dict[str, ImageRef] = field(default_factory=dict)
    masks: dict[str, MaskRef] = field(default_factory=dict)
    rois: dict[str, RoiRef] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    dwi: DwiRef | None = None


@dataclass(frozen=True)
class Case:
    """One unit of feature extraction: one ROI of one subject on one image.

    ``image_sha256`` / ``mask_sha256``: the hashes the manifest pins (None when it gives
    none); ``neurorad extract`` fails the case when a file does not match.
    """

    subject: str
    group: str
    roi: str
    label: int | str
    mask_path: Path
    image_name: str
    image_path: Path
    mask_name: str = DEFAULT_MASK_NAME
    mask_format: str = "labelmap"
    image_format: str = "auto"
    image_sha256: str | None = None
    mask_sha256: str | None = None


@dataclass
class Manifest:
    """A loaded manifest; paths in it are resolved against ``data_root``."""

    path: Path
    study: str
    data_root: Path
    subjects: list[Subject]
    targets: dict[str, TargetSpec]
    description: str = ""
    geometry_tolerance: float = DEFAULT_GEOMETRY_TOLERANCE
    version: int = MANIFEST_VERSION
    problems: list[Problem] = field(default_factory=list)

    def cases(self) -> Iterator[Case]:
        """One :class:`Case` per (subject, ROI, image), in manifest order."""
        for s in self.subjects:
            for roi_name, roi in s.rois.items():
                mask = s.masks.get(roi.mask)
                if mask is None:
                    continue  # only reachable with strict=False; reported as a problem
                for image_name, image in s.images.items():
                    yield Case(s.id, s.group, roi_name, roi.label, mask.path, image_name,
                               image.path, roi.mask, mask.format, image.format, image.sha256,
                               mask.sha256)

    def target_table(self):
        """Targets as a DataFrame: index subject id; columns ``group`` and one per target.

        Binary and categorical targets are ``pandas.Categorical`` (categories in the declared
        class order, else sorted), continuous targets ``float64``; ``null`` becomes NA/NaN.
        """
        import pandas as pd

        columns: dict[str, Any] = {"group": [s.group for s in self.subjects]}
        for name, spec in self.targets.items():
            values = [s.targets.get(name) for s in self.subjects]
            if spec.type == "continuous":
                columns[name] = pd.array(
                    [float("nan") if v is None else float(v) for v in values], dtype="float64")
            else:
                columns[name] = pd.Categorical(values, categories=list(target_classes(spec, values)))
        index = pd.Index([s.id for s in self.subjects], name="subject")
        return pd.DataFrame(columns, index=index)

    def sha256(self) -> str:
        """SHA-256 of the manifest file's bytes (for provenance records)."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def display(self, path: str | os.PathLike) -> str:
        """``path`` relative to the data root when below it (for messages and reports)."""
        from neurorad.io.images import display_path

        return display_path(path, self.data_root)


def target_classes(spec: TargetSpec, values) -> tuple:
    """Declared classes, else the sorted distinct non-null values (as strings when mixed)."""
    if spec.classes is not None:
        return spec.classes
    distinct = {v for v in values if v is not None}
    try:
        return tuple(sorted(distinct))
    except TypeError:  # mixed types: reported as a problem; keep a deterministic order
        return tuple(sorted(distinct, key=str))


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a folder: its files' bytes concatenated in sorted order.

    For a folder (a DICOM series) every regular file below it counts, ordered by its
    POSIX path relative to the folder.
    """
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted((p for p in path.rglob("*") if p.is_file()),
                   key=lambda p: p.relative_to(path).as_posix()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def resolve_data_root(manifest_path: Path, argument=None, declared=None) -> Path:
    """The data root: ``argument``, else $NEURORAD_DATA_ROOT, else the manifest's
    ``data_root`` (relative to the manifest's folder; default: that folder)."""
    if argument is not None:
        return Path(argument).expanduser().resolve()
    env = os.environ.get(ENV_DATA_ROOT)
    if env:
        return Path(env).expanduser().resolve()
    return (manifest_path.resolve().parent / Path(declared or ".").expanduser()).resolve()


# ----------------------------------------------------------------------------- YAML reading
class _StrictLoader(BoundedLoader):
    """Bounded safe loader (:mod:`neurorad.yamlsafe`: aliases and expansion limited) that
    records duplicate mapping keys (plain YAML silently keeps the last)."""

    def __init__(self, stream, source: str = "<string>") -> None:
        super().__init__(stream, source=source)
        self.duplicate_keys: list[str] = []


def _construct_mapping(loader: _StrictLoader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            continue  # complex keys are unhashable and never used by the format
        if key in seen:
            loader.duplicate_keys.append(
                f"duplicate key {short_repr(key)} on line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# ----------------------------------------------------------------------------- parsing
class _Parser:
    """Walks the YAML tree, builds the dataclasses and collects every problem on the way."""

    def __init__(self, manifest_path: Path, shown: str, data_root_arg) -> None:
        self.path = manifest_path
        self.shown = shown
        self.data_root_arg = data_root_arg
        self.problems: list[Problem] = []
        self.data_root = manifest_path.resolve().parent

    # -- problem helpers
    def error(self, where: str, message: str, subject: str | None = None) -> None:
        self.problems.append(Problem("error", subject, self.shown, f"{where}: {message}"))

    def warning(self, where: str, message: str, subject: str | None = None) -> None:
        self.problems.append(Problem("warning", subject, self.shown, f"{where}: {message}"))

    def check_keys(self, mapping: dict, allowed, where: str, subject=None) -> None:
        for key in mapping:
            if isinstance(key, str) and key.startswith(EXTENSION_PREFIX):
                continue
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else \
                    f" (allowed: {', '.join(allowed)})"
                self.error(where, f"unknown key {short_repr(key)}{hint}", subject)

    def expect(self, value, types, where: str, what: str, subject=None) -> bool:
        # bool is an int subclass in Python; a YAML `yes` is never meant as a number.
        if isinstance(value, types) and not (isinstance(value, bool) and bool not in _tuple(types)):
            return True
        self.error(where, f"must be {what}, got {_describe(value)}", subject)
        return False

    # -- top level
    def parse(self, raw) -> Manifest:
        if not isinstance(raw, dict):
            self.error("manifest", f"must be a YAML mapping with keys {', '.join(_TOP_KEYS)}, "
                       f"got {_describe(raw)}")
            raw = {}
        self.check_keys(raw, _TOP_KEYS, "manifest")
        version = raw.get("neurorad_manifest")
        if version is None:
            self.error("neurorad_manifest", f"missing (required; write `neurorad_manifest: "
                       f"{MANIFEST_VERSION}`)")
        elif version != MANIFEST_VERSION or isinstance(version, bool):
            self.error("neurorad_manifest", f"unsupported format version {short_repr(version)} "
                       f"(this neurorad reads version {MANIFEST_VERSION})")
        study = raw.get("study")
        if study is None:
            self.error("study", "missing (required: a short study name)")
        else:
            self.expect(study, str, "study", "a string")
        description = raw.get("description", "")
        if description is not None:
            self.expect(description, str, "description", "a string")
        declared_root = raw.get("data_root")
        if declared_root is not None and not self.expect(declared_root, str, "data_root",
                                                         "a folder path (string)"):
            declared_root = None
        self.data_root = resolve_data_root(self.path, self.data_root_arg, declared_root)
        tolerance = raw.get("geometry_tolerance", DEFAULT_GEOMETRY_TOLERANCE)
        if not self.expect(tolerance, (int, float), "geometry_tolerance", "a number"):
            tolerance = DEFAULT_GEOMETRY_TOLERANCE
        elif not tolerance >= 0:
            self.error("geometry_tolerance", f"must be >= 0, got {short_repr(tolerance)}")
            tolerance = DEFAULT_GEOMETRY_TOLERANCE
        targets = self.parse_target_specs(raw.get("targets"))
        subjects = self.parse_subjects(raw.get("subjects"), targets)
        self.check_target_values(targets, subjects)
        return Manifest(path=self.path, study=study if isinstance(study, str) else "",
                        data_root=self.data_root, subjects=subjects, targets=targets,
                        description=description if isinstance(description, str) else "",
                        geometry_tolerance=float(tolerance), problems=self.problems)

    # -- targets
    def parse_target_specs(self, raw) -> dict[str, TargetSpec]:
        if raw is None:
            return {}
        if not self.expect(raw, dict, "targets", "a mapping of target name -> {type: ...}"):
            return {}
        specs = {}
        for name, spec in raw.items():
            where = f"targets.{name}"
            if not self.expect(name, str, where, "a string name"):
                continue
            if not self.expect(spec, dict, where, "a mapping such as {type: binary}"):
                continue
            self.check_keys(spec, _TARGET_KEYS, where)
            kind = spec.get("type")
            if kind not in TARGET_TYPES:
                self.error(f"{where}.type", "missing (required)" if kind is None else
                           f"unknown type {short_repr(kind)} (expected one of {', '.join(TARGET_TYPES)})")
                continue
            role = spec.get("role", "target")
            if role not in TARGET_ROLES:
                self.error(f"{where}.role", f"unknown role {short_repr(role)} (expected one of "
                           f"{', '.join(TARGET_ROLES)})")
                role = "target"
            classes = self.parse_classes(spec.get("classes"), kind, f"{where}.classes")
            description = spec.get("description", "")
            specs[name] = TargetSpec(name, kind, classes, role,
                                     description if isinstance(description, str) else "")
        return specs

    def parse_classes(self, raw, kind: str, where: str) -> tuple | None:
        if raw is None:
            return None
        if kind == "continuous":
            self.error(where, "a continuous target has no classes")
            return None
        if not self.expect(raw, list, where, "a list of class values"):
            return None
        if not all(isinstance(c, (str, int)) for c in raw):
            self.error(where, f"classes must be strings or integers, got {short_repr(raw)}")
            return None
        if len(set(raw)) != len(raw):
            self.error(where, f"classes repeat a value: {short_repr(raw)}")
            return None
        if kind == "binary" and len(raw) != 2:
            self.error(where, f"a binary target needs exactly 2 classes, got {len(raw)}: {short_repr(raw)}")
            return None
        if kind == "categorical" and len(raw) < 2:
            self.error(where, f"a categorical target needs at least 2 classes, got {short_repr(raw)}")
            return None
        return tuple(raw)

    # -- subjects
    def parse_subjects(self, raw, targets: dict[str, TargetSpec]) -> list[Subject]:
        if raw is None:
            self.error("subjects", "missing (required: a list of subjects)")
            return []
        if not self.expect(raw, list, "subjects", "a list of subjects"):
            return []
        if not raw:
            self.error("subjects", "the list is empty")
        subjects, first_entry = [], {}
        for index, entry in enumerate(raw):
            subject = self.parse_subject(entry, index, targets)
            if subject is None:
                continue
            if subject.id in first_entry:
                self.error(f"subjects[{index}]", f"duplicate subject id {subject.id!r} (also "
                           f"subjects[{first_entry[subject.id]}])", subject.id)
            else:
                first_entry[subject.id] = index
            subjects.append(subject)
        return subjects

    def parse_subject(self, entry, index: int, targets) -> Subject | None:
        where = f"subjects[{index}]"
        if not self.expect(entry, dict, where, "a mapping with at least id and images"):
            return None
        sid = entry.get("id")
        if sid is None:
            self.error(where, "missing id (required)")
            sid = f"<subjects[{index}]>"
        elif not isinstance(sid, str):
            self.error(f"{where}.id", f"must be a string, got {_describe(sid)} (quote it: "
                       f"'{sid}'; an unquoted 007 would become 7)")
            sid = str(sid)
        where = f"subjects[{index}] ({sid})"
        self.check_keys(entry, _SUBJECT_KEYS, where, sid)
        group = entry.get("group", sid)
        if not isinstance(group, str):
            self.error(f"{where}.group", f"must be a string, got {_describe(group)} (quote it)", sid)
            group = str(group)
        images = self.parse_images(entry.get("images"), where, sid)
        masks = self.parse_masks(entry, where, sid, images)
        rois = self.parse_rois(entry.get("rois"), masks, where, sid)
        subject_targets = self.parse_subject_targets(entry.get("targets"), targets, where, sid)
        dwi = self.parse_dwi(entry["dwi"], f"{where}.dwi", sid) if "dwi" in entry else None
        return Subject(sid, group, images, masks, rois, subject_targets, dwi)

    def parse_dwi(self, raw, where: str, sid: str) -> DwiRef | None:
        """``dwi: path`` or ``{path, bvals, bvecs, sha256}``; gradient files default to the
        dcm2niix names beside the series."""
        from neurorad.io.dwi import default_gradient_files

        parsed = self.parse_file_entry(raw, where, sid, _DWI_KEYS, ("auto",), "auto")
        if not parsed:
            return None
        path, sha, _, mapping = parsed
        default_bvals, default_bvecs = default_gradient_files(path)
        bvals = (self.resolve(mapping["bvals"], f"{where}.bvals", sid) if "bvals" in mapping
                 else default_bvals)
        bvecs = (self.resolve(mapping["bvecs"], f"{where}.bvecs", sid) if "bvecs" in mapping
                 else default_bvecs)
        if bvals is None or bvecs is None:
            return None
        return DwiRef(path, bvals, bvecs, sha)

    def resolve(self, raw_path, where: str, sid: str) -> Path | None:
        if not isinstance(raw_path, str) or not raw_path.strip():
            self.error(where, f"must be a file path (string), got {_describe(raw_path)}", sid)
            return None
        path = Path(raw_path).expanduser()
        return path if path.is_absolute() else self.data_root / path

    def parse_file_entry(self, raw, where: str, sid: str, allowed_keys, formats, default_format):
        """(path, sha256, format, mapping) of an image/mask entry: a path or a mapping."""
        mapping = {"path": raw} if isinstance(raw, str) else raw
        if not isinstance(mapping, dict):
            self.error(where, f"must be a path or a mapping with 'path', got {_describe(raw)}", sid)
            return None
        self.check_keys(mapping, allowed_keys, where, sid)
        if "path" not in mapping:
            self.error(where, "missing path (required)", sid)
            return None
        path = self.resolve(mapping["path"], f"{where}.path", sid)
        sha = mapping.get("sha256")
        if sha is not None and not (isinstance(sha, str) and len(sha) == 64
                                    and all(c in "0123456789abcdefABCDEF" for c in sha)):
            self.error(f"{where}.sha256", f"must be 64 hexadecimal digits, got {short_repr(sha)}", sid)
            sha = None
        fmt = mapping.get("format", default_format)
        if fmt not in formats:
            self.error(f"{where}.format", f"unknown format {short_repr(fmt)} (expected one of "
                       f"{', '.join(formats)})", sid)
            fmt = default_format
        if path is None:
            return None
        return path, sha.lower() if sha else None, fmt, mapping

    def parse_images(self, raw, where: str, sid: str) -> dict[str, ImageRef]:
        if raw is None:
            self.error(where, "missing images (required: image name -> file)", sid)
            return {}
        if not self.expect(raw, dict, f"{where}.images", "a mapping of image name -> file", sid):
            return {}
        if not raw:
            self.error(f"{where}.images", "no images listed", sid)
        images = {}
        for name, value in raw.items():
            if not self.valid_name(name, f"{where}.images", sid):
                continue
            parsed = self.parse_file_entry(value, f"{where}.images.{name}", sid, _IMAGE_KEYS,
                                           IMAGE_FORMATS, "auto")
            if parsed:
                images[name] = ImageRef(*parsed[:3])
        return images

    def valid_name(self, name, where: str, sid: str) -> bool:
        if not isinstance(name, str) or not name:
            self.error(where, f"names must be non-empty strings, got {_describe(name)}", sid)
            return False
        if "__" in name:
            # Wide feature tables name columns `<image>__<feature>`; "__" would be ambiguous.
            self.error(where, f"name {short_repr(name)} must not contain '__'", sid)
            return False
        return True

    def parse_masks(self, entry: dict, where: str, sid: str, images) -> dict[str, MaskRef]:
        if "mask" in entry and "masks" in entry:
            self.error(where, "give either 'mask' (one label map) or 'masks' (named), not both", sid)
        if "mask" in entry:
            raw = {DEFAULT_MASK_NAME: entry["mask"]}
            places = {DEFAULT_MASK_NAME: f"{where}.mask"}
        else:
            raw = entry.get("masks")
            if raw is None:
                return {}
            if not self.expect(raw, dict, f"{where}.masks", "a mapping of mask name -> file", sid):
                return {}
            places = {name: f"{where}.masks.{name}" for name in raw}
        masks = {}
        for name, value in raw.items():
            if not self.valid_name(name, f"{where}.masks", sid):
                continue
            parsed = self.parse_file_entry(value, places[name], sid, _MASK_KEYS, MASK_FORMATS,
                                           "labelmap")
            if not parsed:
                continue
            path, sha, fmt, mapping = parsed
            reference = mapping.get("reference")
            if reference is not None and reference not in images:
                self.error(f"{places[name]}.reference", f"names image {short_repr(reference)}, which the "
                           f"subject does not have (images: {', '.join(images) or 'none'})", sid)
                reference = None
            masks[name] = MaskRef(path, sha, fmt, reference)
        return masks

    def parse_rois(self, raw, masks: dict[str, MaskRef], where: str, sid: str) -> dict[str, RoiRef]:
        if raw is None:
            if masks:
                self.warning(where, "a mask is given but no rois: nothing will be extracted", sid)
            else:
                self.warning(where, "no mask and no rois: nothing will be extracted", sid)
            return {}
        if not self.expect(raw, dict, f"{where}.rois", "a mapping of ROI name -> label", sid):
            return {}
        rois = {}
        for name, value in raw.items():
            roi_where = f"{where}.rois.{name}"
            if not self.valid_name(name, f"{where}.rois", sid):
                continue
            if not masks:
                self.error(roi_where, "the subject has no mask (give 'mask: FILE' or 'masks:')",
                           sid)
                continue
            if isinstance(value, dict):
                self.check_keys(value, _ROI_KEYS, roi_where, sid)
                mask_name = value.get("mask", next(iter(masks)) if len(masks) == 1 else None)
                label = value.get("label")
                if label is None:
                    self.error(roi_where, "missing label (required)", sid)
                    continue
            else:
                mask_name = next(iter(masks)) if len(masks) == 1 else None
                label = value
            if mask_name is None:
                self.error(roi_where, f"with several masks ({', '.join(masks)}) write "
                           "{mask: NAME, label: VALUE}", sid)
                continue
            if mask_name not in masks:
                self.error(roi_where, f"refers to mask {short_repr(mask_name)}, which the subject does not "
                           f"have (masks: {', '.join(masks) or 'none'})", sid)
                continue
            if self.valid_label(label, masks[mask_name].format, roi_where, sid):
                rois[name] = RoiRef(mask_name, label)
        for mask_name in masks:
            if not any(r.mask == mask_name for r in rois.values()):
                self.warning(where, f"mask {mask_name!r} is not used by any ROI", sid)
        return rois

    def valid_label(self, label, mask_format: str, where: str, sid: str) -> bool:
        if mask_format == "labelmap":
            if not isinstance(label, int) or isinstance(label, bool):
                self.error(where, f"label must be an integer voxel value, got {_describe(label)}", sid)
                return False
            if label == 0:
                self.error(where, "label 0 is the background of a label map", sid)
                return False
            return True
        if mask_format == "rtstruct":
            return self.expect(label, str, where, "the RTSTRUCT structure name (string)", sid)
        ok = (isinstance(label, str) and label) or (isinstance(label, int)
                                                     and not isinstance(label, bool) and label > 0)
        if not ok:
            self.error(where, f"label must be a segment number (>= 1) or segment label, got "
                       f"{_describe(label)}", sid)
        return bool(ok)

    def parse_subject_targets(self, raw, specs: dict[str, TargetSpec], where: str,
                              sid: str) -> dict[str, Any]:
        if raw is None:
            raw = {}
        elif not self.expect(raw, dict, f"{where}.targets", "a mapping of target name -> value", sid):
            raw = {}
        values = {}
        for name, value in raw.items():
            if name not in specs:
                close = difflib.get_close_matches(str(name), list(specs), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.error(f"{where}.targets", f"unknown target {short_repr(name)}{hint}; declare it "
                           "under the top-level 'targets:'", sid)
                continue
            if self.valid_target_value(value, specs[name], f"{where}.targets.{name}", sid):
                values[name] = value
            else:
                values[name] = None
        for name in specs:
            if name not in raw:
                self.error(f"{where}.targets", f"target {name!r} missing (write `{name}: null` "
                           "when it is unknown)", sid)
                values[name] = None
        return values

    def valid_target_value(self, value, spec: TargetSpec, where: str, sid: str) -> bool:
        if value is None:
            return True
        if spec.type == "continuous":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.error(where, f"continuous target needs a number, got {_describe(value)}", sid)
                return False
            if not math.isfinite(value):
                self.error(where, f"value {short_repr(value)} is not finite (write null for unknown)", sid)
                return False
            return True
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.error(where, f"{spec.type} target needs a class (string or integer), got "
                       f"{_describe(value)}", sid)
            return False
        if spec.classes is not None and value not in spec.classes:
            self.error(where, f"{short_repr(value)} is not one of the declared classes "
                       f"{list(spec.classes)}", sid)
            return False
        return True

    def check_target_values(self, specs: dict[str, TargetSpec], subjects: list[Subject]) -> None:
        """Cohort-level target checks: class counts and consistent value types."""
        for name, spec in specs.items():
            where = f"targets.{name}"
            values = [s.targets.get(name) for s in subjects if s.targets.get(name) is not None]
            if not values:
                if subjects:
                    self.error(where, "no subject has a value")
                continue
            distinct = set(values)
            if spec.type != "continuous" and len({type(v) for v in values}) > 1:
                self.error(where, "values mix strings and numbers (e.g. "
                           f"{sorted(map(repr, distinct))[:4]}); write them all the same way")
                continue
            if spec.type == "binary" and spec.classes is None and len(distinct) > 2:
                self.error(where, f"binary target has {len(distinct)} classes: "
                           f"{list(target_classes(spec, values))}")
            if len(distinct) == 1:
                message = (f"all {len(values)} subjects with a value have the same "
                           f"{'value' if spec.type == 'continuous' else 'class'} "
                           f"{short_repr(values[0])}: nothing can be learned from it")
                if spec.role == "annotation":
                    self.warning(where, message)
                else:
                    self.error(where, message)


def _tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _describe(value) -> str:
    """Type and a short repr of a value from the file (never the whole value: it may be huge
    or, through YAML aliases, shared many times over)."""
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {short_repr(value)}"


def parse_manifest(path: str | os.PathLike, data_root=None) -> tuple[Manifest, list[Problem]]:
    """Parse a manifest without touching the files it lists.

    Returns the manifest (possibly partial when there are errors) and all problems found.
    A missing or non-YAML file gives one error and an empty manifest.
    """
    path = Path(path)
    shown = path.as_posix()
    parser = _Parser(path, shown, data_root)
    if not path.is_file():
        parser.error("manifest", "missing (no such file)" if not path.exists() else "not a file")
        raw = None
    else:
        try:
            loader = _StrictLoader(path.read_text(encoding="utf-8"), source=shown)
            try:
                raw = loader.get_single_data()
            finally:
                loader.dispose()
            for duplicate in loader.duplicate_keys:
                parser.error("manifest", duplicate)
        except YAMLLimitError as exc:
            parser.error("manifest", exc.detail)
            raw = None
        except UnicodeDecodeError as exc:
            parser.error("manifest", f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                         f"offset {exc.start}); save the file as UTF-8")
            raw = None
        except yaml.YAMLError as exc:
            parser.error("manifest", f"not valid YAML: {short_repr(' '.join(str(exc).split()), 300)}")
            raw = None
    if raw is None and parser.problems:
        manifest = Manifest(path, "", resolve_data_root(path, data_root), [], {},
                            problems=parser.problems)
    else:
        manifest = parser.parse(raw)
    return manifest, parser.problems


def is_target_problem(problem: Problem) -> bool:
    """True for a problem located in a target declaration or a subject's target values."""
    where = problem.message.split(":", 1)[0]
    return where.startswith("targets") or ".targets" in where


def load_manifest(path: str | os.PathLike, data_root=None, *, strict: bool = True,
                  targets_required: bool = True) -> Manifest:
    """Load a study manifest (format: ``data_manifests/README.md``).

    Parameters
    ----------
    path : path-like
        The YAML manifest.
    data_root : path-like, optional
        Folder that relative paths in the manifest start from. Precedence: this argument,
        then the ``NEURORAD_DATA_ROOT`` environment variable, then the manifest's
        ``data_root`` (relative to the manifest file's folder), then that folder.
    strict : bool
        Raise :class:`ManifestError` when the manifest has errors (default). With False the
        manifest is returned as far as it could be read, problems in ``.problems``.
    targets_required : bool
        With False, problems of the target columns (a single class, mistyped values) do not
        make a strict load fail: feature extraction needs images and ROIs, not targets.

    Notes
    -----
    Only the manifest itself is checked here; the files it lists are checked by
    :func:`neurorad.io.validate.validate_manifest`.
    """
    manifest, problems = parse_manifest(path, data_root)
    blocking = [p for p in problems if p.severity == "error"
                and (targets_required or not is_target_problem(p))]
    if strict and blocking:
        raise ManifestError(Path(path).as_posix(), problems)
    return manifest
