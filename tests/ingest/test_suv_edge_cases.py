"""`neurorad suv` on series that are not tomographic PET volumes (refused in one line),
de-identified series with shifted dates (injection given on the command line, recorded in
the provenance), and messages naming command-line flags."""
from __future__ import annotations

import json

import numpy as np
import pydicom
import SimpleITK as sitk

from neurorad.cli import main
from tests.ingest.dicom_factory import write_pet_series
from tests.ingest.test_pet_suv import SUV_BW_FACTOR_1H

STORED = (np.arange(24, dtype=np.uint16).reshape(2, 3, 4) * 11 + 5)


def _run(tmp_path, *extra):
    return main(["suv", str(tmp_path / "pet"), "-o", str(tmp_path / "suv.nii.gz"), *extra])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_mip_without_slice_thickness_refused_in_one_line(tmp_path, capsys):
    def mip(k, ds):
        ds.ImageType = ["DERIVED", "SECONDARY", "MIP"]
        del ds.SliceThickness

    write_pet_series(tmp_path / "pet", STORED[:1], [1.0], per_slice=mip)
    assert _run(tmp_path) == 2
    err = _one_line_error(capsys)
    assert err.endswith("not a tomographic PET series: ImageType DERIVED\\SECONDARY\\MIP"), err


def test_secondary_capture_refused(tmp_path, capsys):
    paths = write_pet_series(tmp_path / "pet", STORED, [1.0, 1.0])
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        del ds.ImagePositionPatient, ds.ImageOrientationPatient
        ds.save_as(path)
    assert _run(tmp_path) == 2
    assert "not a tomographic PET series: a secondary capture" in _one_line_error(capsys)


def test_single_slice_without_slice_thickness_is_read(tmp_path):
    def no_thickness(k, ds):
        ds.SliceThickness = ""

    write_pet_series(tmp_path / "pet", STORED[:1], [2.0], per_slice=no_thickness)
    assert _run(tmp_path) == 0
    suv = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "suv.nii.gz")))
    np.testing.assert_allclose(suv, STORED[:1] * 2.0 * SUV_BW_FACTOR_1H, rtol=1e-6)


def test_shifted_dates_need_the_injection_given_and_record_it(tmp_path, capsys):
    # de-identification shifted the injection date by a day, not the series date: the
    # injection seems to follow the scan (11:00 on the 11th vs 10:00 on the 12th)
    write_pet_series(tmp_path / "pet", STORED, [1.0, 3.0], injection_dt="20230612100000",
                     injection="100000")
    assert _run(tmp_path) == 2
    err = _one_line_error(capsys)
    assert "the injection is after the scan start" in err
    assert "--injection-time and --injection-date" in err and "_date=" not in err
    assert _run(tmp_path, "--injection-date", "2023-06-11") == 0
    suv = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "suv.nii.gz")))
    expected = STORED * np.array([1.0, 3.0])[:, None, None] * SUV_BW_FACTOR_1H  # 1 h decay
    np.testing.assert_allclose(suv, expected, rtol=1e-6)
    provenance = json.loads((tmp_path / "suv.provenance.json").read_text())
    assert provenance["overrides"] == {"--injection-date": "2023-06-11"}
    # a time given alone moves the injection within the day of the header's date
    assert _run(tmp_path, "--injection-date", "2023-06-11", "--injection-time", "10:30") == 0
    suv = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "suv.nii.gz")))
    half_hour = 70000.0 / (370e6 * 2.0 ** (-1800 / 6586.2))
    np.testing.assert_allclose(suv, STORED * np.array([1.0, 3.0])[:, None, None] * half_hour,
                               rtol=1e-6)
    assert _run(tmp_path, "--injection-time", "25:00") == 2
    assert "--injection-time '25:00': time out of range" in _one_line_error(capsys)


def test_messages_name_command_line_flags(tmp_path, capsys):
    write_pet_series(tmp_path / "pet", STORED, [1.0, 1.0], height=None, weight=None)
    assert _run(tmp_path) == 2
    assert "give the weight with --weight-kg" in _one_line_error(capsys)
    assert _run(tmp_path, "--weight-kg", "70", "--kind", "lbm") == 2
    assert "give it in m with --height-m" in _one_line_error(capsys)
