"""neurorad settings from-pyradiomics: PyRadiomics' documented example parameter files
(transcribed in tests/pyradiomics_params/) and item-by-item mappings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

import neurorad
from neurorad.cli import main as cli_main
from neurorad.settings import SettingsError, load_settings
from neurorad.settings.pyradiomics import from_pyradiomics

EXAMPLES = Path(__file__).parent / "pyradiomics_params"
NAMES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def test_the_eight_documented_examples_are_there():
    assert NAMES == ["MR_2D_extraction.yaml", "Params.yaml", "exampleCT.yaml",
                     "exampleMR_3mm.yaml", "exampleMR_5mm.yaml", "exampleMR_NoResampling.yaml",
                     "exampleVoxel.yaml", "example_allShape.yaml"]


@pytest.mark.parametrize("name", NAMES)
def test_every_example_converts_to_valid_settings_and_reports_every_item(name):
    conversion = from_pyradiomics(EXAMPLES / name)
    settings = load_settings(conversion.settings)
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    reported = {i.key for i in conversion.items}
    for key in (doc.get("setting") or {}):
        assert f"setting.{key}" in reported, key
    for key in (doc.get("imageType") or {}):
        assert f"imageType.{key}" in reported, key
    for key in (doc.get("featureClass") or {}):
        assert f"featureClass.{key}" in reported, key
    assert all(i.status in ("exact", "ibsi", "ignored", "unsupported") for i in conversion.items)
    assert settings.roi_label == 1


def test_exampleCT_by_hand():
    """exampleCT: bin width 25, 1 mm B-spline, LoG sigma 1..5, level-1 coif1 wavelets."""
    c = from_pyradiomics(EXAMPLES / "exampleCT.yaml")
    s = load_settings(c.settings)
    assert [(d.method, d.bin_width) for d in s.discretisation] == [("fbs_aligned", 25.0)]
    assert s.resample.spacing_xyz == (1.0, 1.0, 1.0) and s.resample.interpolator == "cubic"
    assert s.resample.mask_interpolator == "nearest"
    assert s.aggregations == ("3D_avg",)
    assert s.families == ("morphology", "statistics", "histogram", "glcm", "glrlm", "glszm",
                          "ngldm")
    logs = [x for x in s.filters.specs if x["filter"] == "log"]
    assert [x["sigma_mm"] for x in logs] == [1.0, 2.0, 3.0, 4.0, 5.0]
    wavelets = [x for x in s.filters.specs if x["filter"] == "wavelet"]
    assert sorted(x["wavelet_response"] for x in wavelets) == sorted(
        a + b + c for a in "LH" for b in "LH" for c in "LH")
    assert {(x["kernel"], x["decomposition_level"], x["boundary"]) for x in wavelets} == {
        ("coif1", 1, "periodic")}
    assert s.filters.keep_original
    statuses = {i.key: i.status for i in c.items}
    assert statuses["setting.binWidth"] == "exact"
    assert statuses["imageType.LoG"] == statuses["imageType.Wavelet"] == "ibsi"
    assert statuses["setting.voxelArrayShift"] == "unsupported"
    assert statuses["setting.padDistance"] == "ignored"
    log_item = next(i for i in c.items if i.key == "imageType.LoG")
    assert "sigma^2" in log_item.detail  # how PyRadiomics' LoG differs


def test_mr_2d_extraction_by_hand():
    c = from_pyradiomics(EXAMPLES / "MR_2D_extraction.yaml")
    s = load_settings(c.settings)
    assert s.resample.in_plane and s.resample.spacing_xyz == (2.0, 2.0)
    assert s.aggregations == ("2_5D_avg",) and s.plain_aggregations() == ("2_5D",)
    wavelets = [x for x in s.filters.specs if x["filter"] == "wavelet"]
    assert len(wavelets) == 4 and {x["dimensions"] for x in wavelets} == {"2d"}
    statuses = {i.key: i.status for i in c.items}
    assert statuses["setting.normalize"] == "unsupported"
    assert statuses["featureClass.shape2D"] == "unsupported"
    assert "ngtdm" in s.families


def test_item_mappings():
    c = from_pyradiomics({
        "setting": {"binCount": 16, "resegmentRange": [-100, 200], "label": 2,
                    "distances": [2], "gldm_a": 1, "weightingNorm": "euclidean"},
        "imageType": {"Square": {}, "SquareRoot": {}, "Logarithm": {}, "Exponential": {},
                      "Gradient": {}, "LBP3D": {}, "Wavelet": {"start_level": 1, "level": 2}},
        "featureClass": {"ngtdm": None}})
    s = load_settings(c.settings)
    statuses = {i.key: i.status for i in c.items}
    assert [(d.method, d.n_bins) for d in s.discretisation] == [("fbn", 16)]
    assert s.resegment.range == (-100.0, 200.0) and s.roi_label == 2
    assert (s.texture.glcm_distance, s.texture.ngldm_coarseness) == (2, 1)
    assert statuses["setting.weightingNorm"] == "unsupported"
    assert statuses["imageType.LBP3D"] == "unsupported"
    assert not s.filters.keep_original  # Original not listed
    names = [x["filter"] for x in s.filters.specs]
    assert names[:5] == ["square", "square_root", "logarithm", "exponential", "gradient"]
    levels = sorted({x["decomposition_level"] for x in s.filters.specs
                     if x["filter"] == "wavelet"})
    assert levels == [2, 3]  # start_level 1, two levels
    # Details at both levels, the approximation (LLL) of the last level only: 7 + 7 + 1.
    assert names.count("wavelet") == 15
    sigma = from_pyradiomics({"setting": {"resegmentRange": [-3, 3],
                                          "resegmentMode": "sigma"}})
    assert load_settings(sigma.settings).resegment.outliers_sd == 3.0


def test_bad_files_name_the_problem(tmp_path):
    with pytest.raises(SettingsError, match="not found"):
        from_pyradiomics(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("settings:\n  binWidth: 25\n")
    with pytest.raises(SettingsError, match="bad.yaml.*'settings'"):
        from_pyradiomics(bad)


def test_cli_writes_settings_that_load(tmp_path, capsys):
    out = tmp_path / "converted.yaml"
    assert cli_main(["settings", "from-pyradiomics", str(EXAMPLES / "exampleMR_5mm.yaml"),
                     "-o", str(out)]) == 0
    s = load_settings(out)
    assert [x["sigma_mm"] for x in s.filters.specs if x["filter"] == "log"] == [3.0, 5.0]
    assert "unsupported setting.normalize" in capsys.readouterr().err
    assert cli_main(["settings", "from-pyradiomics", str(tmp_path / "none.yaml")]) == 2


def test_converted_settings_extract_filtered_features():
    """Params-like conversion with a LoG and a wavelet runs through extract_features."""
    c = from_pyradiomics({"setting": {"binWidth": 10},
                          "imageType": {"Original": {}, "LoG": {"sigma": [1.0]},
                                        "Wavelet": {"wavelet": "haar"}},
                          "featureClass": {"firstorder": None, "glcm": None}})
    rng = np.random.default_rng(0)
    arr = rng.normal(100, 20, size=(16, 18, 20))
    image = sitk.GetImageFromArray(arr)
    mask = sitk.GetImageFromArray((np.indices(arr.shape) - 8).__pow__(2).sum(0).__le__(25)
                                  .astype(np.uint8))
    mask.CopyInformation(image)
    feats = neurorad.extract_features(image, mask, c.settings, device="cpu")
    assert "stat_mean" in feats and "stat_mean__log_s1" in feats
    assert "cm_contrast_3D_avg__wavelet_haar_hll_l1_periodic" in feats
    assert len([t for t in feats if "__wavelet_haar_" in t and t.startswith("stat_mean")]) == 8
