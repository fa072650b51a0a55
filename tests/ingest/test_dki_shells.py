"""DKI shell selection (b_max) on dipy's small_101D (b up to 4065 s/mm^2), and NaN
directions on b = 0 rows. Expected selections are counted from the bvals file with NumPy;
maps are compared with one dipy fit on those volumes."""
from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from neurorad.cli import main
from neurorad.ingest.dki import fit_maps, select_shells
from neurorad.io.dwi import DwiError, gradient_table, read_dwi, read_gradient_table


@pytest.fixture(scope="module")
def small_101d():
    from dipy.data import get_fnames

    return read_dwi(*get_fnames(name="small_101D"))


def test_select_shells_by_hand():
    bvals = np.array([0, 10, 1000, 1005, 2000, 2990, 3040, 3060, 4000])
    selection = select_shells(bvals)
    assert selection.keep.tolist() == [True] * 7 + [False] * 2
    assert selection.used == (1000.0, 2000.0, 3000.0)
    assert selection.dropped == (3100.0, 4000.0)
    assert select_shells(bvals, None).keep.all()
    assert "7 of 9 volumes; shells used 1000, 2000, 3000; dropped 3100, 4000" in \
        selection.describe()


def test_default_fit_uses_only_b_up_to_3000(small_101d):
    import dipy.reconst.dki as dki

    bvals = small_101d.bvals
    low = (bvals <= 50) | (bvals <= 3050)
    assert 0 < (~low).sum() and bvals.max() > 4000       # small_101D goes beyond b_max
    data = small_101d.data[:2]
    maps = fit_maps(data, bvals, small_101d.bvecs, scheduler="synchronous")
    fit = dki.DiffusionKurtosisModel(gradient_table(bvals[low], small_101d.bvecs[low])).fit(
        data[..., low])
    np.testing.assert_allclose(maps["MD"], fit.md, rtol=1e-10)
    np.testing.assert_allclose(maps["MK"], fit.mk(min_kurtosis=0, max_kurtosis=3), rtol=1e-10)
    every = fit_maps(data, bvals, small_101d.bvecs, scheduler="synchronous", b_max=None)
    full = dki.DiffusionKurtosisModel(gradient_table(bvals, small_101d.bvecs)).fit(data)
    np.testing.assert_allclose(every["MD"], full.md, rtol=1e-10)
    assert not np.allclose(every["MD"], maps["MD"], rtol=1e-3)


def test_nan_direction_on_b0_rows_is_accepted(tmp_path, caplog):
    (tmp_path / "dwi.bval").write_text("0 1000 2000 0\n")
    (tmp_path / "dwi.bvec").write_text("nan 1 0 NaN\nnan 0 1 NaN\nnan 0 0 NaN\n")
    caplog.set_level(logging.WARNING)
    bvals, bvecs = read_gradient_table(tmp_path / "dwi.bval", tmp_path / "dwi.bvec")
    np.testing.assert_array_equal(bvecs, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert "2 b = 0 volume(s) have NaN directions; set to 0" in caplog.text
    (tmp_path / "dwi.bvec").write_text("0 nan 0 0\n0 nan 1 0\n0 nan 0 0\n")
    with pytest.raises(DwiError, match=r"1 diffusion-weighted volume\(s\) have NaN directions "
                                       r"\(e.g. volume 1, b = 1000\)"):
        read_gradient_table(tmp_path / "dwi.bval", tmp_path / "dwi.bvec")


def test_dki_command_reports_shells_in_provenance(tmp_path, capsys):
    from dipy.data import get_fnames

    dwi, bval, bvec = get_fnames(name="small_101D")
    shutil.copy(dwi, tmp_path / "dwi.nii.gz")
    shutil.copy(bval, tmp_path / "dwi.bval")
    shutil.copy(bvec, tmp_path / "dwi.bvec")
    bvals = np.loadtxt(bval)
    kept = int(((bvals <= 50) | (bvals <= 3050)).sum())
    dropped = sorted({float(v) for v in np.round(bvals[bvals > 3050], -2)})
    mask = tmp_path / "mask.nii.gz"
    import nibabel as nib

    m = np.zeros((6, 10, 10), np.uint8)
    m[2:4, 4:6, 4:6] = 1
    nib.save(nib.Nifti1Image(m, nib.load(dwi).affine), str(mask))
    assert main(["dki", str(tmp_path / "dwi.nii.gz"), "--mask", str(mask), "-o",
                 str(tmp_path / "maps"), "--scheduler", "synchronous"]) == 0
    out = capsys.readouterr().out
    assert f"b <= 3000 s/mm^2: {kept} of {bvals.size} volumes" in out
    provenance = json.loads((tmp_path / "maps" / "dki_provenance.json").read_text())
    assert provenance["b_max"] == 3000.0 and provenance["volumes_used"] == kept
    assert provenance["shells_dropped"] == dropped


def test_validate_notes_nan_b0_directions(tmp_path):
    from dipy.data import get_fnames

    from neurorad.io.dwi import dwi_problems

    dwi, bval, bvec = get_fnames(name="small_101D")
    bvals = np.loadtxt(bval)
    vecs = np.loadtxt(bvec)
    vecs = vecs if vecs.shape[0] == 3 else vecs.T
    vecs[:, bvals <= 50] = np.nan                      # the b = 0 rows, as some converters
    np.savetxt(tmp_path / "nan.bvec", vecs)
    problems = dwi_problems(dwi, bval, tmp_path / "nan.bvec")
    n_b0 = int((bvals <= 50).sum())
    assert problems == [("warning", tmp_path / "nan.bvec", f"dwi bvecs: {n_b0} b = 0 volume(s) "
                         "have NaN directions; set to 0")]
