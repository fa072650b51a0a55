"""Fractal dimensions (fractal_*, non-IBSI): shapes of known dimension and undefined cases."""
import math

import numpy as np
import pytest

from neurorad.features.fractal import FEATURES, box_occupancy, fractal_features


def _shape(kind):
    mask = np.zeros((40, 40, 40), bool)
    if kind == "cube":
        mask[2:34, 3:35, 4:36] = True
    elif kind == "plane":
        mask[5, 3:35, 4:36] = True
    else:
        mask[5, 6, 4:36] = True
    return mask


@pytest.mark.parametrize("kind, dimension", [("cube", 3), ("plane", 2), ("line", 1)])
def test_filled_shapes_have_their_topological_dimension(kind, dimension):
    f = fractal_features(_shape(kind), (1.0, 1.0, 1.0))
    assert set(f) == set(FEATURES)
    for value in f.values():
        assert value == pytest.approx(dimension, abs=1e-9)


def test_box_counts_by_hand():
    # 4 voxels in a row: box edge 1 -> 4 boxes of 1; edge 2 -> 2 boxes of 2; edge 4 -> 1 box
    mask = np.zeros((1, 1, 4), bool)
    mask[...] = True
    levels = box_occupancy(mask)
    assert [sorted(c[c > 0].tolist()) for c in levels] == [[1, 1, 1, 1], [2, 2], [4]]


def test_sierpinski_triangle_has_dimension_log2_3():
    # Pascal's triangle mod 2 on a 64 x 64 grid: a box of edge 2^m holds 3^m voxels and
    # 3^(6-m) boxes are occupied, so all three dimensions equal log 3 / log 2 exactly.
    i, j = np.indices((64, 64))
    triangle = (i & j) == 0
    for value in fractal_features(triangle[None], (1.0, 1.0, 1.0)).values():
        assert value == pytest.approx(math.log(3) / math.log(2), abs=1e-9)


def test_too_small_or_empty_roi_is_nan_with_warning():
    single = np.zeros((3, 3, 3), bool)
    single[1, 1, 1] = True
    with pytest.warns(RuntimeWarning, match="two box sizes"):
        assert all(math.isnan(v) for v in fractal_features(single, (1, 1, 1)).values())
    with pytest.warns(RuntimeWarning, match="empty"):
        assert all(math.isnan(v) for v in fractal_features(np.zeros((3, 3, 3), bool), (1, 1, 1)).values())
