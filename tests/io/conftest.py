"""A tiny, valid cohort written to tmp_path, which each test then breaks in one way."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

SHAPE = (4, 5, 6)  # (z, y, x)
SPACING_XYZ = (0.5, 0.5, 2.0)
ORIGIN_XYZ = (-10.0, 20.0, 5.0)
# Written into DICOM headers by write_dicom_series; must never reach messages or logs.
PATIENT_NAME = "Doe^Jane"
PATIENT_ID = "MRN123456"


def write_image(path: Path, array: np.ndarray, *, spacing=SPACING_XYZ, origin=ORIGIN_XYZ,
                direction=None) -> Path:
    """Write a (z, y, x) array as an image file with the given geometry (x, y, z order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(direction)
    sitk.WriteImage(image, str(path))
    return path


def write_dicom_series(folder, array, *, series_uid, spacing=(0.8, 0.8, 3.0),
                        origin=(-5.0, 7.0, 11.0)):
    """Write a (z, y, x) int16 array as a DICOM series, one file per slice."""
    folder.mkdir(parents=True, exist_ok=True)
    volume = sitk.GetImageFromArray(array.astype(np.int16))
    volume.SetSpacing(spacing)
    volume.SetOrigin(origin)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(volume.GetDepth()):
        plane = volume[:, :, z]
        position = volume.TransformIndexToPhysicalPoint((0, 0, z))
        tags = {
            "0010|0010": PATIENT_NAME, "0010|0020": PATIENT_ID,
            "0008|0060": "MR", "0020|000d": "1.2.826.0.1.3680043.2.1125.1",
            "0020|000e": series_uid, "0008|0018": f"{series_uid}.{z + 1}",
            "0020|0013": str(z + 1), "0020|0037": "1\\0\\0\\0\\1\\0",
            "0020|0032": "\\".join(f"{p:.4f}" for p in position),
            "0018|0050": str(spacing[2]),
        }
        for tag, value in tags.items():
            plane.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"s{series_uid.split('.')[-1]}_{z:03d}.dcm"))
        writer.Execute(plane)


def lesion_labelmap(labels=(1, 2)) -> np.ndarray:
    """A label map with one small block per label."""
    mask = np.zeros(SHAPE, np.uint8)
    for i, label in enumerate(labels):
        mask[1:3, 1:4, 2 * i:2 * i + 2] = label
    return mask


class Cohort:
    """Three subjects (two of patient P1, one of P2), images T1 (NIfTI, float) and T2 (NRRD,
    integer), one label map with lesions 1 and 2, and three targets."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest_path = root / "study.yaml"
        rng = np.random.default_rng(0)
        subjects = []
        origins = {"s1": "germline", "s2": "mosaic", "s3": "germline"}
        uptake = {"s1": 2.5, "s2": 3.0, "s3": None}
        for sid, group in (("s1", "P1"), ("s2", "P1"), ("s3", "P2")):
            write_image(root / sid / "T1.nii.gz", rng.normal(100, 10, SHAPE).astype(np.float32))
            write_image(root / sid / "T2.nrrd", rng.integers(0, 1000, SHAPE).astype(np.int16))
            write_image(root / sid / "mask.nii.gz", lesion_labelmap())
            subjects.append({
                "id": sid, "group": group,
                "images": {"T1": f"{sid}/T1.nii.gz", "T2": {"path": f"{sid}/T2.nrrd"}},
                "mask": f"{sid}/mask.nii.gz",
                "rois": {"lesion_1": 1, "lesion_2": 2},
                "targets": {"variant_origin": origins[sid], "uptake": uptake[sid],
                            "exon": 8 if sid != "s2" else 11},
            })
        self.raw = {
            "neurorad_manifest": 1,
            "study": "tiny",
            "targets": {
                "variant_origin": {"type": "binary", "classes": ["germline", "mosaic"]},
                "uptake": {"type": "continuous"},
                "exon": {"type": "categorical", "role": "annotation"},
            },
            "subjects": subjects,
        }

    def subject(self, sid: str) -> dict:
        return next(s for s in self.raw["subjects"] if s["id"] == sid)

    def write(self, raw: dict | None = None) -> Path:
        self.manifest_path.write_text(yaml.safe_dump(raw if raw is not None else self.raw,
                                                     sort_keys=False))
        return self.manifest_path

    def copy_raw(self) -> dict:
        return copy.deepcopy(self.raw)


@pytest.fixture
def cohort(tmp_path, monkeypatch) -> Cohort:
    monkeypatch.delenv("NEURORAD_DATA_ROOT", raising=False)
    return Cohort(tmp_path)
