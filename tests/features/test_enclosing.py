"""Enclosing shapes (enclosing.py): hull edges by Euler's formula, the oriented bounding box
against a known rotated box and against plane-by-plane 2-D rotating callipers, the MVEE's
rescaling-free iteration against the textbook update."""
import math

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from neurorad.features import enclosing
from neurorad.features.enclosing import hull_edges, mvee_semi_axes, oriented_bounding_box


def random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def hull_inputs(points):
    hull = ConvexHull(points)
    a, b, c = (points[hull.simplices[:, i]] for i in range(3))
    areas = np.linalg.norm(np.cross(b - a, c - a), axis=1) / 2.0
    centred = points - points.mean(axis=0)
    _, axes = np.linalg.eigh(centred.T @ centred)
    return hull, areas, axes


def obb(points, **kw):
    hull, areas, axes = hull_inputs(points)
    return oriented_bounding_box(points, hull.simplices, hull.neighbors, hull.equations[:, :3], areas, axes, **kw)


@pytest.mark.parametrize("seed", range(4))
def test_hull_edges_obey_euler_and_join_their_two_faces(seed):
    points = np.random.default_rng(seed).normal(size=(60, 3))
    hull = ConvexHull(points)
    start, end, face_a, face_b = hull_edges(hull.simplices, hull.neighbors)
    n_vertices, n_faces = len(hull.vertices), len(hull.simplices)
    assert len(start) * 2 == 3 * n_faces  # every triangle edge shared by two triangles
    assert n_vertices - len(start) + n_faces == 2  # Euler, convex polytope
    assert len({frozenset(e) for e in zip(start, end)}) == len(start)
    for s, e, fa, fb in zip(start, end, face_a, face_b):
        assert {s, e} <= set(hull.simplices[fa]) and {s, e} <= set(hull.simplices[fb]) and fa != fb


@pytest.mark.parametrize("seed", range(3))
def test_oriented_box_recovers_a_rotated_box(seed):
    rng = np.random.default_rng(seed)
    dims = np.array([7.0, 3.0, 2.0])
    corners = (np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T - 0.5) * dims
    inside = (rng.random((200, 3)) - 0.5) * dims
    points = np.vstack([corners, inside]) @ random_rotation(rng).T + rng.normal(size=3) * 10
    assert sorted(obb(points)) == pytest.approx(sorted(dims), rel=1e-9)


def plane_by_plane_obb_volume(points):
    """Second method: for every hull plane and principal axis, the exact minimum-area
    rectangle of the 2-D projection (2-D Qhull, one side on each 2-D hull edge in turn)."""
    hull, _, axes = hull_inputs(points)
    normals = np.vstack([hull.equations[:, :3], axes.T])  # random points: no coplanar faces
    best = np.prod(np.ptp(points @ axes, axis=0))  # the principal-axis box is a candidate too
    for n in normals / np.linalg.norm(normals, axis=1, keepdims=True):
        helper = np.eye(3)[np.argmin(np.abs(n))]
        e1 = np.cross(n, helper)
        e1 /= np.linalg.norm(e1)
        flat = np.column_stack([points @ e1, points @ np.cross(n, e1)])
        ring = flat[ConvexHull(flat).vertices]
        edges = np.roll(ring, -1, axis=0) - ring
        for ex, ey in edges / np.linalg.norm(edges, axis=1, keepdims=True):
            area = np.ptp(flat @ [ex, ey]) * np.ptp(flat @ [-ey, ex])
            best = min(best, area * np.ptp(points @ n))
    return best


@pytest.mark.parametrize("seed", range(4))
def test_oriented_box_equals_plane_by_plane_rotating_callipers(seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(150, 3)) * [5.0, 2.0, 1.0] @ random_rotation(rng).T
    every_plane = math.prod(obb(points, n_faces=10**6, chunk=5000))  # chunked: several blocks
    assert every_plane == pytest.approx(plane_by_plane_obb_volume(points), rel=1e-9)
    # fewer candidate planes can only give a larger (still enclosing) box
    assert math.prod(obb(points)) >= every_plane * (1 - 1e-12)


def textbook_wa_ty(points, eps=1e-3):
    """Todd-Yildirim with away steps, rescaling all weights and Mahalanobis values each step."""
    p = np.asarray(points, float)
    n, d = p.shape
    q = np.hstack([p, np.ones((n, 1))])
    centred = p - p.mean(axis=0)
    proj = centred @ np.linalg.eigh(centred.T @ centred)[1]
    start = np.unique(np.concatenate([proj.argmax(axis=0), proj.argmin(axis=0)]))
    u = np.zeros(n)
    u[start] = 1.0 / len(start)
    target = d + 1.0
    while True:
        m = np.einsum("ij,ij->i", q, q @ np.linalg.inv((q.T * u) @ q))  # recomputed, no updates
        j, k = int(m.argmax()), int(np.where(u > 1e-15, m, np.inf).argmin())
        if max(m[j] / target - 1, 1 - m[k] / target) <= eps:
            break
        if m[j] - target >= target - m[k]:
            idx, step = j, (m[j] - target) / (target * (m[j] - 1))
        else:
            idx, step = k, max((m[k] - target) / (target * (m[k] - 1)), -u[k] / (1 - u[k]))
        u *= 1 - step
        u[idx] = max(u[idx] + step, 0.0)
    centre = p.T @ u
    return np.sqrt(np.linalg.eigvalsh(((p.T * u) @ p - np.outer(centre, centre)) * d))[::-1]


@pytest.mark.parametrize("seed", range(3))
def test_mvee_iteration_equals_the_textbook_update(seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(80, 3)) * [4.0, 2.0, 1.5] @ random_rotation(rng).T
    assert mvee_semi_axes(points) == pytest.approx(textbook_wa_ty(points), rel=1e-9)


def test_mvee_renormalising_the_scale_factor_changes_nothing(monkeypatch):
    points = np.random.default_rng(5).normal(size=(60, 3)) * [3.0, 2.0, 1.0]
    plain = mvee_semi_axes(points)
    monkeypatch.setattr(enclosing, "_SCALE_LIMIT", 1.05)  # fold back after almost every step
    assert mvee_semi_axes(points) == pytest.approx(plain, rel=1e-10)


def test_hull_candidates_keep_the_end_points_of_each_grid_line():
    # A 3 x 3 x 3 block of grid points: only the 8 corners end a line along all three axes.
    grid = np.stack(np.meshgrid(*[np.arange(3) * 0.5] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    kept = enclosing.hull_candidates(grid, (0.5, 0.5, 0.5))
    corners = np.all((grid == 0) | (grid == 1.0), axis=1)
    assert np.array_equal(kept, np.flatnonzero(corners))


def test_hull_candidates_off_grid_points_are_all_kept():
    points = np.random.default_rng(0).normal(size=(40, 3))
    assert np.array_equal(enclosing.hull_candidates(points, (0.5, 0.5, 0.5)), np.arange(40))


@pytest.mark.parametrize("seed", range(5))
def test_hull_of_the_candidates_is_the_hull_of_all_points(seed):
    from scipy import ndimage
    from neurorad.features.morphology import roi_mesh

    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(9, 14, 12)), 1.5)
    mask = field > np.quantile(field, 0.5)
    spacing = (2.0, 0.75, 1.0)
    verts, _ = roi_mesh(mask, spacing)
    kept = enclosing.hull_candidates(verts, np.asarray(spacing) / 2)
    full, reduced = ConvexHull(verts), ConvexHull(verts[kept])
    assert len(kept) < 0.7 * len(verts)
    assert np.array_equal(verts[full.vertices], verts[kept][reduced.vertices])  # same order too
    assert reduced.volume == pytest.approx(full.volume, rel=1e-12)
    assert reduced.area == pytest.approx(full.area, rel=1e-12)
