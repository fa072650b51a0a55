"""`neurorad suv`, `neurorad dki`, `neurorad rt-masks` end to end, and the privacy check:
no identifier of the test series reaches any output file, stdout or stderr."""
from __future__ import annotations

import logging
import shutil

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from neurorad.cli import main
from tests.ingest.dicom_factory import (IDENTIFIERS, write_mr_series, write_pet_series,
                                        write_rtstruct)
from tests.ingest.test_dicom_rt import ORIGIN, SHAPE, SPACING, _rectangle


def _stored():
    return (np.arange(60, dtype=np.uint16).reshape(3, 4, 5) * 50 + 7)


def test_suv_command_writes_hand_computed_suv(tmp_path, capsys):
    write_pet_series(tmp_path / "pet", _stored(), [1.0, 2.0, 4.0], decay="ADMIN")
    assert main(["suv", str(tmp_path / "pet"), "-o", str(tmp_path / "suv.nii.gz")]) == 0
    suv = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "suv.nii.gz")))
    # ADMIN: no decay; SUVbw = activity * 70000 g / 370e6 Bq
    expected = _stored() * np.array([1.0, 2.0, 4.0])[:, None, None] * 70000.0 / 370e6
    np.testing.assert_allclose(suv, expected, rtol=1e-6)
    assert "wrote" in capsys.readouterr().out


def test_suv_command_error_names_tag(tmp_path, capsys):
    write_pet_series(tmp_path / "pet", _stored(), [1.0, 1.0, 1.0], dose=None)
    assert main(["suv", str(tmp_path / "pet"), "-o", str(tmp_path / "x.nii.gz"),
                 "--subject", "pet-001"]) == 2
    err = capsys.readouterr().err
    assert "RadionuclideTotalDose" in err and "pet-001" in err
    assert not (tmp_path / "x.nii.gz").exists()


def test_dki_command_writes_maps_on_the_dwi_grid(tmp_path, capsys):
    from dipy.data import get_fnames

    dwi, bval, bvec = get_fnames(name="small_101D")
    # dcm2niix naming: the gradient files are found beside the image
    shutil.copy(dwi, tmp_path / "dwi.nii.gz")
    shutil.copy(bval, tmp_path / "dwi.bval")
    shutil.copy(bvec, tmp_path / "dwi.bvec")
    mask = np.zeros((6, 10, 10), np.uint8)
    mask[1:5, 2:8, 2:8] = 1
    affine = nib.load(dwi).affine
    nib.save(nib.Nifti1Image(mask, affine), str(tmp_path / "mask.nii.gz"))
    assert main(["dki", str(tmp_path / "dwi.nii.gz"), "--mask", str(tmp_path / "mask.nii.gz"),
                 "-o", str(tmp_path / "maps"), "--chunks", "2", "--scheduler",
                 "synchronous"]) == 0
    assert "144 voxels fitted" in capsys.readouterr().out          # 4 * 6 * 6
    for name in ("AK", "AWF", "AxEAD", "FA", "MD", "KA", "MK", "RadEAD", "RK", "TORT"):
        image = nib.load(str(tmp_path / "maps" / f"{name}.nii.gz"))
        assert image.shape == (6, 10, 10)
        np.testing.assert_allclose(image.affine, affine, atol=1e-5)
        values = np.asarray(image.dataobj)
        assert np.all(np.isfinite(values)) and np.all(values[mask == 0] == 0)
    md = np.asarray(nib.load(str(tmp_path / "maps" / "MD.nii.gz")).dataobj)
    assert np.all(md[mask == 1] > 0)
    wm = np.asarray(nib.load(str(tmp_path / "maps" / "wm_model_mask.nii.gz")).dataobj)
    fa = np.asarray(nib.load(str(tmp_path / "maps" / "FA.nii.gz")).dataobj)
    np.testing.assert_array_equal(wm.astype(bool), (fa > 0.4) & (mask == 1))


def test_dki_command_reports_bad_gradient_table(tmp_path, capsys):
    from dipy.data import get_fnames

    dwi, bval, _ = get_fnames(name="small_101D")
    (tmp_path / "short.bvec").write_text("1 0 0\n0 1 0\n0 0 1\n")
    assert main(["dki", str(dwi), "--bvals", str(bval), "--bvecs", str(tmp_path / "short.bvec"),
                 "-o", str(tmp_path / "maps")]) == 2
    assert "short.bvec: 3 directions but 102 b-values" in capsys.readouterr().err


def test_rt_masks_command(tmp_path, capsys):
    frame_uid, _, _ = write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    write_rtstruct(tmp_path / "rs.dcm", frame_uid, {
        "GTV": [_rectangle(1.5, 5.5, 2.5, 5.5, 1)], "brain stem": [_rectangle(6.5, 8.5, 0.5, 2.5, 3)]})
    assert main(["rt-masks", str(tmp_path / "rs.dcm"), "--reference", str(tmp_path / "mr"),
                 "-o", str(tmp_path / "labels.nii.gz")]) == 0
    out = capsys.readouterr().out
    assert 'rois: {"GTV": 1, "brain stem": 2}' in out
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "labels.nii.gz")))
    assert (labels == 1).sum() == 12 and (labels == 2).sum() == 4


def test_no_identifier_reaches_outputs_or_logs(tmp_path, capsys, caplog):
    """Run every command on series carrying IDENTIFIERS (good and broken) and scan every
    byte written and printed for them."""
    caplog.set_level(logging.DEBUG)
    write_pet_series(tmp_path / "pet", _stored(), [1.0, 1.0, 1.0])
    write_pet_series(tmp_path / "bad_pet", _stored(), [1.0, 1.0, 1.0], weight=None)
    frame_uid, _, _ = write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    write_rtstruct(tmp_path / "rs.dcm", frame_uid, {"GTV": [_rectangle(1.5, 5.5, 2.5, 5.5, 1)]})
    out = tmp_path / "out"
    codes = [main(["suv", str(tmp_path / "pet"), "-o", str(out / "suv.nii.gz"),
                   "--kind", "lbm"]),
             main(["suv", str(tmp_path / "bad_pet"), "-o", str(out / "bad.nii.gz")]),
             main(["rt-masks", str(tmp_path / "rs.dcm"), "--reference", str(tmp_path / "mr"),
                   "-o", str(out / "labels.nii.gz")]),
             main(["rt-masks", str(tmp_path / "rs.dcm"), "--reference", str(tmp_path / "mr"),
                   "-o", str(out / "none.nii.gz"), "--roi", "PTV"])]
    assert codes == [0, 2, 0, 2]  # bad input: exit code 2 (neurorad.errors)
    captured = capsys.readouterr()
    texts = [captured.out, captured.err, caplog.text]
    blobs = [p.read_bytes() for p in out.rglob("*") if p.is_file()]
    for p in out.rglob("*.nii.gz"):
        blobs.append(nib.load(str(p)).header.binaryblock)   # descrip/aux_file, uncompressed
    needles = list(IDENTIFIERS.values()) + ["Doe", "98765", "1961"]
    for needle in needles:
        for text in texts:
            assert needle not in text, needle
        for blob in blobs:
            assert needle.encode() not in blob, needle
    assert len(blobs) >= 4
    # the needles are really in the inputs, in the encoding searched for
    assert all(n.encode() in (tmp_path / "rs.dcm").read_bytes() for n in IDENTIFIERS.values())


def test_dki_command_rejects_mask_off_the_dwi_grid(tmp_path, capsys):
    from dipy.data import get_fnames

    dwi, bval, bvec = get_fnames(name="small_101D")
    nib.save(nib.Nifti1Image(np.ones((6, 10, 9), np.uint8), np.eye(4)),
             str(tmp_path / "mask.nii.gz"))
    assert main(["dki", str(dwi), "--bvals", str(bval), "--bvecs", str(bvec), "--mask",
                 str(tmp_path / "mask.nii.gz"), "--subject", "s-02",
                 "-o", str(tmp_path / "maps")]) == 2
    err = capsys.readouterr().err
    assert "subject s-02" in err and "mask is not on the DWI grid" in err
    assert not (tmp_path / "maps").exists()
