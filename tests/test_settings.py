"""Settings: presets, validation errors naming the key, canonical form and settings_id."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

import neurorad
from neurorad.cli import main as cli_main
from neurorad.settings import SettingsError, load_settings, preset_names

EXPECTED_PRESETS = {"ibsi-phantom", "ibsi-ct-a", "ibsi-ct-b", "ibsi-ct-c", "ibsi-ct-d",
                    "ibsi-ct-e", "pyradiomics-default", "seed-protocol"}


def test_every_documented_preset_exists_and_round_trips():
    assert EXPECTED_PRESETS <= set(preset_names())
    for name in preset_names():
        s = neurorad.load_settings(name)
        assert s.name == name
        again = load_settings(s.to_dict())
        assert again == s
        assert again.settings_id == s.settings_id


@pytest.mark.parametrize("cfg, dims, interp, spacing, reseg, outliers, disc, ivh", [
    # IBSI manual, "Reference data sets", CT configurations (shared/ibsi_ct/README.md table)
    ("a", ("2D", "2_5D"), None, None, (-500, 400), None, ("fbs", 25), ("none", None)),
    ("b", ("2D", "2_5D"), "linear", (2, 2), (-500, 400), None, ("fbn", 32), ("none", None)),
    ("c", ("3D",), "linear", (2, 2, 2), (-1000, 400), None, ("fbs", 25), ("fbs", 2.5)),
    ("d", ("3D",), "linear", (2, 2, 2), (None, None), 3, ("fbn", 32), ("none", None)),
    ("e", ("3D",), "cubic", (2, 2, 2), (-1000, 400), 3, ("fbn", 32), ("fbn", 1000)),
])
def test_ibsi_ct_presets_follow_the_manual_table(cfg, dims, interp, spacing, reseg, outliers,
                                                 disc, ivh):
    s = load_settings(f"ibsi-ct-{cfg}")
    assert s.plain_aggregations() == dims
    assert s.round_intensities is True
    if interp is None:
        assert s.resample is None
    else:
        assert s.resample.interpolator == interp
        assert s.resample.spacing_xyz == tuple(float(x) for x in spacing)
        assert s.resample.in_plane == (len(spacing) == 2)
        assert s.resample.mask_interpolator == "linear"
        assert s.resample.mask_threshold == 0.5
    assert s.resegment.range == reseg
    assert s.resegment.outliers_sd == outliers
    (d,) = s.discretisation
    assert (d.method, d.n_bins if d.method == "fbn" else d.bin_width) == disc
    iv = s.ivh_discretisation
    assert iv.method == ivh[0]
    assert {"none": None, "fbs": iv.bin_width, "fbn": iv.n_bins}[iv.method] == ivh[1]
    assert s.texture.glcm_distance == 1 and s.texture.ngldm_coarseness == 0


def test_seed_protocol_has_fourteen_discretisations_and_all_families():
    s = load_settings("seed-protocol")
    levels = [2, 4, 8, 16, 32, 64, 128]
    assert [(d.method, d.n_bins) for d in s.discretisation] == \
        [("fbn", n) for n in levels] + [("ep", n) for n in levels]
    assert s.discretisation_suffixes()[:2] == ("_fbn2", "_fbn4")
    assert s.discretisation_suffixes()[-1] == "_ep128"
    assert "fractal" in s.families and "ria_extras" in s.families
    assert s.resample is None


def test_pyradiomics_default_is_aligned_bin_width_25_3d_averaged():
    s = load_settings("pyradiomics-default")
    (d,) = s.discretisation
    assert (d.method, d.bin_width) == ("fbs_aligned", 25.0)
    assert s.directional_aggregations() == ("3D_avg",)
    assert s.plain_aggregations() == ("3D",)
    assert s.resample is None and s.resegment.range == (None, None)


def test_settings_are_frozen():
    s = load_settings("ibsi-ct-c")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.roi_label = 2


def test_settings_id_ignores_name_but_not_values():
    base = load_settings("ibsi-ct-c").to_dict()
    renamed = dict(base, name="other", description="x")
    changed = dict(base, texture=dict(base["texture"], glcm_distance=2))
    assert load_settings(renamed).settings_id == load_settings(base).settings_id
    assert load_settings(changed).settings_id != load_settings(base).settings_id
    assert len(load_settings(base).settings_id) == 12


@pytest.mark.parametrize("doc, key", [
    ({"discretisation": {"method": "fbn", "n_bins": 8}, "colour": 1}, "colour"),
    ({"discretisation": {"method": "fbn", "nbins": 8}}, "nbins"),
    ({"discretisation": {"method": "fbn", "n_bins": 0}}, "n_bins"),
    ({"discretisation": {"method": "fbn", "n_bins": 2.5}}, "n_bins"),
    ({"discretisation": {"method": "fbs"}}, "bin_width"),
    ({"discretisation": {"method": "kmeans", "n_bins": 4}}, "method"),
    ({"discretisation": {"method": "fbn", "n_bins": 8, "bin_width": 2}}, "bin_width"),
    ({"discretisation": [{"method": "fbn", "n_bins": 8}, {"method": "fbn", "n_bins": 8}]},
     "duplicate"),
    ({"discretisation": {"method": "fbn", "n_bins": 8},
      "resample": {"spacing_xyz": [1, 1]}}, "spacing_xyz"),
    ({"discretisation": {"method": "fbn", "n_bins": 8},
      "resample": {"spacing_xyz": [1, 1, 1], "interpolator": "sinc"}}, "interpolator"),
    ({"discretisation": {"method": "fbn", "n_bins": 8},
      "resample": {"spacing_xyz": [1, 1, -1]}}, "spacing_xyz"),
    ({"discretisation": {"method": "fbn", "n_bins": 8},
      "resegment": {"range": [400, -500]}}, "range"),
    ({"discretisation": {"method": "fbn", "n_bins": 8}, "families": ["glcm", "wavelet"]},
     "families"),
    ({"discretisation": {"method": "fbn", "n_bins": 8}, "aggregations": ["4D"]},
     "aggregations"),
    ({"discretisation": {"method": "fbn", "n_bins": 8}, "device": "tpu"}, "device"),
    ({"discretisation": {"method": "fbn", "n_bins": 8}, "round_intensities": "yes"},
     "round_intensities"),
    ({"discretisation": {"method": "fbn", "n_bins": 8}, "texture": {"glcm_distance": 0}},
     "glcm_distance"),
    ({}, "discretisation"),
])
def test_bad_settings_name_the_key(doc, key):
    with pytest.raises(SettingsError, match=key):
        load_settings(doc)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(SettingsError, match="ibsi-ct-a"):
        load_settings("ibsi-ct-z")


def test_yaml_file_errors_name_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("discretisation: {method: fbn, n_bins: 8}\nresample: {spacing: 2}\n")
    with pytest.raises(SettingsError, match=r"mine\.yaml.*resample.*spacing"):
        load_settings(path)
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "absent.yaml")


def test_yaml_file_and_list_expansion(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "discretisation": [{"method": "fbn", "n_bins": [8, 16]},
                           {"method": "fbs", "bin_width": 2.5}],
        "resample": {"spacing_xyz": 1.5},
        "aggregations": ["2_5D", "3D_avg"],
    }))
    s = load_settings(str(path))
    assert s.discretisation_suffixes() == ("_fbn8", "_fbn16", "_fbs2p5")
    assert s.resample.spacing_zyx == (1.5, 1.5, 1.5)
    assert s.directional_aggregations() == ("2_5D_avg", "2_5D_comb", "3D_avg")
    assert s.plain_aggregations() == ("2_5D", "3D")
    assert s.device == "auto"


def test_in_plane_resampling_keeps_z():
    s = load_settings({"discretisation": {"method": "fbn", "n_bins": 8},
                       "resample": {"spacing_xyz": [2, 1], "in_plane": True}})
    assert s.resample.spacing_zyx == (None, 1.0, 2.0)


def test_cli_settings_list_and_show(capsys):
    assert cli_main(["settings", "list"]) == 0
    listed = capsys.readouterr().out
    for name in EXPECTED_PRESETS:
        assert name in listed
    assert cli_main(["settings", "show", "ibsi-ct-d"]) == 0
    shown = capsys.readouterr().out
    doc = yaml.safe_load(shown)
    assert load_settings(doc) == load_settings("ibsi-ct-d")
    assert load_settings("ibsi-ct-d").settings_id in shown
    assert cli_main(["settings", "show", "no-such-preset"]) == 2
    assert "no-such-preset" in capsys.readouterr().err
