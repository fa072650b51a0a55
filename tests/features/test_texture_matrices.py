"""Texture matrices on tiny arrays, checked against hand counts and brute-force loops.

The hand-counted matrices are written out in the comments; the brute-force helpers walk the
voxels one by one (the obvious, slow definition) as an independent second method for random
volumes, covering all 13 directions, zone connectivity and neighbourhood edge handling.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from neurorad.features.gldzm import gldzm_matrices
from neurorad.features.glcm import glcm_matrices
from neurorad.features.glrlm import glrlm_matrices
from neurorad.features.glszm import glszm_matrices
from neurorad.features.ngldm import ngldm_matrices
from neurorad.features.ngtdm import ngtdm_matrices
from neurorad.features.texture import IN_PLANE_DIRECTIONS, OUT_OF_PLANE_DIRECTIONS
from neurorad.features.texture_kernels import (
    border_distance, border_distance_by_erosion, label_level_by_level, label_zones,
)

DIRECTIONS = IN_PLANE_DIRECTIONS + OUT_OF_PLANE_DIRECTIONS


def per_direction(matrices):
    """The 13 3D-direction matrices in :data:`DIRECTIONS` order."""
    return np.concatenate([matrices.in_plane.sum(axis=0), matrices.out_of_plane])


def random_roi(rng, shape, n_levels, fill=0.7):
    levels = rng.integers(1, n_levels + 1, size=shape)
    return np.where(rng.random(shape) < fill, levels, 0)


# --------------------------------------------------------------------------------------------
# GLCM
# --------------------------------------------------------------------------------------------

IMAGE_3X3 = np.array([[1, 2, 2],
                      [1, 1, 3],
                      [3, 2, 1]])


def test_glcm_of_a_3x3_image_by_hand():
    m = glcm_matrices([(IMAGE_3X3[None], 3)])[0]
    along_x = m.in_plane[0, IN_PLANE_DIRECTIONS.index((0, 0, 1))]
    # Horizontal pairs: (1,2) (2,2) | (1,1) (1,3) | (3,2) (2,1); symmetric => each pair counted
    # in both orders.
    assert along_x.tolist() == [[2, 2, 1],
                                [2, 2, 1],
                                [1, 1, 0]]
    along_y = m.in_plane[0, IN_PLANE_DIRECTIONS.index((0, 1, 0))]
    # Vertical pairs: (1,1) (1,3) | (2,1) (1,2) | (2,3) (3,1).
    assert along_y.tolist() == [[2, 2, 2],
                                [2, 0, 1],
                                [2, 1, 0]]
    diagonal = m.in_plane[0, IN_PLANE_DIRECTIONS.index((0, 1, 1))]
    # (y, x) -> (y+1, x+1): (1,1) (2,3) (1,2) (1,1).
    assert diagonal.tolist() == [[4, 1, 0],
                                 [1, 0, 1],
                                 [0, 1, 0]]
    assert not m.out_of_plane.any()  # a single slice has no pairs across slices


def test_glcm_ignores_pairs_with_a_voxel_outside_the_roi_and_respects_distance():
    binned = np.array([[[1, 0, 2, 2]]])
    m = glcm_matrices([(binned, 2)], distance=1)[0]
    assert m.in_plane[0, 0].tolist() == [[0, 0], [0, 2]]  # only (2,2); (1,0), (0,2) dropped
    m2 = glcm_matrices([(binned, 2)], distance=2)[0]
    assert m2.in_plane[0, 0].tolist() == [[0, 1], [1, 0]]  # (1,2) at distance 2; (0,2) dropped


def brute_force_glcm(binned, n_levels, direction, distance):
    counts = np.zeros((n_levels, n_levels), dtype=int)
    step = np.array(direction) * distance
    for index in itertools.product(*map(range, binned.shape)):
        other = np.array(index) + step
        if np.any(other < 0) or np.any(other >= binned.shape):
            continue
        a, b = binned[index], binned[tuple(other)]
        if a and b:
            counts[a - 1, b - 1] += 1
            counts[b - 1, a - 1] += 1
    return counts


@pytest.mark.parametrize("distance", [1, 2])
def test_glcm_matches_brute_force_in_all_13_directions(distance):
    rng = np.random.default_rng(1)
    binned = random_roi(rng, (4, 5, 6), 4)
    got = per_direction(glcm_matrices([(binned, 4)], distance=distance)[0])
    for k, direction in enumerate(DIRECTIONS):
        assert got[k].tolist() == brute_force_glcm(binned, 4, direction, distance).tolist(), direction


# --------------------------------------------------------------------------------------------
# GLRLM
# --------------------------------------------------------------------------------------------

def test_glrlm_of_a_3x3_image_by_hand():
    image = np.array([[1, 1, 2],
                      [1, 2, 2],
                      [3, 3, 3]])
    m = glrlm_matrices([(image[None], 3)])[0]
    # rows: grey level 1..3, columns: run length 1..3
    along_x = m.in_plane[0, IN_PLANE_DIRECTIONS.index((0, 0, 1))]
    assert along_x.tolist() == [[1, 1, 0],   # "1 1" and "1"
                                [1, 1, 0],   # "2" and "2 2"
                                [0, 0, 1]]   # "3 3 3"
    along_y = m.in_plane[0, IN_PLANE_DIRECTIONS.index((0, 1, 0))]
    assert along_y.tolist() == [[1, 1, 0],   # column 0 "1 1", column 1 "1"
                                [1, 1, 0],   # column 1 "2", column 2 "2 2"
                                [3, 0, 0]]   # one 3 at the bottom of each column
    diagonal = m.in_plane[0, IN_PLANE_DIRECTIONS.index((0, 1, 1))]
    assert diagonal.tolist() == [[3, 0, 0], [3, 0, 0], [3, 0, 0]]  # no diagonal repeats


def brute_force_runs(binned, n_levels, direction):
    """Walk every line along ``direction`` from its first voxel and count runs."""
    step = np.array(direction)
    shape = np.array(binned.shape)
    runs = np.zeros((n_levels, max(binned.shape)), dtype=int)
    for index in itertools.product(*map(range, binned.shape)):
        before = np.array(index) - step
        if np.all(before >= 0) and np.all(before < shape):
            continue  # not the first voxel of its line
        line, position = [], np.array(index)
        while np.all(position >= 0) and np.all(position < shape):
            line.append(binned[tuple(position)])
            position = position + step
        for level, group in itertools.groupby(line):
            if level:
                runs[level - 1, len(list(group)) - 1] += 1
    return runs


def test_glrlm_matches_brute_force_in_all_13_directions():
    rng = np.random.default_rng(2)
    binned = random_roi(rng, (4, 6, 5), 3, fill=0.8)
    got = per_direction(glrlm_matrices([(binned, 3)])[0])
    for k, direction in enumerate(DIRECTIONS):
        expected = brute_force_runs(binned, 3, direction)
        assert got[k].tolist() == expected[:, :got.shape[2]].tolist(), direction


# --------------------------------------------------------------------------------------------
# GLSZM / GLDZM
# --------------------------------------------------------------------------------------------

def dense(matrices, which):
    """Zone matrix as a dict {(level, j): count}."""
    m = getattr(matrices, which)
    j = matrices.j_values
    return {(int(i) + 1, int(j[c])): int(m[..., i, c].sum())
            for i, c in zip(*np.nonzero(m.sum(axis=0) if m.ndim == 3 else m))}


def test_glszm_uses_8_connectivity_in_2d_by_hand():
    image = np.array([[1, 1, 2],
                      [2, 1, 2],
                      [2, 2, 3]])
    m = glszm_matrices([(image[None], 3)])[0]
    # level 1: one zone of 3; level 2: all five 2s are one zone (the diagonal (1,2)-(2,1)
    # links the two groups); level 3: one voxel.
    assert dense(m, "per_slice") == {(1, 3): 1, (2, 5): 1, (3, 1): 1}


def test_glszm_links_corner_neighbours_in_3d_but_not_across_slices_in_2d():
    binned = np.zeros((2, 2, 2), dtype=int)
    binned[0, 0, 0] = binned[1, 1, 1] = 1
    m = glszm_matrices([(binned, 1)])[0]
    assert dense(m, "volume") == {(1, 2): 1}       # 26-connected: one zone of two voxels
    assert dense(m, "per_slice") == {(1, 1): 2}    # per slice: two single-voxel zones


def brute_force_zones(binned, n_levels, in_plane):
    structure = np.ones((3, 3, 3), dtype=bool)
    if in_plane:
        structure[0] = structure[2] = False
    zones = {}
    for level in range(1, n_levels + 1):
        labels, n = ndimage.label(binned == level, structure=structure)
        for size in np.bincount(labels.ravel())[1:]:
            zones[(level, int(size))] = zones.get((level, int(size)), 0) + 1
    return zones


def test_glszm_matches_per_level_scipy_labelling():
    rng = np.random.default_rng(3)
    binned = random_roi(rng, (5, 7, 6), 3, fill=0.8)
    m = glszm_matrices([(binned, 3)])[0]
    assert dense(m, "volume") == brute_force_zones(binned, 3, in_plane=False)
    assert dense(m, "per_slice") == brute_force_zones(binned, 3, in_plane=True)


def test_level_by_level_labelling_gpu_path_equals_the_cpu_labelling():
    """The GPU labels each grey level separately; run that path with SciPy's labeller."""
    rng = np.random.default_rng(8)
    binned = random_roi(rng, (5, 8, 7), 3, fill=0.8)
    ours, n = label_zones(binned, in_plane=False)
    per_level, m = label_level_by_level(binned, ndimage.label)
    assert n == m
    # Same partition: each zone of one labelling is exactly one zone of the other.
    pairs = set(zip(ours[binned > 0].tolist(), per_level[binned > 0].tolist()))
    assert len(pairs) == n


def test_border_distance_is_face_connected_and_starts_at_one():
    mask = np.zeros((1, 5, 5), dtype=bool)
    mask[0, 1:4, 1:4] = True
    mask[0, 1, 1] = False  # punch one corner out of the 3x3 block
    planar = border_distance(mask, in_plane=True)
    # The centre touches the hole only diagonally: 2 face steps to leave the ROI.
    assert planar[0, 2, 2] == 2 and planar[0, 1, 2] == 1 and planar[0, 1, 1] == 0
    # In 3D the slices above and below a single slice are outside: everything is at 1.
    assert set(np.unique(border_distance(mask, in_plane=False)[mask])) == {1}


@pytest.mark.parametrize("in_plane", [True, False])
def test_border_distance_erosion_path_equals_the_chamfer_transform(in_plane):
    rng = np.random.default_rng(4)
    mask = ndimage.binary_opening(rng.random((7, 12, 11)) < 0.8)
    expected = border_distance(mask, in_plane=in_plane)
    assert np.array_equal(border_distance_by_erosion(mask, in_plane=in_plane), expected)
    assert expected[mask].min() == 1 and not expected[~mask].any()


def test_gldzm_of_a_5x5_square_by_hand():
    image = np.ones((1, 5, 5), dtype=int)
    image[0, 2, 2] = 2
    m = gldzm_matrices([(image, 2, image > 0)])[0]
    # The ring of 1s touches the edge (distance 1); the centre is 3 face steps from outside.
    assert dense(m, "per_slice") == {(1, 1): 1, (2, 3): 1}
    # 3D distance of a single slice: every voxel touches the outside along z.
    assert dense(m, "volume") == {(1, 1): 1, (2, 1): 1}


def test_gldzm_distance_comes_from_the_morphological_mask():
    image = np.zeros((1, 7, 7), dtype=int)
    image[0, 2:5, 2:5] = 1
    morph = np.zeros_like(image, dtype=bool)
    morph[0, 1:6, 1:6] = True  # morphological ROI one voxel larger all round
    m = gldzm_matrices([(image, 1, morph)])[0]
    assert dense(m, "per_slice") == {(1, 2): 1}


# --------------------------------------------------------------------------------------------
# NGTDM / NGLDM
# --------------------------------------------------------------------------------------------

def test_ngtdm_of_a_published_4x4_example():
    """Example of the PyRadiomics documentation (NGTDM section), distance 1, 2D:
    n = (6, 2, 4, 0, 4), s_1 = 13.35, s_2 = 2.00, s_5 = 10.075.

    For s_3 the documentation's own terms, |3-12/5| + |3-18/5| + |3-20/8| + |3-5/3|, sum to
    3.033 (re-derived by hand from the image below); its table prints 2.63, a typo.
    """
    image = np.array([[1, 2, 5, 2],
                      [3, 5, 1, 3],
                      [1, 3, 5, 5],
                      [3, 1, 1, 1]])
    m = ngtdm_matrices([(image[None], 5)])[0]
    n_i, s_i = m.per_slice[0, :, 0], m.per_slice[0, :, 1]
    assert n_i.tolist() == [6, 2, 4, 0, 4]
    assert s_i == pytest.approx([13.35, 2.0, 0.6 + 0.6 + 0.5 + 4 / 3, 0.0, 10.075], abs=0.006)


def brute_force_ngtdm(binned, n_levels, in_plane, distance=1):
    n_i, s_i = np.zeros(n_levels), np.zeros(n_levels)
    offsets = [o for o in itertools.product(range(-distance, distance + 1), repeat=3)
               if any(o) and not (in_plane and o[0])]
    for index in itertools.product(*map(range, binned.shape)):
        level = binned[index]
        if not level:
            continue
        values = []
        for o in offsets:
            other = np.array(index) + o
            if np.all(other >= 0) and np.all(other < binned.shape) and binned[tuple(other)]:
                values.append(binned[tuple(other)])
        if values:
            n_i[level - 1] += 1
            s_i[level - 1] += abs(level - np.mean(values))
    return n_i, s_i


@pytest.mark.parametrize("in_plane", [True, False])
def test_ngtdm_matches_brute_force(in_plane):
    rng = np.random.default_rng(5)
    binned = random_roi(rng, (4, 6, 5), 4, fill=0.6)
    m = ngtdm_matrices([(binned, 4)])[0]
    got = m.per_slice.sum(axis=0) if in_plane else m.volume
    n_i, s_i = brute_force_ngtdm(binned, 4, in_plane)
    assert got[:, 0].tolist() == n_i.tolist()
    assert got[:, 1] == pytest.approx(s_i, rel=1e-12)


def test_ngldm_of_a_2x2_image_by_hand():
    image = np.array([[1, 1],
                      [1, 2]])
    m = ngldm_matrices([(image[None], 2)])[0]
    # Each 1 has two equal neighbours (j = 1 + 2 = 3); the 2 has none (j = 1).
    got = {(int(i) + 1, int(j) + 1): int(m.per_slice[0, i, j])
           for i, j in zip(*np.nonzero(m.per_slice[0]))}
    assert got == {(1, 3): 3, (2, 1): 1}


def brute_force_ngldm(binned, n_levels, in_plane, coarseness):
    counts = np.zeros((n_levels, 27), dtype=int)
    offsets = [o for o in itertools.product((-1, 0, 1), repeat=3) if any(o)
               and not (in_plane and o[0])]
    for index in itertools.product(*map(range, binned.shape)):
        level = binned[index]
        if not level:
            continue
        j = 1
        for o in offsets:
            other = np.array(index) + o
            if np.all(other >= 0) and np.all(other < binned.shape):
                value = binned[tuple(other)]
                j += bool(value) and abs(int(value) - int(level)) <= coarseness
        counts[level - 1, j - 1] += 1
    return counts


@pytest.mark.parametrize("coarseness", [0, 1])
@pytest.mark.parametrize("in_plane", [True, False])
def test_ngldm_matches_brute_force(in_plane, coarseness):
    rng = np.random.default_rng(6)
    binned = random_roi(rng, (4, 5, 6), 4, fill=0.7)
    m = ngldm_matrices([(binned, 4)], coarseness=coarseness)[0]
    got = m.per_slice.sum(axis=0) if in_plane else m.volume
    assert got.tolist() == brute_force_ngldm(binned, 4, in_plane, coarseness).tolist()


@pytest.mark.parametrize("builder", [glcm_matrices, glrlm_matrices])
def test_slice_summed_directional_matrices_equal_the_sum_of_per_slice_ones(builder):
    rng = np.random.default_rng(9)
    binned = random_roi(rng, (4, 6, 7), 3)
    per_slice = builder([(binned, 3)])[0]
    summed = builder([(binned, 3)], per_slice=False)[0]
    assert summed.in_plane.shape[0] == 1
    assert np.array_equal(summed.in_plane[0], per_slice.in_plane.sum(axis=0))
    assert np.array_equal(summed.out_of_plane, per_slice.out_of_plane)


# --------------------------------------------------------------------------------------------
# Batches: one call for many ROIs equals one call per ROI
# --------------------------------------------------------------------------------------------

BUILDERS = {
    "glcm": lambda batch: glcm_matrices(batch, distance=1),
    "glrlm": glrlm_matrices,
    "glszm": glszm_matrices,
    "gldzm": lambda batch: gldzm_matrices([(b, n, b > 0) for b, n in batch]),
    "ngtdm": ngtdm_matrices,
    "ngldm": ngldm_matrices,
}


def _arrays(result):
    if result is None:
        return [None]
    return [None if v is None else np.asarray(v) for v in vars(result).values()]


@pytest.mark.parametrize("family", list(BUILDERS))
def test_batched_matrices_equal_one_at_a_time(family):
    rng = np.random.default_rng(7)
    batch = [(random_roi(rng, (3, 6, 5), 4), 4),
             (random_roi(rng, (5, 4, 7), 8), 8),
             (np.zeros((2, 3, 3), dtype=int), 3),          # empty ROI in the middle
             (random_roi(rng, (1, 5, 5), 2, fill=1.0), 2)]
    together = BUILDERS[family](batch)
    assert together[2] is None
    for item, joint in zip(batch, together):
        alone = BUILDERS[family]([item])[0]
        for a, b in zip(_arrays(joint), _arrays(alone)):
            assert (a is None and b is None) or np.array_equal(a, b)


def test_zone_minimum_from_value_groups_equals_a_loop_over_zones():
    # The grouped shortcut (one sort of the map, reused per labelling) against the minimum of
    # the map over each zone's voxels, zone by zone.
    from neurorad.features.texture_kernels import group_by_value, zone_minimum

    rng = np.random.default_rng(5)
    for _ in range(20):
        grey = rng.integers(0, 4, size=(4, 7, 6))
        labels, n = ndimage.label(grey > 1, structure=np.ones((3, 3, 3)))
        distance = rng.integers(1, 9, size=grey.shape) * (labels > 0)
        groups = group_by_value(distance, labels > 0)
        expected = [int(distance[labels == zone].min()) for zone in range(1, n + 1)]
        assert zone_minimum(labels, groups, n).tolist() == expected
