"""Hostile or careless inputs to ``extract``/``validate`` (issue 14): pinned hashes
(finding 3), provenance keys (6), symlink loops and permission errors (7), failure rows
naming the file (11)."""
from __future__ import annotations

import builtins
import hashlib
import os
import shutil

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

from neurorad.batch import extract_manifest
from neurorad.io.validate import validate_manifest

from batch_helpers import make_cohort, roi_stats_extractor


@pytest.fixture
def cohort(tmp_path):
    return make_cohort(tmp_path / "data", n_subjects=2)


def _run(manifest, out, **kwargs):
    return extract_manifest(manifest, "ibsi-phantom", out, scheduler="synchronous",
                            progress=False, extractor=roi_stats_extractor, device="cpu",
                            **kwargs)


def _edit(manifest, change):
    raw = yaml.safe_load(manifest.read_text())
    change(raw)
    manifest.write_text(yaml.safe_dump(raw, sort_keys=False))


def _refuse_reading(monkeypatch, path) -> None:
    """Opening ``path`` raises PermissionError (simulated: tests may run as root, for whom
    permissions do not apply)."""
    denied = str(path)
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if os.fspath(file) == denied:
            raise PermissionError(13, "Permission denied", denied)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)


def _failures(result) -> dict:
    return {(r.subject, r.roi, r.image): r for r in result.failures.itertuples()}


def test_file_not_matching_its_pinned_sha256_fails_its_cases_by_name(cohort, tmp_path):
    t1 = cohort.root / "s01" / "T1.nii.gz"
    good = hashlib.sha256((cohort.root / "s01" / "T2.nii.gz").read_bytes()).hexdigest()
    wrong = hashlib.sha256(b"another file").hexdigest()

    def pin(raw):
        images = raw["subjects"][0]["images"]
        images["T1"] = {"path": images["T1"], "sha256": wrong}
        images["T2"] = {"path": images["T2"], "sha256": good.upper()}

    _edit(cohort.manifest, pin)
    result = _run(cohort.manifest, tmp_path / "out")
    fails = _failures(result)
    assert set(fails) == {("s01", "lesion_1", "T1"), ("s01", "lesion_2", "T1")}
    row = fails[("s01", "lesion_1", "T1")]
    assert row.error_type == "ChecksumMismatchError"
    actual = hashlib.sha256(t1.read_bytes()).hexdigest()
    assert "s01/T1.nii.gz" in row.error_message and wrong[:12] in row.error_message
    assert actual[:12] in row.error_message
    # The pinned T2 matched (case-insensitive) and was extracted, as were other subjects.
    assert result.n_computed == 6
    # validate says the same about the same file.
    report = validate_manifest(cohort.manifest)
    assert [(p.subject, p.file) for p in report.errors] == [("s01", "s01/T1.nii.gz")]
    assert "SHA-256 mismatch" in report.errors[0].message


def test_provenance_keys_inputs_outside_the_root_by_absolute_path(cohort, tmp_path):
    """Two files named T1.nii.gz outside the data root stay two entries."""
    outside = tmp_path / "elsewhere"
    for sid in ("s01", "s02"):
        (outside / sid).mkdir(parents=True)
        shutil.copy(cohort.root / sid / "T1.nii.gz", outside / sid / "T1.nii.gz")

    def move(raw):
        for subject in raw["subjects"]:
            subject["images"]["T1"] = str(outside / subject["id"] / "T1.nii.gz")

    _edit(cohort.manifest, move)
    result = _run(cohort.manifest, tmp_path / "out")
    inputs = result.provenance["inputs_sha256"]
    for sid in ("s01", "s02"):
        key = (outside / sid / "T1.nii.gz").as_posix()
        assert inputs[key] == hashlib.sha256((outside / sid / "T1.nii.gz").read_bytes()
                                             ).hexdigest()
    assert "T1.nii.gz" not in inputs
    assert inputs["s01/T2.nii.gz"]  # inside the root: relative
    assert len(inputs) == 2 * 3


def test_symlink_loop_is_a_per_case_error_in_extract_and_validate(cohort, tmp_path):
    loop = cohort.root / "s01" / "T1.nii.gz"
    loop.unlink()
    os.symlink("T1.nii.gz", loop)
    result = _run(cohort.manifest, tmp_path / "out")
    fails = _failures(result)
    assert set(fails) == {("s01", "lesion_1", "T1"), ("s01", "lesion_2", "T1")}
    assert "s01/T1.nii.gz" in fails[("s01", "lesion_1", "T1")].error_message
    assert "symbolic link loop" in fails[("s01", "lesion_1", "T1")].error_message
    assert result.n_computed == 6
    report = validate_manifest(cohort.manifest)
    assert [(p.subject, p.file) for p in report.errors] == [("s01", "s01/T1.nii.gz")]
    assert "symbolic link loop" in report.errors[0].message


def test_folder_loop_and_unreadable_file(cohort, tmp_path, monkeypatch):
    """A subject folder that is a link loop, and a file whose read is refused (simulated:
    the tests may run as root, for whom permissions do not apply)."""
    shutil.rmtree(cohort.root / "s02")
    os.symlink("s02", cohort.root / "s02")
    _refuse_reading(monkeypatch, cohort.root / "s01" / "mask.nii.gz")
    result = _run(cohort.manifest, tmp_path / "out")
    fails = _failures(result)
    assert len(fails) == 8 and result.n_computed == 0
    assert "s02/T1.nii.gz" in fails[("s02", "lesion_1", "T1")].error_message
    assert "symbolic link loop" in fails[("s02", "lesion_1", "T1")].error_message
    assert "s01/mask.nii.gz" in fails[("s01", "lesion_1", "T1")].error_message
    assert "Permission denied" in fails[("s01", "lesion_1", "T1")].error_message


def test_unreadable_file_in_validate(cohort, monkeypatch):
    _edit(cohort.manifest, lambda raw: raw["subjects"][0]["images"].update(
        T1={"path": raw["subjects"][0]["images"]["T1"], "sha256": "0" * 64}))
    _refuse_reading(monkeypatch, cohort.root / "s01" / "T1.nii.gz")
    report = validate_manifest(cohort.manifest)
    (error,) = report.errors
    assert error.file == "s01/T1.nii.gz" and "unreadable (Permission denied)" in error.message


def test_failure_rows_name_the_files_not_an_in_memory_image(cohort, tmp_path):
    """An extractor error about images already read names the case's image and mask."""
    mask = np.zeros((4, 6, 7), dtype=np.uint8)
    mask[0, 0, 0] = 1
    img = sitk.GetImageFromArray(mask)
    img.SetSpacing((1.0, 1.0, 1.0))  # another grid than the images (spacing z = 2)
    sitk.WriteImage(img, str(cohort.root / "s01" / "mask.nii.gz"))
    result = extract_manifest(cohort.manifest, "ibsi-phantom", tmp_path / "out",
                              scheduler="synchronous", progress=False, device="cpu")
    rows = result.failures[result.failures.subject == "s01"]
    assert len(rows) == 4
    for row in rows.itertuples():
        assert "<in-memory image>" not in row.error_message
        assert "s01/mask.nii.gz" in row.error_message, row.error_message
        if row.roi == "lesion_1":  # the grid mismatch names both files
            assert "not on the grid" in row.error_message
            assert f"s01/{row.image}.nii.gz" in row.error_message, row.error_message
