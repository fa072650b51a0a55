"""DICOM series with a missing or duplicate slice are refused (never stacked with a stretched
spacing), naming the series, the positions and the gap; an explicit option reads them with a
warning. Positions expected here follow from how the test series are written
(z = 20 + 2 k mm for slice k), not from neurorad."""
from __future__ import annotations

import logging
import shutil

import numpy as np
import pydicom
import pytest
import yaml
from pydicom.uid import generate_uid

from neurorad.cli import main
from neurorad.io.dicom_series import spacing_problem
from neurorad.io.images import ImageReadError, read_image
from neurorad.io.validate import validate_manifest
from tests.ingest.dicom_factory import write_mr_series, write_pet_series, write_seg

SHAPE, ORIGIN, SPACING = (6, 5, 4), (-10.0, -8.0, 20.0), (1.0, 1.0, 2.0)


def _series_without_slice(folder, k=3):
    frame_uid, _, _ = write_mr_series(folder, SHAPE, ORIGIN, SPACING)
    (folder / f"mr{k:03d}.dcm").unlink()
    return frame_uid


def test_spacing_problem_by_hand():
    assert spacing_problem([20, 22, 24, 26]) is None
    assert spacing_problem([26, 20, 24, 22]) is None               # order does not matter
    assert spacing_problem([20.0, 22.0, 22.0005, 24.0]).startswith("1 duplicate slice")
    text = spacing_problem([20, 22, 24, 28, 30])
    assert ("usual gap 2.0000 mm, but a gap of 4.0000 mm between slices 3 and 4 (at 24.0000 "
            "and 28.0000 mm, 1 missing slice(s)?)") in text
    assert spacing_problem([20, 22.01, 24, 26]) is None             # within 1 % of the gap


def test_missing_slice_is_an_error_naming_series_positions_and_gap(tmp_path, caplog):
    _series_without_slice(tmp_path / "mr")
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "mr", subject="sub-7", role="T1", data_root=tmp_path)
    message = str(info.value)
    # slices k = 0..5 at z = 20 + 2k; k = 3 (z = 26) removed: gap 24 -> 28 mm
    assert message.startswith("subject sub-7: T1 file mr: uneven slices:")
    assert "5 slices, usual gap 2.0000 mm" in message
    assert "4.0000 mm between slices 3 and 4 (at 24.0000 and 28.0000 mm" in message
    caplog.set_level(logging.WARNING)
    image = read_image(tmp_path / "mr", allow_uneven_slices=True)
    assert image.GetSize()[2] == 5
    assert "read anyway" in caplog.text


def test_duplicate_slice_is_an_error(tmp_path):
    write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    ds = pydicom.dcmread(tmp_path / "mr" / "mr002.dcm")
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = 99
    ds.save_as(tmp_path / "mr" / "mr002b.dcm")
    with pytest.raises(ImageReadError, match=r"duplicate slice position.*at 24\.0000 mm"):
        read_image(tmp_path / "mr")


def test_validate_blames_the_series_not_the_rtstruct(tmp_path):
    frame_uid = _series_without_slice(tmp_path / "mr")
    tumour = np.zeros(SHAPE, bool)
    tumour[1:3, 1:3, 1:3] = True
    write_seg(tmp_path / "seg.dcm", frame_uid, {"tumour": tumour}, ORIGIN, SPACING)
    manifest = {"neurorad_manifest": 1, "study": "gap", "subjects": [{
        "id": "sub-01", "images": {"T1": {"path": "mr", "format": "dicom"}},
        "masks": {"seg": {"path": "seg.dcm", "format": "dicom-seg"}},
        "rois": {"tumour": {"mask": "seg", "label": "tumour"}}}]}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(manifest))
    report = validate_manifest(tmp_path / "m.yaml")
    (error,) = report.errors
    assert error.file == "mr" and "uneven slices" in error.message


def test_rt_masks_with_a_seg_on_a_gapped_series_fails(tmp_path, capsys):
    frame_uid = _series_without_slice(tmp_path / "mr")
    tumour = np.zeros(SHAPE, bool)
    tumour[1:3, 1:3, 1:3] = True
    write_seg(tmp_path / "seg.dcm", frame_uid, {"tumour": tumour}, ORIGIN, SPACING)
    args = ["rt-masks", str(tmp_path / "seg.dcm"), "--reference", str(tmp_path / "mr"),
            "-o", str(tmp_path / "l.nii.gz")]
    assert main(args) == 2
    assert "uneven slices" in capsys.readouterr().err
    assert main(args + ["--allow-uneven-slices"]) == 0


def test_suv_on_a_gapped_pet_series(tmp_path, capsys):
    stored = np.ones((4, 3, 2), np.uint16)
    paths = write_pet_series(tmp_path / "pet", stored, [1.0] * 4, decay="ADMIN")
    paths[1].unlink()                            # z = 20 + 3k: 20, (23), 26, 29
    out = tmp_path / "suv.nii.gz"
    assert main(["suv", str(tmp_path / "pet"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert ("usual gap 3.0000 mm, but a gap of 6.0000 mm between slices 1 and 2 (at 20.0000 "
            "and 26.0000 mm, 1 missing slice(s)?)") in err
    assert not out.exists()
    with pytest.warns(RuntimeWarning, match="read anyway"):
        assert main(["suv", str(tmp_path / "pet"), "-o", str(out),
                     "--allow-uneven-slices"]) == 0
    shutil.rmtree(tmp_path / "pet")
