"""Manifests listing scanner data (DICOM folders, RTSTRUCT / DICOM-SEG masks by ROI name,
DWI with bvals/bvecs) load, and `neurorad validate` checks their content."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from neurorad.cli import main
from neurorad.io.manifest import load_manifest
from neurorad.io.validate import validate_manifest
from tests.ingest.dicom_factory import (write_mr_series, write_pet_series, write_rtstruct,
                                        write_seg)
from tests.ingest.test_dicom_rt import ORIGIN, SHAPE, SPACING, _rectangle


@pytest.fixture()
def study(tmp_path):
    """One subject: MR (DICOM folder) with an RTSTRUCT and a SEG, PET (DICOM), DWI."""
    from dipy.data import get_fnames

    root = tmp_path / "data"
    sub = root / "sub-01"
    frame_uid, _, _ = write_mr_series(sub / "mr", SHAPE, ORIGIN, SPACING)
    write_rtstruct(sub / "rs.dcm", frame_uid, {
        "GTV": [_rectangle(1.5, 5.5, 2.5, 5.5, 1)], "Brainstem": [_rectangle(6.5, 8.5, 0.5, 2.5, 3)],
        "PTV_empty": [_rectangle(1.5, 5.5, 2.5, 5.5, 9)]})        # slice 9: outside the image
    tumour = np.zeros(SHAPE, bool)
    tumour[1:3, 2:7, 3:6] = True
    write_seg(sub / "seg.dcm", frame_uid, {"tumour": tumour}, ORIGIN, SPACING)
    write_pet_series(sub / "pet", np.ones((3, 4, 5), np.uint16), [1.0, 1.0, 1.0])
    dwi, bval, bvec = get_fnames(name="small_101D")
    shutil.copy(dwi, sub / "dwi.nii.gz")
    shutil.copy(bval, sub / "dwi.bval")
    shutil.copy(bvec, sub / "gradients.txt")
    manifest = {
        "neurorad_manifest": 1, "study": "scanner",
        "subjects": [{
            "id": "sub-01",
            "images": {"T1": {"path": "sub-01/mr", "format": "dicom"}, "PET": "sub-01/pet"},
            "masks": {"rt": {"path": "sub-01/rs.dcm", "format": "rtstruct", "reference": "T1"},
                      "seg": {"path": "sub-01/seg.dcm", "format": "dicom-seg"}},
            "rois": {"gtv": {"mask": "rt", "label": "GTV"},
                     "brainstem": {"mask": "rt", "label": "Brainstem"},
                     "tumour": {"mask": "seg", "label": "tumour"},
                     "tumour_by_number": {"mask": "seg", "label": 1}},
            "dwi": {"path": "sub-01/dwi.nii.gz", "bvecs": "sub-01/gradients.txt"},
        }],
    }
    return root, manifest


def _write(root, manifest):
    path = root / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def _messages(report, severity="error"):
    return [p.message for p in report.problems if p.severity == severity]


def test_scanner_inputs_load_and_validate(study):
    root, manifest = study
    path = _write(root, manifest)
    loaded = load_manifest(path)
    dwi = loaded.subjects[0].dwi
    assert dwi.path == root / "sub-01/dwi.nii.gz"
    assert dwi.bvals == root / "sub-01/dwi.bval"              # dcm2niix default name
    assert dwi.bvecs == root / "sub-01/gradients.txt"
    # the DWI is not an image for feature extraction
    assert {c.image_name for c in loaded.cases()} == {"T1", "PET"}
    report = validate_manifest(path)
    assert report.ok and report.problems == [], str(report)


def test_validate_finds_unknown_structure_and_empty_roi(study):
    root, manifest = study
    manifest["subjects"][0]["rois"]["ptv"] = {"mask": "rt", "label": "PTV_empty"}
    report = validate_manifest(_write(root, manifest))
    assert _messages(report) == ["mask rt: ROI 'ptv' is empty: 'PTV_empty' gives no voxel on the "
                                 "grid of image T1"]
    manifest["subjects"][0]["rois"]["ptv"] = {"mask": "rt", "label": "gtv"}
    report = validate_manifest(_write(root, manifest))
    (message,) = _messages(report)
    assert "rtstruct could not be converted" in message and "did you mean 'GTV'" in message


def test_validate_checks_the_gradient_table(study):
    root, manifest = study
    bvals = root / "sub-01" / "dwi.bval"
    bvals.write_text(" ".join(bvals.read_text(encoding="utf-8").split()[:-1]))     # one b-value short
    report = validate_manifest(_write(root, manifest))
    (problem,) = report.errors
    assert (problem.subject, problem.file) == ("sub-01", "sub-01/gradients.txt")
    assert problem.message == "dwi: 102 directions but 101 b-values in sub-01/dwi.bval"


def test_validate_reports_missing_gradient_file_and_single_shell(study):
    root, manifest = study
    (root / "sub-01" / "gradients.txt").unlink()
    report = validate_manifest(_write(root, manifest))
    assert [(p.file, p.message) for p in report.errors] == [
        ("sub-01/gradients.txt", "dwi bvecs: missing (no such file or folder)")]
    shutil.copy(root / "sub-01" / "dwi.bval", root / "sub-01" / "gradients.txt")
    vecs = np.tile([[1.0], [0.0], [0.0]], 102)
    np.savetxt(root / "sub-01" / "gradients.txt", vecs)
    (root / "sub-01" / "dwi.bval").write_text(" ".join(["0"] * 2 + ["1000"] * 100))
    report = validate_manifest(_write(root, manifest))
    assert report.ok
    assert _messages(report, "warning") == [
        "dwi: DKI cannot be fitted: DKI needs at least two non-zero b-values (shells); got 1000"]


def test_dwi_entry_schema_errors(study):
    root, manifest = study
    manifest["subjects"][0]["dwi"] = {"path": "sub-01/dwi.nii.gz", "bval": "x"}
    report = validate_manifest(_write(root, manifest))
    assert "subjects[0] (sub-01).dwi: unknown key 'bval' (did you mean 'bvals'?)" in \
        _messages(report)


def test_validate_command_on_scanner_manifest(study, capsys):
    root, manifest = study
    assert main(["validate", str(_write(root, manifest)), "--no-progress"]) == 0
    assert "OK: 0 error(s), 0 warning(s)" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # constant-intensity ROI: NaN features
def test_batch_extraction_from_rtstruct_roi_without_identifiers(study):
    """The batch layer fills the RTSTRUCT on the DICOM image: the GTV (4 x 3 voxels on
    one slice of 1 x 1 x 2 mm voxels) has a voxel-count volume of 12 x 2 = 24 mm^3. No identifier
    of the DICOM headers appears in any file written."""
    import pandas as pd

    import neurorad
    from neurorad.batch import extract_manifest
    from tests.ingest.dicom_factory import IDENTIFIERS

    root, manifest = study
    subject = manifest["subjects"][0]
    subject["images"] = {"T1": subject["images"]["T1"]}
    subject["rois"] = {"gtv": {"mask": "rt", "label": "GTV"}}
    del subject["masks"]["seg"]
    result = extract_manifest(load_manifest(_write(root, manifest)),
                              neurorad.load_settings("ibsi-phantom"), root / "out",
                              scheduler="synchronous", progress=False)
    assert result.n_failed == 0
    features = pd.read_parquet(result.features_path)
    volume = features.loc[features.feature == "morph_vol_approx", "value"]
    assert volume.tolist() == [24.0]
    for path in (root / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(v.encode() in data for v in IDENTIFIERS.values()), path.name
