"""The shared evaluation layer (neurorad.features.texture): all aggregations of a family are
evaluated on one concatenated stack, then averaged per aggregation segment.

Second methods: each aggregation requested alone (its stack evaluated by itself), and a plain
per-feature loop (``np.nanmean`` over the occupied matrices) for the averaging.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from neurorad.features import gldzm, glcm, glrlm, glszm, ngldm, ngtdm
from neurorad.features.texture import (
    DIRECTIONAL_AGGREGATIONS, VOLUME_AGGREGATIONS, average_features,
)


def lumpy_roi(seed=3, shape=(5, 8, 9), n_levels=6):
    rng = np.random.default_rng(seed)
    binned = rng.integers(1, n_levels + 1, size=shape)
    binned[:, :2, :3] = 0  # background
    binned[2, 4:, 5:] = 0
    return binned, n_levels


FAMILIES = {
    "glcm": (lambda b, n, a: glcm.glcm_features(b, n, aggregations=a), DIRECTIONAL_AGGREGATIONS),
    "glrlm": (lambda b, n, a: glrlm.glrlm_features(b, n, aggregations=a), DIRECTIONAL_AGGREGATIONS),
    "glszm": (lambda b, n, a: glszm.glszm_features(b, n, aggregations=a), VOLUME_AGGREGATIONS),
    "gldzm": (lambda b, n, a: gldzm.gldzm_features(b, n, b > 0, aggregations=a), VOLUME_AGGREGATIONS),
    "ngtdm": (lambda b, n, a: ngtdm.ngtdm_features(b, n, aggregations=a), VOLUME_AGGREGATIONS),
    "ngldm": (lambda b, n, a: ngldm.ngldm_features(b, n, aggregations=a), VOLUME_AGGREGATIONS),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_all_aggregations_at_once_equal_each_alone(family):
    function, aggregations = FAMILIES[family]
    binned, n_levels = lumpy_roi()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        together = function(binned, n_levels, aggregations)
        alone = {}
        for aggregation in reversed(aggregations):  # order must not matter either
            alone.update(function(binned, n_levels, (aggregation,)))
    suffix_order = [next(i for i, a in enumerate(aggregations) if tag.endswith("_" + a))
                    for tag in together]
    assert suffix_order == sorted(suffix_order)  # tags grouped in the requested order
    assert set(together) == set(alone)
    for tag, value in alone.items():
        assert together[tag] == pytest.approx(value, rel=1e-12, abs=1e-300, nan_ok=True), tag


def test_single_slice_image_3d_aggregations_nan_others_defined():
    binned, n_levels = lumpy_roi()
    with pytest.warns(RuntimeWarning, match="single-slice"):
        out = glcm.glcm_features(binned[2], n_levels, aggregations=("2D_avg", "3D_avg", "2_5D_comb"))
    assert all(math.isnan(v) for k, v in out.items() if k.endswith("_3D_avg"))
    assert all(math.isfinite(out[f"cm_joint_max_{a}"]) for a in ("2D_avg", "2_5D_comb"))


def test_average_features_matches_a_per_feature_nanmean():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 7))
    values[0, [1, 4]] = np.nan       # undefined for two matrices
    values[2, :] = np.nan            # undefined everywhere
    occupied = np.array([True, True, False, True, True, False, True])
    features = {"a": values[0], "b": values[1], "c": values[2]}
    with pytest.warns(RuntimeWarning, match="c undefined"):
        out = average_features(features, occupied, family="X", suffix="3D")
    kept = values[:, occupied]
    assert out["a_3D"] == pytest.approx(np.mean(kept[0][np.isfinite(kept[0])]), rel=1e-14)
    assert out["b_3D"] == pytest.approx(sum(kept[1]) / len(kept[1]), rel=1e-14)
    assert math.isnan(out["c_3D"])


def test_average_features_with_no_occupied_matrix_is_nan():
    with pytest.warns(RuntimeWarning, match="no texture matrix has any count"):
        out = average_features({"a": np.ones(3)}, np.zeros(3, dtype=bool), family="X", suffix="2D")
    assert math.isnan(out["a_2D"])
