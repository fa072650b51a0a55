"""A case whose ROI re-segmentation empties (a CT range in HU on other intensities) is
failed, never counted as computed, and its message names subject, ROI and image."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import neurorad
from neurorad.batch import extract_manifest
from neurorad.errors import EmptyROIError
from neurorad.io.manifest import load_manifest
from tests.batch.batch_helpers import make_cohort


def test_roi_emptied_by_resegmentation_fails_the_case(tmp_path):
    # subject i has intensities N(100 (i + 1), 10): s01 ~ 100 lies inside the CT-A range
    # [-500, 400] HU, s05 ~ 500 lies above it (10 standard deviations: no voxel left)
    cohort = make_cohort(tmp_path / "data", n_subjects=5, seed=1)
    for (sid, _), array in cohort.arrays.items():
        inside = (np.round(array) >= -500) & (np.round(array) <= 400)
        assert inside.all() if sid == "s01" else True
        assert not inside.any() if sid == "s05" else True
    settings = neurorad.load_settings("ibsi-ct-a")
    result = extract_manifest(load_manifest(cohort.manifest), settings, tmp_path / "out",
                              scheduler="synchronous", progress=False)
    failures = result.failures
    s05 = failures[failures.subject == "s05"]
    assert len(s05) == 4                                     # 2 images x 2 ROIs
    assert set(s05.error_type) == {"EmptyROIError"}
    row = s05[(s05.roi == "lesion_2") & (s05.image == "T2")].iloc[0]
    assert row.error_message.startswith(
        "subject s05, ROI 'lesion_2', image s05/T2.nii.gz, mask s05/mask.nii.gz: ROI label 2: "
        "no voxel left after re-segmentation")
    assert "s05" not in set(result.features.subject)
    assert "s01" in set(result.features.subject)
    assert result.n_computed + result.n_failed == result.n_cases
    assert result.provenance["counts"]["failed"] == result.n_failed


def test_extract_features_on_empty_raise():
    image = np.full((3, 5, 5), 900.0)
    mask = np.zeros(image.shape, np.uint8)
    mask[1, 1:4, 1:4] = 1
    img, msk = sitk.GetImageFromArray(image), sitk.GetImageFromArray(mask)
    with pytest.warns(RuntimeWarning, match="no voxel left"):
        features = neurorad.extract_features(img, msk, "ibsi-ct-a")
    assert np.isnan(features["stat_mean"])
    with pytest.raises(EmptyROIError, match=r"range \[-500.0, 400.0\].*CT preset"):
        neurorad.extract_features(img, msk, "ibsi-ct-a", on_empty="raise")


def _warning_extractor(image, mask, settings, *, label, device):
    import warnings

    warnings.warn(f"ROI label {label}: a feature is undefined", RuntimeWarning)
    return {"n": 1.0}


def test_warnings_of_a_case_name_subject_roi_and_image(tmp_path, caplog):
    import logging

    cohort = make_cohort(tmp_path / "data", n_subjects=2)
    caplog.set_level(logging.WARNING, logger="neurorad.batch")
    result = extract_manifest(load_manifest(cohort.manifest), neurorad.load_settings(
        "ibsi-phantom"), tmp_path / "out", scheduler="synchronous", progress=False,
        extractor=_warning_extractor)
    assert result.n_failed == 0
    messages = [r.getMessage() for r in caplog.records if "undefined" in r.getMessage()]
    assert ("subject s01, ROI 'lesion_2', image T2 (s01/T2.nii.gz): ROI label 2: a feature "
            "is undefined") in messages
    assert len(messages) == 8                     # 2 subjects x 2 ROIs x 2 images, named
