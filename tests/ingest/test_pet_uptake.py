"""Uptake ratios, contralateral reference VOI, and SUV of the synthetic PET cohort."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad.ingest.pet_suv import contralateral_reference, left_right_axis, suv_image, uptake_index


def _phantom():
    suv = np.ones((2, 4, 6))
    tumour = np.zeros(suv.shape, bool)
    reference = np.zeros(suv.shape, bool)
    tumour[0, 1, 1:3] = True
    suv[0, 1, 1:3] = [3.0, 5.0]
    tumour[1, 1, 1] = True
    suv[1, 1, 1] = 1.5
    reference[:, 2:4, 3:6] = True
    suv[:, 2:4, 3:6] = 1.0
    suv[0, 3, 5] = 2.0          # reference: eleven voxels of 1 and one of 2 -> mean 13/12
    return suv, tumour, reference


def test_tbr_by_hand():
    suv, tumour, reference = _phantom()
    result = uptake_index(suv, tumour, reference)
    ref = 13.0 / 12.0
    assert result["reference_mean"] == pytest.approx(ref)
    assert result["tbr_max"] == pytest.approx(5.0 / ref)
    assert result["tbr_mean"] == pytest.approx((3.0 + 5.0 + 1.5) / 3 / ref)
    # threshold 1.6 x 13/12 = 1.733: the 1.5 voxel drops out
    hot = uptake_index(suv, tumour, reference, threshold=1.6)
    assert hot["tbr_mean"] == pytest.approx(4.0 / ref)
    assert hot["n_tumour_voxels"] == 2
    assert np.isnan(uptake_index(suv, tumour, reference, threshold=10)["tbr_mean"])


def test_tbr_rejects_bad_masks():
    suv, tumour, reference = _phantom()
    with pytest.raises(ValueError, match="overlap"):
        uptake_index(suv, tumour, tumour)
    with pytest.raises(ValueError, match="empty"):
        uptake_index(suv, np.zeros_like(tumour), reference)
    with pytest.raises(ValueError, match="do not match"):
        uptake_index(suv, tumour[:1], reference)


def test_contralateral_reference_mirrors_across_brain_midline():
    brain = np.zeros((1, 3, 10), bool)
    brain[:, :, 1:9] = True                 # centre of mass x = 4.5
    tumour = np.zeros_like(brain)
    tumour[0, 1, 2:4] = True                # x 2, 3 -> 7, 6
    ref = contralateral_reference(tumour, brain)
    expected = np.zeros_like(brain)
    expected[0, 1, 6:8] = True
    np.testing.assert_array_equal(ref, expected)
    # restricted to the brain, and never the tumour itself
    tumour2 = np.zeros_like(brain)
    tumour2[0, 0, 0:2] = True               # x 0, 1 -> 9, 8: only 8 is brain
    np.testing.assert_array_equal(np.nonzero(contralateral_reference(tumour2, brain))[2], [8])
    crossing = np.zeros_like(brain)
    crossing[0, 2, 4:7] = True              # x 4, 5, 6 -> 5, 4, 3: only 3 is not tumour
    np.testing.assert_array_equal(np.nonzero(contralateral_reference(crossing, brain))[2], [3])
    with pytest.raises(ValueError, match="outside the brain"):
        contralateral_reference(tumour, np.zeros_like(brain) | (np.arange(10) == 2))


def test_left_right_axis_of_a_sagittal_image():
    image = sitk.Image(4, 5, 6, sitk.sitkUInt8)
    assert left_right_axis(image) == 2          # axial, identity: x is the last array axis
    # sagittal: index axis 2 (slices) runs along patient x
    image.SetDirection((0, 0, 1, 1, 0, 0, 0, 1, 0))
    assert left_right_axis(image) == 0


@pytest.fixture(scope="module")
def pet_cohort(tmp_path_factory):
    from neurorad.synth.cohort import make_cohort

    out = tmp_path_factory.mktemp("pet")
    manifest = make_cohort("pet", out, seed=3, n_subjects=2, workers=1, progress=False)
    return manifest.parent


def test_suv_of_synthetic_dicom_equals_its_suv_nifti(pet_cohort):
    subject = sorted(p for p in pet_cohort.iterdir() if (p / "dicom").is_dir())[0]
    ours = suv_image(subject / "dicom")
    written = sitk.ReadImage(str(subject / "suv.nii.gz"))
    assert ours.GetSize() == written.GetSize()
    assert ours.GetSpacing() == pytest.approx(written.GetSpacing())
    assert ours.GetOrigin() == pytest.approx(written.GetOrigin())
    np.testing.assert_allclose(sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(written),
                               rtol=2e-6, atol=1e-6)   # the NIfTI is float32


def test_tbr_of_synthetic_cohort_matches_its_targets(pet_cohort):
    """The cohort's tbr_max / tbr_mean targets were computed by the generator from its own
    SUV array (the manifest keeps 4 decimals); ours come from the DICOM series."""
    import yaml

    raw = yaml.safe_load((pet_cohort / "manifest.yaml").read_text(encoding="utf-8"))
    targets = {s["id"]: s["targets"] for s in raw["subjects"]}
    subject = sorted(p for p in pet_cohort.iterdir() if (p / "dicom").is_dir())[0]
    suv = sitk.GetArrayFromImage(suv_image(subject / "dicom"))
    voi = sitk.GetArrayFromImage(sitk.ReadImage(str(subject / "voi.nii.gz")))
    result = uptake_index(suv, voi == 1, voi == 2, threshold=1.3)
    assert result["tbr_max"] == pytest.approx(targets[subject.name]["tbr_max"], abs=5.1e-5)
    assert result["tbr_mean"] == pytest.approx(targets[subject.name]["tbr_mean"], abs=5.1e-5)
