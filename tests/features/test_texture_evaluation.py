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


def loop_level_count(r, j_values, n_voxels):
    """The IBSI level-count formulas element by element (plain Python sums)."""
    n_g, n_j = r.shape
    n_s = sum(r[a, b] for a in range(n_g) for b in range(n_j))
    cells = [(a + 1, j_values[b], r[a, b]) for a in range(n_g) for b in range(n_j)]
    r_i = [sum(r[a]) for a in range(n_g)]
    r_j = [sum(r[:, b]) for b in range(n_j)]
    mu_i = sum(i * c for i, _, c in cells) / n_s
    mu_j = sum(j * c for _, j, c in cells) / n_s
    p = [c / n_s for _, _, c in cells if c > 0]
    return {
        "short": sum(c / j ** 2 for _, j, c in cells) / n_s,
        "long": sum(c * j ** 2 for _, j, c in cells) / n_s,
        "low_gl": sum(c / i ** 2 for i, _, c in cells) / n_s,
        "high_gl": sum(c * i ** 2 for i, _, c in cells) / n_s,
        "short_low": sum(c / (i ** 2 * j ** 2) for i, j, c in cells) / n_s,
        "short_high": sum(c * i ** 2 / j ** 2 for i, j, c in cells) / n_s,
        "long_low": sum(c * j ** 2 / i ** 2 for i, j, c in cells) / n_s,
        "long_high": sum(c * i ** 2 * j ** 2 for i, j, c in cells) / n_s,
        "glnu": sum(x ** 2 for x in r_i) / n_s,
        "glnu_norm": sum(x ** 2 for x in r_i) / n_s ** 2,
        "jnu": sum(x ** 2 for x in r_j) / n_s,
        "jnu_norm": sum(x ** 2 for x in r_j) / n_s ** 2,
        "perc": n_s / n_voxels,
        "gl_var": sum((i - mu_i) ** 2 * c for i, _, c in cells) / n_s,
        "j_var": sum((j - mu_j) ** 2 * c for _, j, c in cells) / n_s,
        "entropy": -sum(x * math.log2(x) for x in p),
        "energy": sum(x ** 2 for x in p),
    }


def test_level_count_features_equal_the_formulas_element_by_element():
    from neurorad.features.texture import level_count_features

    rng = np.random.default_rng(5)
    stack = rng.integers(0, 4, size=(3, 5, 4)).astype(float)
    stack[1, 2:] = 0  # grey levels without counts
    j_values = np.array([1.0, 2.0, 4.0, 7.0])  # columns need not be contiguous
    n_voxels = np.array([90.0, 60.0, 75.0])
    out = level_count_features(stack, j_values, n_voxels)
    for n in range(3):
        expected = loop_level_count(stack[n], j_values, n_voxels[n])
        for key, value in expected.items():
            assert out[key][n] == pytest.approx(value, rel=1e-12), (n, key)


def test_glcm_features_equal_the_formulas_element_by_element():
    from neurorad.features.glcm import glcm_stack_features

    rng = np.random.default_rng(8)
    counts = rng.integers(0, 5, size=(2, 4, 4)).astype(float)  # not symmetric
    out = glcm_stack_features(counts, 4)
    for n in range(2):
        p = counts[n] / counts[n].sum()
        cells = [(i + 1, j + 1, p[i, j]) for i in range(4) for j in range(4)]
        mu_i = sum(i * v for i, _, v in cells)
        mu_j = sum(j * v for _, j, v in cells)
        sd_i = math.sqrt(sum((i - mu_i) ** 2 * v for i, _, v in cells))
        sd_j = math.sqrt(sum((j - mu_j) ** 2 * v for _, j, v in cells))
        p_diff = [sum(v for i, j, v in cells if abs(i - j) == k) for k in range(4)]
        p_sum = [sum(v for i, j, v in cells if i + j == k) for k in range(2, 9)]
        expected = {
            "cm_joint_max": p.max(),
            "cm_joint_var": sum((i - mu_i) ** 2 * v for i, _, v in cells),
            "cm_joint_entr": -sum(v * math.log2(v) for _, _, v in cells if v > 0),
            "cm_energy": sum(v ** 2 for _, _, v in cells),
            "cm_contrast": sum((i - j) ** 2 * v for i, j, v in cells),
            "cm_inv_diff_norm": sum(v / (1 + k / 4) for k, v in enumerate(p_diff)),
            "cm_sum_entr": -sum(v * math.log2(v) for v in p_sum if v > 0),
            "cm_corr": (sum(i * j * v for i, j, v in cells) - mu_i * mu_j) / (sd_i * sd_j),
            "cm_clust_shade": sum((i + j - mu_i - mu_j) ** 3 * v for i, j, v in cells),
        }
        for key, value in expected.items():
            assert out[key][n] == pytest.approx(value, rel=1e-12, abs=1e-14), (n, key)
