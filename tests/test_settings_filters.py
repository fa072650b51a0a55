"""Settings ``filters:`` section, the IBSI-2 chain with response maps, ibsi2-phase2 presets."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad import extract_features, extract_features_batch
from neurorad.features.catalogue import expected_tags
from neurorad.settings import SettingsError, load_settings, preset_names
from tests.features.test_tags import IBSI2

LOG2 = {"filter": "log", "dimensions": "3d", "boundary": "mirror", "sigma_mm": 2.0,
        "cutoff_sigmas": 4.0}
BASE = {"discretisation": {"method": "fbn", "n_bins": 16}, "families": ["statistics"]}


def test_filters_round_trip_and_change_the_settings_id():
    plain = load_settings(BASE)
    with_log = load_settings({**BASE, "filters": {"specs": [LOG2]}})
    assert "filters" not in plain.to_dict()  # settings without filters keep their id
    assert with_log.filters.keep_original is True
    assert load_settings(with_log.to_dict()) == with_log
    assert with_log.settings_id != plain.settings_id
    other = load_settings({**BASE, "filters": {"specs": [{**LOG2, "sigma_mm": 3.0}]}})
    assert other.settings_id != with_log.settings_id
    dropped = load_settings({**BASE, "filters": {"specs": [LOG2], "keep_original": False}})
    assert dropped.settings_id != with_log.settings_id
    # A bare list is the specs, original kept.
    assert load_settings({**BASE, "filters": [LOG2]}) == with_log


@pytest.mark.parametrize("filters, key", [
    ({"specs": [{**LOG2, "sigmaa": 1}]}, "sigmaa"),
    ({"specs": [{"filter": "lug"}]}, "lug"),
    ({"specs": [{"sigma_mm": 1}]}, "'filter' is required"),
    ({"specs": [LOG2], "keep": True}, "keep"),
    ({"specs": [LOG2], "keep_original": "yes"}, "keep_original"),
    ({"specs": [LOG2, dict(LOG2)]}, "same filter twice"),
    ({"specs": [], "keep_original": False}, "nothing would be computed"),
    ({"specs": [LOG2], "families": ["glcm"]}, "filters.discretisation"),
    ({"specs": [LOG2], "families": ["wavelets"]}, "filters.families"),
    ({"specs": LOG2}, "filters.specs"),
])
def test_bad_filters_name_the_key(filters, key):
    doc = {"families": ["statistics"], "filters": filters}
    with pytest.raises(SettingsError, match=key):
        load_settings(doc)


def test_response_map_settings_follow_ibsi2():
    s = load_settings("ibsi-ct-c").to_dict()
    s["filters"] = {"specs": [LOG2]}
    settings = load_settings(s)
    r = settings.response_map_settings()
    assert "morphology" not in r.families and "fractal" not in r.families
    assert set(r.families) == set(settings.families) - {"morphology", "fractal"}
    assert r.resegment.range == (None, None) and r.resegment.outliers_sd is None
    assert r.round_intensities is False and r.filters is None
    assert r.discretisation == settings.discretisation


def _phantom(seed=0):
    """A 3-D image with a spherical ROI; intensities span the re-segmentation range."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[:18, :20, :22]
    inside = (z - 9) ** 2 + (y - 10) ** 2 + (x - 11) ** 2 <= 36
    arr = rng.normal(40.0, 30.0, size=inside.shape).round()
    image = sitk.GetImageFromArray(arr)
    image.SetSpacing((1.0, 1.0, 2.0))
    mask = sitk.GetImageFromArray(inside.astype(np.uint8))
    mask.CopyInformation(image)
    return image, mask, arr, inside


def test_identity_response_map_repeats_the_original_features():
    """filter none: every response-map feature equals the original's (FBN, no range:
    the response-map settings change nothing), morphology only once, tags as documented."""
    image, mask, _, _ = _phantom()
    doc = load_settings("ibsi-ct-d").to_dict()
    doc["resample"] = None
    doc["filters"] = {"specs": [{"filter": "none", "dimensions": "3d"}]}
    settings = load_settings(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        feats = extract_features(image, mask, settings, device="cpu")
    assert sorted(feats) == sorted(expected_tags(settings))
    filtered = {t[:-len("__none")]: v for t, v in feats.items() if t.endswith("__none")}
    assert filtered and not any(t.startswith("morph_") for t in filtered)
    assert any(t.startswith("morph_") for t in feats)
    for tag, value in filtered.items():
        assert value == pytest.approx(feats[tag], rel=1e-12, nan_ok=True), tag


def test_response_map_uses_the_unfiltered_intensity_mask():
    """A response map far outside the re-segmentation range keeps the ROI of the original:
    filter 'none' on a shifted copy is not possible, so check the mask directly: the range
    [0, 60] keeps part of the ROI; statistics of the identity map are those of those
    voxels, computed here with NumPy."""
    image, mask, arr, inside = _phantom(1)
    doc = {"families": ["statistics"], "resegment": {"range": [0, 60]},
           "filters": {"specs": [{"filter": "none", "dimensions": "3d"}], "keep_original": False}}
    feats = extract_features(image, mask, doc, device="cpu")
    kept = arr[inside & (arr >= 0) & (arr <= 60)]
    assert feats["stat_mean"] == pytest.approx(kept.mean(), rel=1e-12)
    assert feats["stat_var"] == pytest.approx(kept.var(), rel=1e-12)


def test_batch_equals_one_by_one_with_filters():
    rois = [_phantom(seed)[:2] for seed in (2, 3)]
    doc = {"families": ["statistics", "histogram"],
           "discretisation": {"method": "fbn", "n_bins": 8},
           "filters": {"specs": [{"filter": "none", "dimensions": "3d"}, {"filter": "none", "dimensions": "2d"}]}}
    batch = extract_features_batch(rois, doc, device="cpu")
    for (image, mask), got in zip(rois, batch):
        one = extract_features(image, mask, doc, device="cpu")
        assert list(got) == list(one)
        assert all(math.isclose(got[t], one[t], rel_tol=1e-12) or
                   (math.isnan(got[t]) and math.isnan(one[t])) for t in got)
    assert "stat_mean__none_2d" in batch[0] and "ih_mean__none" in batch[0]


@pytest.mark.skipif(IBSI2 is None, reason="shared/ibsi2 case files not found")
def test_every_ibsi2_phase2_case_has_its_preset():
    cases = json.loads((IBSI2 / "phase2_cases.json").read_text())["cases"]
    assert len(cases) == 22
    for case in cases:
        assert case["preset"] in preset_names()
        s = load_settings(case["preset"])
        spec = dict(case["spec"])
        if spec["filter"] == "simoncelli":
            # MIRP's phase-2 setting (no padding), see the preset's description.
            spec["boundary"] = "periodic"
        assert s.filters.specs == (spec,)
        assert s.filters.keep_original is False and s.families == ("statistics",)
        assert s.resegment.range == (-1000.0, 400.0) and s.round_intensities
        if case["configuration"] == "B":
            assert s.resample.spacing_xyz == (1.0, 1.0, 1.0)
            assert (s.resample.interpolator, s.resample.mask_interpolator) == ("cubic", "linear")
            assert s.resample.mask_threshold == 0.5
        else:
            assert s.resample is None
        # One image: plain IBSI tags, as the reference table names them.
        assert "stat_mean" in expected_tags(s)


def test_mean_filter_after_interpolation_matches_scipy():
    """The filter acts on the whole interpolated image: a 3-D mean filter (mirror boundary =
    scipy 'reflect') computed here with SciPy on the preprocessed (uncropped) image, and
    statistics by NumPy on the unfiltered intensity mask."""
    from scipy import ndimage

    from neurorad.preprocess.pipeline import preprocess_roi

    image, mask, _, _ = _phantom(4)
    doc = {"families": ["statistics"], "round_intensities": True,
           "resample": {"spacing_xyz": [1.5, 1.5, 1.5], "interpolator": "cubic"},
           "resegment": {"range": [-20, 100]},
           "filters": {"specs": [{"filter": "mean", "dimensions": "3d", "boundary": "mirror",
                                  "support_voxels": 3}]}}
    settings = load_settings(doc)
    feats = extract_features(image, mask, settings, device="cpu")
    full = preprocess_roi(image, mask, settings, crop=False, diagnostics=False)
    response = ndimage.uniform_filter(full.image, size=3, mode="reflect")
    values = response[full.int_mask]
    assert feats["stat_mean__mean_m3"] == pytest.approx(values.mean(), rel=1e-10)
    assert feats["stat_max__mean_m3"] == pytest.approx(values.max(), rel=1e-10)
    assert feats["stat_var__mean_m3"] == pytest.approx(values.var(), rel=1e-10)
    # The response map is not rounded (the original image was).
    assert not np.allclose(values, values.round())
    assert feats["stat_mean"] == pytest.approx(full.image[full.int_mask].mean(), rel=1e-12)
