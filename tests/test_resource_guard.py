"""Resource guard (neurorad.preprocess.guard) and resampling on the ROI's box.

Grey-level counts are worked out by hand from the IBSI formulas; the box resampling is
compared with resampling the whole image and cropping afterwards (the reference path)."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import neurorad
from neurorad.errors import EXIT_RESOURCE, ResourceLimitError
from neurorad.preprocess.guard import check_grey_levels, estimated_grey_levels
from neurorad.preprocess.pipeline import PEAK_RADIUS_MM, crop_to_roi, preprocess_roi
from neurorad.preprocess.resample import resample_roi, roi_subgrid
from neurorad.settings.schema import Discretisation


def _pet_case(shape=(12, 14, 16)):
    """A PET-like image in Bq/ml spanning 116,200-2,252,800 inside a cubic ROI."""
    rng = np.random.default_rng(3)
    image = rng.uniform(116200, 2252800, shape)
    mask = np.zeros(shape, np.uint8)
    mask[3:9, 4:10, 5:11] = 1
    image[4, 5, 6], image[5, 6, 7] = 116200.0, 2252800.0      # the ROI's extremes
    img = sitk.GetImageFromArray(image)
    img.SetSpacing((2.0, 2.0, 3.0))
    msk = sitk.GetImageFromArray(mask)
    msk.CopyInformation(img)
    return img, msk


def test_grey_levels_by_hand():
    fbs = Discretisation(method="fbs", bin_width=25.0)
    # floor((2252800 - 116200) / 25) + 1 = 85464 + 1
    assert estimated_grey_levels(fbs, 116200, 2252800) == 85465
    aligned = Discretisation(method="fbs_aligned", bin_width=25.0)
    assert estimated_grey_levels(aligned, 116210, 2252800) == 90112 - 4648 + 1
    assert estimated_grey_levels(Discretisation(method="none"), 1, 5.0) == 5
    assert estimated_grey_levels(Discretisation(method="fbn", n_bins=32), 0, 1e9) == 32
    with pytest.raises(ResourceLimitError) as info:
        check_grey_levels([Discretisation(method="fbn", n_bins=16), fbs], 116200, 2252800)
    message = str(info.value)
    assert message.startswith("discretisation[1] fixed bin size (bin width 25) on intensities "
                              "116200-2252800 gives 85,465 grey levels (limit 4,096")
    assert "use a fixed bin number (method fbn" in message and "at least 522" in message


def test_extraction_fails_with_the_setting_named_not_memoryerror():
    image, mask = _pet_case()
    settings = neurorad.load_settings("ibsi-phantom").to_dict()
    settings["discretisation"] = [{"method": "fbs", "bin_width": 25}]
    settings["resegment"] = {"range": [None, None]}
    with pytest.raises(ResourceLimitError, match="85,465 grey levels") as info:
        neurorad.extract_features(image, mask, settings)
    assert info.value.exit_code == EXIT_RESOURCE


@pytest.mark.parametrize("interpolator", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("roi", [(slice(6, 9), slice(14, 19), slice(20, 22)),  # inside
                                 (slice(0, 3), slice(0, 4), slice(40, 44))])  # at a corner
def test_box_resampling_equals_whole_image_then_crop(interpolator, roi):
    rng = np.random.default_rng(7)
    image = rng.normal(100, 30, (16, 40, 44))
    mask = np.zeros(image.shape, bool)
    mask[roi] = True
    spacing, new = (3.0, 1.1, 0.9), (1.3, 0.7, 0.55)
    kw = dict(interpolator=interpolator, mask_interpolator="linear", mask_threshold=0.5)
    whole = resample_roi(image, mask, spacing, new, **kw)
    box = resample_roi(image, mask, spacing, new, margin_mm=PEAK_RADIUS_MM, **kw)
    ref = crop_to_roi(whole[0], whole[1], whole[1], whole[2])
    got = crop_to_roi(box[0], box[1], box[1], box[2])
    assert ref[0].shape == got[0].shape
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12, atol=1e-9)
    assert box[0].size < whole[0].size


def test_small_roi_resampled_on_its_box_only(monkeypatch):
    """125 voxels of a 60 x 200 x 200 image to 0.25 mm: the whole grid would be 240 x 800 x
    800 = 153.6 M voxels (~4.6 GiB of arrays); the box is a few hundred thousand."""
    image = np.zeros((60, 200, 200))
    mask = np.zeros(image.shape, bool)
    mask[30:35, 100:105, 100:105] = True
    out, src, full = roi_subgrid(mask, (1.0, 1.0, 1.0), (0.25, 0.25, 0.25), PEAK_RADIUS_MM)
    assert full == (240, 800, 800)
    box = np.prod([s.stop - s.start for s in out])
    assert box < 100 * 100 * 100
    # the guard refuses the whole-image path on a small memory budget, before allocating
    monkeypatch.setenv("NEURORAD_MAX_MEMORY_FRACTION", "1e-6")
    with pytest.raises(ResourceLimitError, match=r"resample.spacing_xyz \[0.25, 0.25, 0.25\] "
                                                 r"mm gives a grid of 240 x 800 x 800"):
        resample_roi(image, mask, (1.0, 1.0, 1.0), (0.25, 0.25, 0.25))


def test_preprocess_without_diagnostics_matches_with(tmp_path):
    image, mask = _pet_case()
    settings = neurorad.load_settings("ibsi-ct-b")
    fast = preprocess_roi(image, mask, settings, diagnostics=False)
    full = preprocess_roi(image, mask, settings, diagnostics=True)
    np.testing.assert_array_equal(fast.morph_mask, full.morph_mask)
    np.testing.assert_allclose(fast.image, full.image, rtol=1e-12)


def test_batch_case_beyond_the_grey_level_limit_is_a_named_failure(tmp_path):
    """Fixed bin size 0.01 from the re-segmentation bound -500 on intensities ~100 gives
    ~60,000 grey levels: every case fails with ResourceLimitError naming the setting (the
    limit is checked before any texture matrix is allocated)."""
    from neurorad.batch import extract_manifest
    from neurorad.io.manifest import load_manifest
    from tests.batch.batch_helpers import make_cohort

    cohort = make_cohort(tmp_path / "data", n_subjects=2)
    settings = neurorad.load_settings("ibsi-ct-a").to_dict()
    settings["discretisation"] = [{"method": "fbs", "bin_width": 0.01}]
    result = extract_manifest(load_manifest(cohort.manifest), settings, tmp_path / "out",
                              scheduler="synchronous", progress=False)
    assert result.n_failed == result.n_cases == 8
    assert set(result.failures.error_type) == {"ResourceLimitError"}
    message = result.failures.error_message.iloc[0]
    assert "discretisation[0] fixed bin size (bin width 0.01)" in message
    assert "grey levels (limit 4,096" in message and "subject s01" in message
