"""SUV from DICOM PET headers against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad.ingest.pet_suv import (SuvError, body_surface_area_m2, lean_body_mass_kg, parse_dicom_time,
                          suv_image)
from tests.ingest.dicom_factory import write_pet_series

SHAPE = (3, 4, 5)
SLOPES = [0.5, 1.25, 2.0]
# 70 kg, 370 MBq F-18 (T1/2 6586.2 s), scan 1 h after injection:
# decay factor 2^(-3600 / 6586.2) = 0.68463292 (computed by hand, then checked with bc);
# SUVbw factor = 70000 g / (370e6 Bq * 0.68463292) = 2.7633668e-4 ml/Bq... per Bq/ml.
SUV_BW_FACTOR_1H = 70000.0 / (370e6 * 0.6846329196)


def _stored():
    return (np.arange(np.prod(SHAPE), dtype=np.uint16).reshape(SHAPE) * 97 + 13)


def _activity():
    return _stored().astype(float) * np.asarray(SLOPES)[:, None, None]


def _suv_array(folder, **kw):
    return sitk.GetArrayFromImage(suv_image(folder, **kw))


def test_suv_bw_start_matches_hand_value(tmp_path):
    write_pet_series(tmp_path, _stored(), SLOPES)
    np.testing.assert_allclose(_suv_array(tmp_path), _activity() * SUV_BW_FACTOR_1H, rtol=1e-9)
    assert SUV_BW_FACTOR_1H == pytest.approx(2.7633668e-4, rel=1e-7)


def test_geometry_and_slice_order_from_shuffled_files(tmp_path):
    write_pet_series(tmp_path, _stored(), SLOPES, shuffle=True)
    image = suv_image(tmp_path)
    assert image.GetSize() == (5, 4, 3)
    assert image.GetSpacing() == pytest.approx((2.0, 2.5, 3.0))
    assert image.GetOrigin() == pytest.approx((-10.0, -8.0, 20.0))
    assert image.GetDirection() == pytest.approx((1, 0, 0, 0, 1, 0, 0, 0, 1))
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), _activity() * SUV_BW_FACTOR_1H,
                               rtol=1e-9)


@pytest.mark.parametrize("injection, injection_dt, series_date, series_time", [
    # injection 23:30 the day before, scan 00:30: only times -> the day wraps
    ("233000", None, "20230612", "003000"),
    # with the injection date given, the date difference decides
    ("233000", "20230611233000", "20230612", "003000"),
    # no series date at all: times only
    ("233000", None, None, "003000"),
])
def test_midnight_crossing(tmp_path, injection, injection_dt, series_date, series_time):
    write_pet_series(tmp_path, _stored(), SLOPES, injection=injection, injection_dt=injection_dt,
                     series_date=series_date, series_time=series_time)
    np.testing.assert_allclose(_suv_array(tmp_path), _activity() * SUV_BW_FACTOR_1H, rtol=1e-9)


def test_admin_decay_correction_has_no_decay_factor(tmp_path):
    write_pet_series(tmp_path, _stored(), SLOPES, decay="ADMIN")
    np.testing.assert_allclose(_suv_array(tmp_path), _activity() * 70000.0 / 370e6, rtol=1e-9)


def test_no_decay_correction_uses_each_slice_acquisition_time(tmp_path):
    # slices acquired 0, 30 and 60 min after injection
    times = ["100000", "103000", "110000"]
    write_pet_series(tmp_path, _stored(), SLOPES, decay="NONE", corrected=("ATTN",),
                     acquisition_times=times)
    factors = [70000.0 / (370e6 * 2.0 ** (-dt / 6586.2)) for dt in (0.0, 1800.0, 3600.0)]
    np.testing.assert_allclose(_suv_array(tmp_path),
                               _activity() * np.asarray(factors)[:, None, None], rtol=1e-9)


def test_series_time_after_acquisition_uses_earliest_acquisition(tmp_path):
    # series re-created at 12:00 after a scan acquired from 11:00: the scan started at 11:00
    write_pet_series(tmp_path, _stored(), SLOPES, series_time="120000",
                     acquisition_times=["110000", "110500", "111000"])
    np.testing.assert_allclose(_suv_array(tmp_path), _activity() * SUV_BW_FACTOR_1H, rtol=1e-9)


def test_lbm_and_bsa_variants(tmp_path):
    write_pet_series(tmp_path, _stored(), SLOPES)
    decayed_dose = 370e6 * 0.6846329196
    # Janmahasatian, male 70 kg 1.75 m: BMI 22.857, 9270*70/(6680+216*22.857) = 55.8571 kg
    lbm = _suv_array(tmp_path, kind="lbm")
    np.testing.assert_allclose(lbm, _activity() * 55857.1077 / decayed_dose, rtol=1e-7)
    # James, male: 1.10*70 - 128*(70/175)^2 = 77 - 20.48 = 56.52 kg
    james = _suv_array(tmp_path, kind="lbm-james")
    np.testing.assert_allclose(james, _activity() * 56520.0 / decayed_dose, rtol=1e-9)
    # Du Bois: 0.007184 * 70^0.425 * 175^0.725 = 1.848143 m^2 = 18481.43 cm^2
    bsa = _suv_array(tmp_path, kind="bsa")
    np.testing.assert_allclose(bsa, _activity() * 18481.43 / decayed_dose, rtol=1e-6)


def test_body_size_formulas_by_hand():
    assert lean_body_mass_kg(70, 1.75, "M") == pytest.approx(55.857108, rel=1e-7)
    assert lean_body_mass_kg(60, 1.65, "F") == pytest.approx(39.286846, rel=1e-7)
    assert lean_body_mass_kg(70, 1.75, "M", "james") == pytest.approx(56.52)
    assert body_surface_area_m2(70, 1.75) == pytest.approx(1.848143, rel=1e-6)
    with pytest.raises(ValueError, match="PatientSex"):
        lean_body_mass_kg(70, 1.75, "O")
    with pytest.raises(ValueError, match="not positive"):
        lean_body_mass_kg(200, 1.50, "F", "james")   # 214 - 148*(200/150)^2 < 0


def test_dicom_time_forms():
    assert parse_dicom_time("235959.5") == pytest.approx(86399.5)
    assert parse_dicom_time("10:30:00") == 37800.0
    assert parse_dicom_time("1030") == 37800.0
    with pytest.raises(ValueError):
        parse_dicom_time("2561")


@pytest.mark.parametrize("change, tag", [
    ({"weight": None}, "PatientWeight"),
    ({"dose": None}, "RadionuclideTotalDose"),
    ({"units": None}, "Units"),
    ({"units": "CNTS"}, "Units"),
    ({"decay": None}, "DecayCorrection"),
    ({"injection": None, "injection_dt": None}, "RadiopharmaceuticalStartTime"),
    ({"dose": 370.0}, "RadionuclideTotalDose"),                 # MBq written as Bq
    ({"weight": 70000.0}, "PatientWeight"),                     # grams
    ({"corrected": ("ATTN",)}, "CorrectedImage"),               # START but no DECY
    ({"injection_dt": "20230611103000"}, "RadiopharmaceuticalStartDateTime"),  # != StartTime
    # injection dated after the scan
    ({"injection_dt": "20230612100000", "series_date": "20230611"}, "after the scan"),
    # scan dated 3 days after an F-18 injection: > 10 half-lives
    ({"series_date": "20230614"}, "half-lives"),
])
def test_missing_or_inconsistent_tags_name_the_tag(tmp_path, change, tag):
    write_pet_series(tmp_path, _stored(), SLOPES, **change)
    with pytest.raises(SuvError, match=tag):
        suv_image(tmp_path, subject="pet-007")


def test_tag_differing_between_slices(tmp_path):
    def heavier_last_slice(k, ds):
        if k == 2:
            ds.PatientWeight = 71.0
    write_pet_series(tmp_path, _stored(), SLOPES, per_slice=heavier_last_slice)
    with pytest.raises(SuvError, match="PatientWeight is inconsistent"):
        suv_image(tmp_path, subject="pet-007")


def test_lbm_needs_height_and_sex(tmp_path):
    write_pet_series(tmp_path, _stored(), SLOPES, height=None, sex="O")
    with pytest.raises(SuvError, match="PatientSize"):
        suv_image(tmp_path, kind="lbm")
    with pytest.raises(SuvError, match="PatientSex"):
        suv_image(tmp_path, kind="lbm", height_m=1.75)
    # overrides from the clinical record
    lbm = _suv_array(tmp_path, kind="lbm", height_m=1.75, sex="M")
    np.testing.assert_allclose(lbm, _activity() * 55857.1077 / (370e6 * 0.6846329196), rtol=1e-7)


def test_error_names_subject_not_patient(tmp_path):
    write_pet_series(tmp_path, _stored(), SLOPES, weight=None)
    with pytest.raises(SuvError) as info:
        suv_image(tmp_path, subject="pet-007", data_root=tmp_path.parent)
    text = str(info.value)
    assert "pet-007" in text and tmp_path.name in text
    assert "Doe" not in text and "MRN" not in text and "2023" not in text
