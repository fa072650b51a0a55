"""validate_manifest: each check on a small broken cohort; all problems in one report."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad.io.manifest import file_sha256
from neurorad.io.validate import validate_manifest

from .conftest import (ORIGIN_XYZ, PATIENT_ID, PATIENT_NAME, SHAPE, SPACING_XYZ, lesion_labelmap,
                       write_dicom_series, write_image)


def _only(report, severity="error"):
    found = [p for p in report.problems if p.severity == severity]
    assert len(found) == 1, "\n".join(map(str, report.problems))
    return found[0]


def test_valid_cohort_has_no_problem(cohort):
    report = validate_manifest(cohort.write())
    assert report.ok and report.problems == [], str(report)
    assert report.n_subjects == 3
    assert str(report).splitlines()[-1] == "OK: 0 error(s), 0 warning(s)"


def test_missing_image(cohort):
    (cohort.root / "s2" / "T2.nrrd").unlink()
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s2", "s2/T2.nrrd")
    assert problem.message == "image T2: missing (no such file or folder)"


def test_corrupt_image(cohort):
    path = cohort.root / "s1" / "T1.nii.gz"
    path.write_bytes(path.read_bytes()[:-20])
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s1", "s1/T1.nii.gz")
    assert problem.message.startswith("image T1: corrupt")


def test_unsupported_image_format(cohort):
    (cohort.root / "s1" / "T1.png").write_bytes(b"\x89PNG")
    cohort.subject("s1")["images"]["T1"] = "s1/T1.png"
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s1", "s1/T1.png")
    assert "unsupported format" in problem.message


def test_corrupt_mask(cohort):
    (cohort.root / "s3" / "mask.nii.gz").write_bytes(b"not gzip at all")
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s3", "s3/mask.nii.gz")
    assert problem.message.startswith("mask mask: corrupt")


@pytest.mark.parametrize("geometry, word", [
    ({"spacing": (0.5, 0.5, 3.0)}, "spacing"),
    ({"origin": (-10.0, 20.0, 6.0)}, "origin"),
    ({"direction": (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0)}, "direction"),
])
def test_mask_geometry_mismatch(cohort, geometry, word):
    write_image(cohort.root / "s2" / "mask.nii.gz", lesion_labelmap(), **geometry)
    report = validate_manifest(cohort.write())
    errors = report.errors
    # the mask differs from both images of s2
    assert len(errors) == 2, str(report)
    for problem, image in zip(errors, ("T1", "T2")):
        assert (problem.subject, problem.file) == ("s2", "s2/mask.nii.gz")
        assert f"geometry differs from image {image} (s2/{image}" in problem.message
        assert word in problem.message


def test_mask_size_mismatch(cohort):
    write_image(cohort.root / "s2" / "T1.nii.gz", np.zeros((5, 5, 6), np.float32))
    problem = _only(validate_manifest(cohort.write()))
    assert "image T1 (s2/T1.nii.gz): size (6, 5, 4) vs (6, 5, 5)" in problem.message


def test_geometry_within_tolerance_passes_and_tolerance_is_configurable(cohort):
    # origin shifted by 1e-3 mm: 5e-4 of the 2 mm voxel
    write_image(cohort.root / "s2" / "mask.nii.gz", lesion_labelmap(), origin=(-10.0, 20.0, 5.001))
    raw = cohort.copy_raw()
    raw["geometry_tolerance"] = 1e-3
    assert validate_manifest(cohort.write(raw)).ok
    raw["geometry_tolerance"] = 1e-4
    assert len(validate_manifest(cohort.write(raw)).errors) == 2


def test_empty_roi(cohort):
    write_image(cohort.root / "s1" / "mask.nii.gz", lesion_labelmap((1,)))
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s1", "s1/mask.nii.gz")
    assert "ROI 'lesion_2' is empty: label 2 does not occur in the mask" in problem.message


def test_undeclared_labels_are_a_warning(cohort):
    write_image(cohort.root / "s1" / "mask.nii.gz", lesion_labelmap((1, 2, 7)))
    report = validate_manifest(cohort.write())
    assert report.ok
    problem = _only(report, "warning")
    assert (problem.subject, problem.file) == ("s1", "s1/mask.nii.gz")
    assert "label(s) 7 present but not declared in rois" in problem.message


def test_non_integer_mask(cohort):
    values = lesion_labelmap().astype(np.float32)
    values[0, 0, 0] = 0.5
    write_image(cohort.root / "s1" / "mask.nii.gz", values)
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s1", "s1/mask.nii.gz")
    assert "not a label map" in problem.message


def _within_peak_radius(bad, roi, spacing_xyz) -> int:
    """Bad voxels within 1 cm^3-sphere radius of some ROI voxel, by brute force."""
    from neurorad.features.local_intensity import PEAK_RADIUS_MM

    scale = np.asarray(spacing_xyz[::-1])
    roi_points = np.argwhere(roi) * scale
    return sum(bool((np.linalg.norm(roi_points - p * scale, axis=1) <= PEAK_RADIUS_MM).any())
               for p in np.argwhere(bad))


def test_nan_and_inf_voxels_outside_the_rois_are_a_warning_inside_an_error(cohort):
    values = np.ones(SHAPE, np.float32)
    values[0, 0, :2] = np.nan      # z = 0: outside both ROIs
    values[1, 1, 1] = -np.inf      # inside lesion_1 (label 1: z 1-2, y 1-3, x 0-1)
    write_image(cohort.root / "s3" / "T1.nii.gz", values)
    report = validate_manifest(cohort.write())
    image_warning, *near = report.warnings
    assert (image_warning.subject, image_warning.file) == ("s3", "s3/T1.nii.gz")
    assert image_warning.message == (
        f"image T1: non-finite voxels: 2 NaN and 1 infinite voxel(s) of {values.size} "
        "(outside the ROIs they are left out of every feature, local intensity peak spheres "
        "included; inside an ROI they are an error)")
    # lesion_1 has the error below; lesion_2 is told what its peak spheres leave out.
    labels = lesion_labelmap()
    expected = _within_peak_radius(~np.isfinite(values), labels == 2, SPACING_XYZ)
    assert [w.message for w in near] == [
        f"mask mask: ROI 'lesion_2': {expected} NaN/infinite voxel(s) of image T1 lie within "
        "6.2 mm of it; extraction leaves them out of its local intensity peak spheres "
        "(loc_peak_*)"]
    error = _only(report, "error")
    assert (error.subject, error.file) == ("s3", "s3/mask.nii.gz")
    assert error.message == ("mask mask: ROI 'lesion_1' covers 1 NaN/infinite voxel(s) of image "
                             "T1: its features cannot be computed on that image")
    values[1, 1, 1] = 5.0          # now only outside: no error at all
    write_image(cohort.root / "s3" / "T1.nii.gz", values)
    report = validate_manifest(cohort.write())
    assert report.errors == [], str(report)
    counts = [_within_peak_radius(~np.isfinite(values), labels == k, SPACING_XYZ) for k in (1, 2)]
    assert [w.message.split(": ")[1:3] for w in report.warnings[1:]] == [
        [f"ROI 'lesion_{k}'", f"{n} NaN/infinite voxel(s) of image T1 lie within 6.2 mm of it; "
         "extraction leaves them out of its local intensity peak spheres (loc_peak_*)"]
        for k, n in zip((1, 2), counts) if n]


def test_nan_image_still_has_its_geometry_checked(cohort):
    values = np.ones(SHAPE, np.float32)
    values[0, 0, 0] = np.nan
    write_image(cohort.root / "s3" / "T1.nii.gz", values, spacing=(1.0, 1.0, 1.0))
    report = validate_manifest(cohort.write())
    assert _only(report, "warning").message.startswith("image T1: non-finite voxels: 1 NaN")
    error = _only(report, "error")  # the mask off the image's grid
    assert error.message.startswith("mask ") and "spacing" in error.message


def test_nan_in_other_formats(cohort):
    values = np.ones(SHAPE, np.float32)
    values[2, 2, 2] = np.nan      # inside lesion_2 (x 2-3)
    write_image(cohort.root / "s3" / "T1.mha", values)
    cohort.subject("s3")["images"]["T1"] = "s3/T1.mha"
    report = validate_manifest(cohort.write())
    warning = report.warnings[0]
    assert (warning.subject, warning.file) == ("s3", "s3/T1.mha")
    assert warning.message.startswith(f"image T1: non-finite voxels: 1 NaN and 0 infinite voxel(s) "
                                      f"of {values.size}")
    assert "ROI 'lesion_2' covers 1 NaN/infinite voxel(s) of image T1" in _only(report).message


def test_headers_only_skips_voxels_but_checks_geometry(cohort):
    values = np.full(SHAPE, np.nan, np.float32)
    write_image(cohort.root / "s3" / "T1.nii.gz", values, spacing=(1.0, 1.0, 1.0))
    report = validate_manifest(cohort.write(), read_voxels=False)
    problem = _only(report)
    assert "spacing" in problem.message and "NaN" not in str(report)


def test_duplicate_subject_ids(cohort):
    cohort.subject("s3")["id"] = "s1"
    report = validate_manifest(cohort.write())
    problem = next(p for p in report.errors if "duplicate" in p.message)
    assert problem.subject == "s1" and problem.file.endswith("study.yaml")
    assert "duplicate subject id 's1' (also subjects[0])" in problem.message


def test_missing_and_mistyped_targets(cohort):
    cohort.subject("s1")["targets"].pop("exon")
    cohort.subject("s2")["targets"]["uptake"] = "3,1"
    report = validate_manifest(cohort.write())
    messages = {(p.subject, p.message) for p in report.errors}
    assert any(s == "s1" and "target 'exon' missing" in m for s, m in messages), messages
    assert any(s == "s2" and "continuous target needs a number, got str '3,1'" in m
               for s, m in messages), messages


def test_single_class_target(cohort):
    cohort.subject("s2")["targets"]["variant_origin"] = "germline"
    problem = _only(validate_manifest(cohort.write()))
    assert problem.subject is None and problem.file.endswith("study.yaml")
    assert "targets.variant_origin: all 3 subjects" in problem.message


def test_sha256_match_and_mismatch(cohort):
    path = cohort.root / "s1" / "T2.nrrd"
    cohort.subject("s1")["images"]["T2"]["sha256"] = file_sha256(path)
    assert validate_manifest(cohort.write()).ok
    cohort.subject("s1")["images"]["T2"]["sha256"] = "0" * 64
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s1", "s1/T2.nrrd")
    assert "image T2: SHA-256 mismatch: manifest says 000000000000" in problem.message


def test_unknown_key(cohort):
    cohort.subject("s2")["rios"] = {}
    report = validate_manifest(cohort.write())
    problem = next(p for p in report.errors if "rios" in p.message)
    assert problem.subject == "s2" and problem.file.endswith("study.yaml")
    assert "unknown key 'rios' (did you mean 'rois'?)" in problem.message


def test_file_shared_between_patients_is_a_warning(cohort):
    cohort.subject("s3")["images"]["T1"] = "s1/T1.nii.gz"
    report = validate_manifest(cohort.write())
    problem = _only(report, "warning")
    assert (problem.subject, problem.file) == ("s3", "s1/T1.nii.gz")
    assert "same file as subject s1 of another group (P1 vs P2)" in problem.message


def test_all_problems_are_reported_at_once(cohort):
    (cohort.root / "s1" / "T1.nii.gz").unlink()
    write_image(cohort.root / "s2" / "mask.nii.gz", lesion_labelmap((1,)))
    values = np.ones(SHAPE, np.float32)
    # inside lesion_1: an error, a warning for the image, and one for lesion_2, whose
    # peak spheres reach that voxel
    values[1, 1, 1] = np.nan
    write_image(cohort.root / "s3" / "T1.nii.gz", values)
    cohort.raw["studdy"] = "x"
    report = validate_manifest(cohort.write())
    assert not report.ok and len(report.errors) == 4, str(report)
    text = str(report)
    assert text.index("studdy") < text.index("s1/T1.nii.gz") < text.index("s2/mask")
    assert text.splitlines()[-1] == "FAILED: 4 error(s), 2 warning(s)"
    frame = report.to_frame()
    assert list(frame["subject"].fillna("-")) == ["-", "s1", "s2", "s3", "s3", "s3"]


def test_check_images_false_only_checks_existence(cohort):
    (cohort.root / "s1" / "T1.nii.gz").write_bytes(b"junk")
    (cohort.root / "s2" / "T2.nrrd").unlink()
    problem = _only(validate_manifest(cohort.write(), check_images=False))
    assert problem.file == "s2/T2.nrrd"


def test_data_root_argument(cohort, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("manifests") / "study.yaml"
    elsewhere.write_text(cohort.write().read_text(encoding="utf-8"))
    report = validate_manifest(elsewhere)
    assert len(report.errors) == 9  # 3 images x 3 subjects missing relative to the wrong root
    assert validate_manifest(elsewhere, data_root=cohort.root).ok


def test_progress_bar_goes_to_stderr(cohort, capsys):
    validate_manifest(cohort.write(), progress=True)
    captured = capsys.readouterr()
    assert "validating" in captured.err and captured.out == ""


# ----------------------------------------------------------------------------- DICOM-RT hook
def _rtstruct_cohort(cohort):
    s1 = cohort.subject("s1")
    (cohort.root / "s1" / "rt.dcm").write_bytes(b"placeholder RTSTRUCT bytes")
    del s1["mask"]
    s1["masks"] = {"rt": {"path": "s1/rt.dcm", "format": "rtstruct", "reference": "T2"}}
    s1["rois"] = {"gtv": {"mask": "rt", "label": "GTV"}, "ctv": {"mask": "rt", "label": "CTV"}}
    return cohort.write()


def test_rtstruct_without_converter_is_a_warning(cohort, monkeypatch):
    monkeypatch.setitem(sys.modules, "neurorad.io.dicom_rt", None)  # import fails
    report = validate_manifest(_rtstruct_cohort(cohort))
    problem = _only(report, "warning")
    assert report.ok
    assert (problem.subject, problem.file) == ("s1", "s1/rt.dcm")
    assert "rtstruct content not checked" in problem.message


def test_rtstruct_is_checked_through_the_converter(cohort, monkeypatch):
    calls = []

    def rtstruct_to_masks(path, reference_image, roi_names):
        calls.append((path.name, reference_image.GetSize(), list(roi_names)))
        full = sitk.GetImageFromArray(lesion_labelmap((1,)))
        full.CopyInformation(reference_image)
        empty = sitk.GetImageFromArray(np.zeros(SHAPE, np.uint8))
        empty.CopyInformation(reference_image)
        return {"GTV": full, "CTV": empty}

    fake = types.ModuleType("neurorad.io.dicom_rt")
    fake.rtstruct_to_masks = rtstruct_to_masks
    monkeypatch.setitem(sys.modules, "neurorad.io.dicom_rt", fake)
    problem = _only(validate_manifest(_rtstruct_cohort(cohort)))
    assert calls == [("rt.dcm", (6, 5, 4), ["GTV", "CTV"])]
    assert (problem.subject, problem.file) == ("s1", "s1/rt.dcm")
    assert "ROI 'ctv' is empty: 'CTV' gives no voxel on the grid of image T2" in problem.message


def test_rtstruct_converter_error_is_reported(cohort, monkeypatch):
    fake = types.ModuleType("neurorad.io.dicom_rt")

    def rtstruct_to_masks(path, reference_image, roi_names):
        raise ValueError("structure 'CTV' not found")

    fake.rtstruct_to_masks = rtstruct_to_masks
    monkeypatch.setitem(sys.modules, "neurorad.io.dicom_rt", fake)
    problem = _only(validate_manifest(_rtstruct_cohort(cohort)))
    assert "rtstruct could not be converted: structure 'CTV' not found" in problem.message


# ----------------------------------------------------------------------------- DICOM images
def test_dicom_series_image_with_a_second_series_gives_a_warning(cohort, capsys):
    volume = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    folder = cohort.root / "s1" / "CT"
    # same grid as the cohort's masks (spacing and origin in x, y, z order)
    write_dicom_series(folder, volume, series_uid="1.2.826.0.1.3680043.2.1125.31",
                       spacing=SPACING_XYZ, origin=ORIGIN_XYZ)
    write_dicom_series(folder, volume[:2], series_uid="1.2.826.0.1.3680043.2.1125.32",
                       spacing=SPACING_XYZ, origin=ORIGIN_XYZ)
    cohort.subject("s1")["images"]["CT"] = {"path": "s1/CT", "format": "dicom"}
    cohort.subject("s1")["images"]["CT"]["sha256"] = file_sha256(folder)
    report = validate_manifest(cohort.write())
    problem = _only(report, "warning")
    assert report.ok, str(report)
    assert (problem.subject, problem.file) == ("s1", "s1/CT")
    assert problem.message == ("image CT: folder holds 2 DICOM series (4, 2 files); reading "
                               "series 1 of 2 (4 files, the largest)")
    shown = str(report) + capsys.readouterr().err
    assert PATIENT_NAME not in shown and PATIENT_ID not in shown and "3680043" not in shown


def test_dicom_series_with_a_damaged_slice(cohort):
    folder = cohort.root / "s2" / "CT"
    write_dicom_series(folder, np.ones(SHAPE), series_uid="1.2.826.0.1.3680043.2.1125.41",
                       spacing=SPACING_XYZ, origin=ORIGIN_XYZ)
    damaged = sorted(folder.iterdir())[2]
    damaged.write_bytes(damaged.read_bytes()[:-25])
    cohort.subject("s2")["images"]["CT"] = "s2/CT"
    problem = _only(validate_manifest(cohort.write()))
    assert (problem.subject, problem.file) == ("s2", "s2/CT")
    assert problem.message.startswith(f"image CT: corrupt: {damaged.name} is truncated")
