"""Small synthetic cohorts and picklable test extractors for the batch-runner tests.

The extractors compute simple ROI statistics with NumPy, so every expected value can be
recomputed in the test straight from the arrays the cohort builder wrote.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import yaml

SHAPE = (4, 6, 7)           # (z, y, x)
SPACING_XYZ = (1.0, 1.0, 2.0)
ROIS = {"lesion_1": 1, "lesion_2": 2}
IMAGES = ("T1", "T2")


@dataclass(frozen=True)
class Cohort:
    manifest: Path
    root: Path
    arrays: dict          # (subject, image) -> float64 array written
    masks: dict           # subject -> int label array written


def _write(array: np.ndarray, path: Path) -> None:
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(SPACING_XYZ)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(path))


def make_cohort(root: Path, n_subjects: int = 3, *, seed: int = 0) -> Cohort:
    """Subjects s01..sNN, each with images T1, T2 and a label map with ROIs 1 and 2,
    written as NIfTI under ``root`` with a version-1 manifest (data_manifests/README.md)."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    arrays, masks, subjects = {}, {}, []
    for i in range(n_subjects):
        sid = f"s{i + 1:02d}"
        labels = np.zeros(SHAPE, dtype=np.uint8)
        labels[1:3, 1:4, 1:4] = 1
        labels[1:4, 3:5, 4:6] = 2
        _write(labels, root / sid / "mask.nii.gz")
        masks[sid] = labels
        images = {}
        for name in IMAGES:
            arr = rng.normal(100.0 * (i + 1), 10.0, SHAPE)
            _write(arr, root / sid / f"{name}.nii.gz")
            arrays[(sid, name)] = arr
            images[name] = f"{sid}/{name}.nii.gz"
        subjects.append({"id": sid, "group": f"P{i // 2 + 1}", "images": images,
                         "mask": f"{sid}/mask.nii.gz", "rois": dict(ROIS),
                         "targets": {"y": i % 2}})
    manifest = {"neurorad_manifest": 1, "study": "batchtest", "data_root": ".",
                "targets": {"y": {"type": "binary"}}, "subjects": subjects}
    path = root / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return Cohort(path, root, arrays, masks)


def expected_stats(cohort: Cohort, subject: str, roi: str, image: str) -> dict[str, float]:
    """What roi_stats_extractor must return, straight from the written arrays."""
    values = cohort.arrays[(subject, image)][cohort.masks[subject] == ROIS[roi]]
    return {"n_voxels": float(values.size), "mean": float(values.mean()), "max": float(values.max())}


def roi_stats_extractor(image, mask, settings, *, label, device):
    arr = sitk.GetArrayFromImage(image).astype(np.float64)
    roi = sitk.GetArrayFromImage(mask) == label
    values = arr[roi]
    return {"n_voxels": float(values.size), "mean": float(values.mean()), "max": float(values.max())}


def failing_extractor(image, mask, settings, *, label, device):
    """Fails for ROI label 2 only, like a feature that cannot be computed for one lesion."""
    if label == 2:
        raise ArithmeticError("feature undefined for this ROI")
    return roi_stats_extractor(image, mask, settings, label=label, device=device)


def stats_and_thread_probe_extractor(image, mask, settings, *, label, device):
    """ROI statistics plus the thread settings and process id of the process that ran the case."""
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info()]
    return {**roi_stats_extractor(image, mask, settings, label=label, device=device),
            "pid": float(os.getpid()),
            "sitk_threads": float(sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()),
            "omp_env": float(os.environ.get("OMP_NUM_THREADS", "nan")),
            "max_blas_threads": float(max(blas) if blas else 1)}


def crash_once_extractor(image, mask, settings, *, label, device, marker):
    """Kills its own worker process the first time any case runs (marker file absent)."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return roi_stats_extractor(image, mask, settings, label=label, device=device)
    os.close(fd)
    os._exit(17)


def always_crash_extractor(image, mask, settings, *, label, device):
    if label == 2:
        os._exit(17)
    return roi_stats_extractor(image, mask, settings, label=label, device=device)
