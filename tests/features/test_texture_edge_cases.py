"""Texture families: undefined cases, bad input, invariances and the feature catalogue."""
from __future__ import annotations

import csv
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from neurorad.features import gldzm, glcm, glrlm, glszm, ngldm, ngtdm
from neurorad.features.texture import DIRECTIONAL_AGGREGATIONS, VOLUME_AGGREGATIONS

MODULES = {"cm": glcm, "rlm": glrlm, "szm": glszm, "dzm": gldzm, "ngt": ngtdm, "ngl": ngldm}


def compute(prefix, binned, n_levels, aggregations=None, morph=None):
    """Run one family's feature function with all its aggregations by default."""
    directional = prefix in ("cm", "rlm")
    aggregations = aggregations or (DIRECTIONAL_AGGREGATIONS if directional else VOLUME_AGGREGATIONS)
    if prefix == "cm":
        return glcm.glcm_features(binned, n_levels, aggregations=aggregations)
    if prefix == "rlm":
        return glrlm.glrlm_features(binned, n_levels, aggregations=aggregations)
    if prefix == "szm":
        return glszm.glszm_features(binned, n_levels, aggregations=aggregations)
    if prefix == "dzm":
        morph = binned > 0 if morph is None else morph
        return gldzm.gldzm_features(binned, n_levels, morph, aggregations=aggregations)
    if prefix == "ngt":
        return ngtdm.ngtdm_features(binned, n_levels, aggregations=aggregations)
    return ngldm.ngldm_features(binned, n_levels, aggregations=aggregations)


def smooth_volume(seed=0, shape=(6, 9, 8), n_levels=5):
    rng = np.random.default_rng(seed)
    values = ndimage.gaussian_filter(rng.normal(size=shape), 1.5)
    edges = np.quantile(values, np.linspace(0, 1, n_levels + 1)[1:-1])
    binned = np.digitize(values, edges) + 1
    binned[:, 0, :] = 0  # a little background
    return binned


@pytest.mark.parametrize("prefix", list(MODULES))
def test_empty_roi_gives_nan_and_a_warning(prefix):
    with pytest.warns(RuntimeWarning, match="empty ROI"):
        out = compute(prefix, np.zeros((3, 4, 4), dtype=int), 4)
    assert out and all(math.isnan(v) for v in out.values())


def test_single_voxel_roi():
    binned = np.zeros((3, 3, 3), dtype=int)
    binned[1, 1, 1] = 2
    with pytest.warns(RuntimeWarning, match="no texture matrix has any count"):
        cm = compute("cm", binned, 4)
    assert all(math.isnan(v) for v in cm.values())  # no neighbour pairs at all
    with pytest.warns(RuntimeWarning, match="no texture matrix"):
        ngt = compute("ngt", binned, 4)
    assert all(math.isnan(v) for v in ngt.values())  # no voxel has a neighbour
    # One zone / run / neighbourhood of size 1: defined, by hand.
    szm = compute("szm", binned, 4)
    assert szm["szm_sze_3D"] == 1.0 and szm["szm_z_perc_3D"] == 1.0 and szm["szm_gl_var_3D"] == 0
    assert compute("rlm", binned, 4)["rlm_sre_3D_avg"] == 1.0
    ngl = compute("ngl", binned, 4)
    assert ngl["ngl_lde_3D"] == 1.0 and ngl["ngl_hgce_3D"] == 4.0  # level 2: i^2 = 4
    assert compute("dzm", binned, 4)["dzm_sde_3D"] == 1.0


def test_single_grey_level():
    binned = np.full((3, 3, 3), 2)
    with pytest.warns(RuntimeWarning, match="cm_corr"):
        cm = compute("cm", binned, 4, aggregations=("3D_comb",))
    assert math.isnan(cm["cm_corr_3D_comb"]) and math.isnan(cm["cm_info_corr1_3D_comb"])
    assert cm["cm_joint_avg_3D_comb"] == 2.0 and cm["cm_joint_max_3D_comb"] == 1.0
    assert cm["cm_contrast_3D_comb"] == 0.0 and cm["cm_joint_entr_3D_comb"] == 0.0
    ngt = compute("ngt", binned, 4, aggregations=("3D",))
    # IBSI: coarseness is capped at 10^6; contrast, busyness and strength are 0.
    assert ngt["ngt_coarseness_3D"] == 1.0e6
    assert ngt["ngt_contrast_3D"] == ngt["ngt_busyness_3D"] == ngt["ngt_strength_3D"] == 0.0


@pytest.mark.parametrize("prefix", list(MODULES))
def test_2d_image_with_3d_aggregation_is_nan_but_2d_is_computed(prefix):
    image = smooth_volume(shape=(1, 9, 8))
    with pytest.warns(RuntimeWarning, match="single-slice"):
        out = compute(prefix, image, 5)
    for tag, value in out.items():
        if "_3D" in tag:
            assert math.isnan(value), tag
        elif not tag.startswith("cm_") or "corr" not in tag:
            assert math.isfinite(value), tag
    # A (y, x) array is the same single-slice image.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        flat = compute(prefix, image[0], 5)
    assert flat.keys() == out.keys()
    assert all(np.isclose(flat[k], out[k], equal_nan=True) for k in out)


@pytest.mark.parametrize("prefix", list(MODULES))
def test_features_do_not_depend_on_empty_margins(prefix):
    """Cropping to the ROI box must not change anything (translation invariance)."""
    binned = smooth_volume()
    embedded = np.zeros((10, 14, 15), dtype=binned.dtype)
    embedded[2:8, 3:12, 5:13] = binned
    a = compute(prefix, binned, 5)
    b = compute(prefix, embedded, 5)
    assert a.keys() == b.keys()
    assert all(np.isclose(a[k], b[k], rtol=1e-12, equal_nan=True) for k in a)


@pytest.mark.parametrize("prefix", ["cm", "rlm"])
def test_directional_features_are_invariant_to_axis_flips(prefix):
    """Each direction's +/- pair is one matrix, so mirroring permutes the 13 directions."""
    binned = smooth_volume(seed=3)
    a = compute(prefix, binned, 5, aggregations=("3D_avg", "3D_comb", "2_5D_comb"))
    b = compute(prefix, binned[::-1, :, ::-1], 5, aggregations=("3D_avg", "3D_comb", "2_5D_comb"))
    assert all(np.isclose(a[k], b[k], rtol=1e-12) for k in a)


def test_extra_grey_levels_change_only_level_count_dependent_features():
    """N_g larger than the levels present: only the N_g-normalised GLCM features change."""
    binned = smooth_volume()
    a = compute("cm", binned, 5, aggregations=("3D_comb",))
    b = compute("cm", binned, 8, aggregations=("3D_comb",))
    changed = {k for k in a if not np.isclose(a[k], b[k], rtol=1e-12)}
    assert changed == {"cm_inv_diff_norm_3D_comb", "cm_inv_diff_mom_norm_3D_comb"}


def test_bad_input_is_rejected_with_a_clear_message():
    good = smooth_volume()
    with pytest.raises(ValueError, match="integer array"):
        glcm.glcm_features(good.astype(float), 5)
    with pytest.raises(ValueError, match=r"1\.\.4"):
        glszm.glszm_features(good, 4)  # level 5 present
    with pytest.raises(ValueError, match="unknown aggregation"):
        ngtdm.ngtdm_features(good, 5, aggregations=("3D_avg",))
    with pytest.raises(ValueError, match="distance must be a positive integer"):
        glcm.glcm_features(good, 5, distance=0)
    with pytest.raises(ValueError, match="distance must be 1"):
        glrlm.glrlm_features(good, 5, distance=2)
    with pytest.raises(ValueError, match="coarseness"):
        ngldm.ngldm_features(good, 5, coarseness=-1)
    with pytest.raises(ValueError, match="shape"):
        gldzm.gldzm_features(good, 5, np.ones((2, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match="outside the morphological mask"):
        gldzm.gldzm_features(good, 5, np.zeros(good.shape, dtype=bool))


def test_distance_and_coarseness_parameters_take_effect():
    binned = smooth_volume()
    near = glcm.glcm_features(binned, 5, aggregations=("3D_comb",))
    far = glcm.glcm_features(binned, 5, aggregations=("3D_comb",), distance=2)
    # A smooth field: neighbours further apart differ more.
    assert far["cm_contrast_3D_comb"] > near["cm_contrast_3D_comb"]
    strict = ngldm.ngldm_features(binned, 5)
    loose = ngldm.ngldm_features(binned, 5, coarseness=1)
    assert loose["ngl_hde_3D"] > strict["ngl_hde_3D"]  # more neighbours count as dependent


# --------------------------------------------------------------------------------------------
# The FEATURES catalogue
# --------------------------------------------------------------------------------------------

LONG_CSV = Path("/work/shared/ibsi/reference_values/ibsi_1_dig_phantom_long.csv")


@pytest.mark.parametrize("prefix", list(MODULES))
def test_catalogue_lists_exactly_the_computed_features(prefix):
    aggregations = ("3D_comb",) if prefix in ("cm", "rlm") else ("3D",)
    out = compute(prefix, smooth_volume(), 5, aggregations=aggregations)
    base = {tag.rsplit("_" + aggregations[0], 1)[0] for tag in out}
    assert base == set(MODULES[prefix].FEATURES)
    for code, name, formula in MODULES[prefix].FEATURES.values():
        assert len(code) == 4 and name and formula


@pytest.mark.skipif(not LONG_CSV.exists(), reason="IBSI long reference table not available")
@pytest.mark.parametrize("prefix", list(MODULES))
def test_catalogue_codes_and_names_match_the_ibsi_table(prefix):
    reference = {}
    with open(LONG_CSV, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["family"] == prefix and row["ibsi_code"]:
                base = re.sub(r"_(2D|2_5D|3D)(_avg|_comb)?$", "", row["tag"])
                reference[base] = (row["ibsi_code"], row["feature"])
    catalogue = MODULES[prefix].FEATURES
    for base, (code, name) in reference.items():
        assert catalogue[base][0] == code, base
        assert catalogue[base][1].lower() == name.lower(), base


def test_zone_reuse_between_glszm_and_gldzm_follows_the_array_content():
    """GLSZM/GLDZM share zone tables by content: editing the array in place must not return
    stale zones (compare with a fresh copy computed independently)."""
    binned = smooth_volume(seed=4)
    first = glszm.glszm_features(binned, 5)
    binned[2:4, 3:6, 2:5] = 1  # same object, new content
    again = glszm.glszm_features(binned, 5)
    fresh = glszm.glszm_features(binned.copy(order="F"), 5)
    assert again == fresh and again != first
    assert gldzm.gldzm_features(binned, 5, binned > 0) == gldzm.gldzm_features(
        binned.copy(order="F"), 5, binned > 0)
