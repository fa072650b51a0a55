"""Procedural head phantom: tissue labels evaluated on a randomly warped coordinate grid.

The phantom is analytic: every structure is an implicit function of *template* coordinates
(millimetres, LPS: +z superior, +y posterior, +x patient left, origin at the grid centre).
A subject is a smooth random warp ``q = s * p + u(p)`` from subject coordinates ``p`` to
template coordinates ``q``; evaluating the implicit functions at ``q`` gives the subject's
tissue labels directly, without resampling a template volume.

Structures: scalp, skull, CSF (subarachnoid, sulcal, ventricles), cortical grey matter with
a random folding pattern, white matter, thalami, lentiform nuclei, caudate heads, internal
capsules, corpus callosum, brainstem with cerebral peduncles, cerebellum. Their sizes and
positions are rounded textbook values (adult brain ~ 124 x 156 x 92 mm); they are meant to
look brain-like at 2 mm and to give the standardised ROIs of the DAI study (``LANDMARKS``) a
plausible home, not to be an atlas.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

#: Default grid of the synthetic cohorts: 2-mm voxels, (z, y, x) = 116 x 176 x 144 mm.
GRID_SHAPE = (58, 88, 72)
#: Template-to-subject size: subject heads are 1/1.1 of the template on average (the template
#: is a large adult head; the smaller subject head fits a smaller grid, which keeps the
#: cohorts quick to write).
TEMPLATE_SCALE = 1.1
GRID_SPACING = (2.0, 2.0, 2.0)


class Tissue(IntEnum):
    """Tissue codes of the phantom's label map."""

    BACKGROUND = 0
    SCALP = 1
    SKULL = 2
    CSF = 3
    GREY_MATTER = 4
    WHITE_MATTER = 5
    THALAMUS = 6
    LENTIFORM = 7
    CAUDATE = 8
    CORPUS_CALLOSUM = 9
    INTERNAL_CAPSULE = 10
    BRAINSTEM = 11
    CEREBELLUM_GM = 12
    CEREBELLUM_WM = 13
    VENTRICLE = 14


N_TISSUES = len(Tissue)
BRAIN_TISSUES = (Tissue.GREY_MATTER, Tissue.WHITE_MATTER, Tissue.THALAMUS, Tissue.LENTIFORM,
                 Tissue.CAUDATE, Tissue.CORPUS_CALLOSUM, Tissue.INTERNAL_CAPSULE,
                 Tissue.BRAINSTEM, Tissue.CEREBELLUM_GM, Tissue.CEREBELLUM_WM)
INTRACRANIAL = BRAIN_TISSUES + (Tissue.CSF, Tissue.VENTRICLE)

# Ellipsoids as (centre (z, y, x), semi-axes (z, y, x)) in template mm.
CEREBRUM = ((2.0, 0.0, 0.0), (46.0, 78.0, 62.0))
CEREBELLUM = ((-34.0, 46.0, 0.0), (16.0, 26.0, 46.0))
BRAINSTEM_AXIS_YX = (14.0, 0.0)          # centre of the brainstem's cross-section
BRAINSTEM_SEMI_YX = (13.0, 13.0)
BRAINSTEM_TOP_Z = -6.0
# Layers outside the brain, as radial distance from the brain envelope (mm).
CSF_OUTER, SKULL_OUTER, SCALP_OUTER = 3.0, 9.0, 15.0

#: Centres (template mm, (z, y, x)) and radii (mm) of the 15 standardised DAI ROIs, each a
#: disc on the axial slice through its centre. ``_L`` is the patient's left (+x in LPS).
LANDMARKS: dict[str, tuple[tuple[float, float, float], float]] = {
    "thalamus_L": ((4.0, 8.0, 9.0), 5.0),
    "thalamus_R": ((4.0, 8.0, -9.0), 5.0),
    "lentiform_L": ((2.0, -6.0, 29.0), 5.0),
    "lentiform_R": ((2.0, -6.0, -29.0), 5.0),
    "centrum_semiovale_L": ((32.0, 0.0, 22.0), 7.0),
    "centrum_semiovale_R": ((32.0, 0.0, -22.0), 7.0),
    "cc_genu": ((8.0, -42.0, 0.0), 5.0),
    "cc_splenium": ((8.0, 38.0, 0.0), 5.0),
    "cerebral_peduncle_L": ((-12.0, 6.0, 9.0), 4.0),
    "cerebral_peduncle_R": ((-12.0, 6.0, -9.0), 4.0),
    "brainstem": ((-30.0, 14.0, 0.0), 6.0),
    "alic_L": ((6.0, -18.0, 19.5), 4.0),
    "alic_R": ((6.0, -18.0, -19.5), 4.0),
    "plic_L": ((4.0, 10.0, 19.5), 4.0),
    "plic_R": ((4.0, 10.0, -19.5), 4.0),
}


@dataclass(frozen=True)
class Grid:
    """A voxel grid: ``shape`` and ``spacing`` in (z, y, x); the grid centre is at 0 mm."""

    shape: tuple[int, int, int] = GRID_SHAPE
    spacing: tuple[float, float, float] = GRID_SPACING

    @property
    def origin(self) -> tuple[float, float, float]:
        """Physical position (z, y, x) of voxel (0, 0, 0), in mm."""
        return tuple(-(n - 1) / 2.0 * s for n, s in zip(self.shape, self.spacing))

    def axes(self) -> list[np.ndarray]:
        """Physical coordinates (mm) of the voxel centres along z, y and x."""
        return [(o + s * np.arange(n)).astype(np.float32)
                for o, s, n in zip(self.origin, self.spacing, self.shape)]

    def to_index(self, point) -> np.ndarray:
        """Continuous voxel index (z, y, x) of a physical point (mm)."""
        return (np.asarray(point, float) - np.asarray(self.origin)) / np.asarray(self.spacing)


def _cosine_basis(t: np.ndarray, half_extent: float, n_terms: int) -> np.ndarray:
    """Low-frequency basis ``cos(k*pi*(t/half_extent + 1)/2)``, k = 0..n_terms-1 (rows)."""
    xi = (np.asarray(t, np.float64) / half_extent + 1.0) / 2.0
    k = np.arange(n_terms)[:, None]
    return np.cos(np.pi * k * xi[None, :])


@dataclass(frozen=True)
class Warp:
    """Smooth map from subject to template coordinates: ``q = scale * p + u(p)``.

    ``u`` is a sum of separable low-frequency cosines (``n_terms`` per axis) with coefficient
    tensors ``coefficients[c]`` (mm) for each displacement component c in (z, y, x).
    """

    scale: tuple[float, float, float]
    coefficients: np.ndarray            # (3, n, n, n)
    half_extent: tuple[float, float, float]

    def displacement(self, axes: list[np.ndarray]) -> list[np.ndarray]:
        """Displacement u (mm) on the grid spanned by 1-D ``axes`` (z, y, x)."""
        n = self.coefficients.shape[1]
        bz, by, bx = (_cosine_basis(a, h, n) for a, h in zip(axes, self.half_extent))
        out = []
        for coef in self.coefficients:
            # Contract one axis at a time: 3 small matrix products instead of an n^3 sum.
            t = np.tensordot(coef, bx, axes=(2, 0))            # (k, l, X)
            t = np.einsum("klx,ly->kyx", t, by)
            out.append(np.tensordot(bz, t, axes=(0, 0)).astype(np.float32))  # (Z, Y, X)
        return out

    def template_coords(self, grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Template coordinates (qz, qy, qx) of every voxel of ``grid``, float32 arrays."""
        axes = grid.axes()
        uz, uy, ux = self.displacement(axes)
        z, y, x = axes
        return (self.scale[0] * z[:, None, None] + uz,
                self.scale[1] * y[None, :, None] + uy,
                self.scale[2] * x[None, None, :] + ux)

    def subject_point(self, template_point) -> np.ndarray:
        """Subject position (mm) that the warp sends to ``template_point``.

        Solves ``s * p + u(p) = q`` by fixed-point iteration ``p <- (q - u(p)) / s``, which
        converges because the displacement is small and smooth (|grad u| << s).
        """
        q = np.asarray(template_point, float)
        scale = np.asarray(self.scale)
        p = q / scale
        for _ in range(12):
            u = np.array([d.ravel()[0] for d in self.displacement([np.array([c]) for c in p])])
            p = (q - u) / scale
        return p


def random_warp(rng: np.random.Generator, grid: Grid, *, amplitude_mm: float = 2.5,
                scale_sd: float = 0.03, n_terms: int = 3) -> Warp:
    """A random subject warp: anisotropic head-size scaling and a smooth displacement.

    The scale is ``TEMPLATE_SCALE * (1 + scale_sd * N(0, 1))`` per axis (clipped to +/- 7 %).

    The coefficients are normal with a standard deviation chosen so that the displacement's
    root-mean-square is about ``amplitude_mm``.
    """
    scale = tuple(float(v) for v in TEMPLATE_SCALE * np.clip(
        1.0 + scale_sd * rng.standard_normal(3), 0.93, 1.07))
    coef = rng.standard_normal((3, n_terms, n_terms, n_terms)) * amplitude_mm / np.sqrt(
        n_terms ** 3 / 2.0)
    half = tuple((n - 1) / 2.0 * s for n, s in zip(grid.shape, grid.spacing))
    return Warp(scale, coef, half)


def ellipsoid_radius(qz, qy, qx, centre, semi) -> np.ndarray:
    """Normalised ellipsoid radius ``f = ||(q - c) / a||`` (f < 1 inside)."""
    return np.sqrt(((qz - centre[0]) / semi[0]) ** 2 + ((qy - centre[1]) / semi[1]) ** 2
                   + ((qx - centre[2]) / semi[2]) ** 2)


def _radial_distance(qz, qy, qx, centre, semi) -> np.ndarray:
    """Signed distance (mm) to an ellipsoid's surface along the ray from its centre.

    For a point at distance r from the centre with normalised radius f, the surface lies at
    r / f on the same ray, so the distance is ``r * (1 - 1/f)`` (negative inside).
    """
    f = ellipsoid_radius(qz, qy, qx, centre, semi)
    r = np.sqrt((qz - centre[0]) ** 2 + (qy - centre[1]) ** 2 + (qx - centre[2]) ** 2)
    return r - r / np.maximum(f, 1e-6)


def _brainstem_distance(qz, qy, qx) -> np.ndarray:
    """Radial distance (mm) to the brainstem, an elliptic cylinder below ``BRAINSTEM_TOP_Z``."""
    cy, cx = BRAINSTEM_AXIS_YX
    ay, ax = BRAINSTEM_SEMI_YX
    f = np.sqrt(((qy - cy) / ay) ** 2 + ((qx - cx) / ax) ** 2)
    r = np.sqrt((qy - cy) ** 2 + (qx - cx) ** 2)
    d = r - r / np.maximum(f, 1e-6)
    return np.where(qz <= BRAINSTEM_TOP_Z, d, np.maximum(d, qz - BRAINSTEM_TOP_Z))


@dataclass(frozen=True)
class Folding:
    """A random gyral pattern: a sum of plane waves ``cos(k_i . q + phi_i)``, unit variance."""

    wave_vectors: np.ndarray    # (n, 3), rad/mm
    phases: np.ndarray          # (n,)

    def __call__(self, qz, qy, qx) -> np.ndarray:
        total = np.zeros(np.shape(qz), np.float32)
        for (kz, ky, kx), phi in zip(self.wave_vectors, self.phases):
            total += np.cos(kz * qz + ky * qy + kx * qx + phi, dtype=np.float32)
        return total * np.float32(np.sqrt(2.0 / len(self.phases)))


def random_folding(rng: np.random.Generator, *, n_waves: int = 10,
                   wavelength_mm: tuple[float, float] = (14.0, 28.0)) -> Folding:
    """Random plane-wave folding pattern with wavelengths drawn from ``wavelength_mm``."""
    directions = rng.standard_normal((n_waves, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    wavelengths = rng.uniform(*wavelength_mm, n_waves)
    return Folding(directions * (2 * np.pi / wavelengths)[:, None],
                   rng.uniform(0, 2 * np.pi, n_waves))


def brain_envelope_distance(qz, qy, qx) -> np.ndarray:
    """Signed radial distance (mm) to the union of cerebrum, cerebellum and brainstem."""
    return np.minimum(np.minimum(_radial_distance(qz, qy, qx, *CEREBRUM),
                                 _radial_distance(qz, qy, qx, *CEREBELLUM)),
                      _brainstem_distance(qz, qy, qx))


def tissue_labels(qz, qy, qx, folding: Folding) -> np.ndarray:
    """Tissue label map (``Tissue`` codes, uint8) at template coordinates ``q``.

    Later assignments override earlier ones: layers outside the brain, cortex and white
    matter of the cerebrum, cerebellum, brainstem, deep grey nuclei, internal capsules,
    corpus callosum, ventricles.
    """
    labels = np.zeros(np.shape(qz), np.uint8)
    d_env = brain_envelope_distance(qz, qy, qx)
    labels[d_env <= SCALP_OUTER] = Tissue.SCALP
    labels[d_env <= SKULL_OUTER] = Tissue.SKULL
    labels[d_env <= CSF_OUTER] = Tissue.CSF

    # Cerebrum: cortex 3.5-9.5 mm thick following the folding pattern; sulci are CSF clefts.
    # The folding pattern is only evaluated in the outer 10 mm of the cerebrum (cost).
    d_cer = _radial_distance(qz, qy, qx, *CEREBRUM)
    inside = d_cer <= 0
    labels[inside] = Tissue.WHITE_MATTER
    shell = inside & (d_cer > -10.0)
    fold = np.clip(folding(qz[shell], qy[shell], qx[shell]), -1.0, 1.0)
    thickness = 6.5 + 3.0 * fold
    depth = d_cer[shell]
    shell_labels = labels[shell]
    shell_labels[depth > -thickness] = Tissue.GREY_MATTER
    shell_labels[(fold > 0.9) & (depth > -0.8 * thickness)] = Tissue.CSF
    labels[shell] = shell_labels

    # Cerebellum overrides the occipital pole below the tentorium; folia from a finer pattern.
    d_cb = _radial_distance(qz, qy, qx, *CEREBELLUM)
    in_cb = d_cb <= 0
    labels[in_cb] = Tissue.CEREBELLUM_WM
    folia = np.cos(qz * 0.9 + 0.3 * qy) * np.cos(qy * 0.7)
    labels[in_cb & ((d_cb > -5.0) | (folia > 0.55))] = Tissue.CEREBELLUM_GM

    in_bs = _brainstem_distance(qz, qy, qx) <= 0
    for side in (1.0, -1.0):
        in_bs |= ellipsoid_radius(qz, qy, qx, (-12.0, 6.0, 9.0 * side), (8.0, 8.0, 6.0)) <= 1
    labels[in_bs] = Tissue.BRAINSTEM

    # Deep structures live in the central box |x| < 40, -20 < z < 40, -60 < y < 50 (template
    # mm); evaluating them on that box only saves most of the work.
    box = index_box((np.abs(qx) < 40) & (qz > -20) & (qz < 40) & (qy > -60) & (qy < 50))
    if box is not None:
        sub = labels[box]
        _deep_structures(sub, qz[box], qy[box], qx[box], inside[box])
        labels[box] = sub
    return labels


def index_box(selection: np.ndarray):
    """Smallest index box (tuple of slices) containing all True voxels, or None."""
    if not selection.any():
        return None
    box = []
    for axis in range(selection.ndim):
        other = tuple(a for a in range(selection.ndim) if a != axis)
        hit = np.flatnonzero(selection.any(axis=other))
        box.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(box)


def _deep_structures(labels, qz, qy, qx, inside) -> None:
    """Paint internal capsules, deep grey nuclei, corpus callosum and ventricles in place."""
    wm = labels == Tissue.WHITE_MATTER
    in_ic = (np.abs(qx) >= 15.5) & (np.abs(qx) <= 23.0) & (qz >= -6) & (qz <= 14) & (
        qy >= -28) & (qy <= 18)
    labels[wm & in_ic] = Tissue.INTERNAL_CAPSULE

    for side in (1.0, -1.0):
        labels[ellipsoid_radius(qz, qy, qx, (4.0, 8.0, 9.0 * side), (9.0, 14.0, 7.0)) <= 1] = \
            Tissue.THALAMUS
        labels[ellipsoid_radius(qz, qy, qx, (2.0, -6.0, 29.0 * side), (11.0, 16.0, 6.0)) <= 1] \
            = Tissue.LENTIFORM
        labels[ellipsoid_radius(qz, qy, qx, (12.0, -22.0, 12.0 * side), (8.0, 10.0, 4.0)) <= 1] \
            = Tissue.CAUDATE

    # Corpus callosum: an arched shell over the ventricles, genu anterior, splenium posterior.
    arch = np.sqrt(((qz - 8.0) / 14.0) ** 2 + ((qy + 2.0) / 34.0) ** 2)
    labels[(arch >= 1.0) & (arch <= 1.4) & (np.abs(qx) < 18.0) & (qz > 0.0) & inside] = \
        Tissue.CORPUS_CALLOSUM

    for side in (1.0, -1.0):
        labels[ellipsoid_radius(qz, qy, qx, (15.0, -4.0, 9.0 * side), (7.0, 28.0, 5.5)) <= 1] \
            = Tissue.VENTRICLE
    labels[ellipsoid_radius(qz, qy, qx, (-2.0, 6.0, 0.0), (8.0, 12.0, 1.5)) <= 1] = \
        Tissue.VENTRICLE


@dataclass(frozen=True)
class Head:
    """One subject's anatomy: its warp, folding pattern and tissue labels on ``grid``."""

    grid: Grid
    warp: Warp
    labels: np.ndarray
    template: tuple[np.ndarray, np.ndarray, np.ndarray]   # template coords of every voxel

    def subject_index(self, template_point) -> np.ndarray:
        """Continuous voxel index (z, y, x) of a template point in this subject."""
        return self.grid.to_index(self.warp.subject_point(template_point))


def random_head(rng: np.random.Generator, grid: Grid | None = None) -> Head:
    """A random subject head: random warp and folding, then ``tissue_labels``."""
    grid = grid or Grid()
    warp = random_warp(rng, grid)
    folding = random_folding(rng)
    q = warp.template_coords(grid)
    return Head(grid, warp, tissue_labels(*q, folding), q)


def smooth_field(rng: np.random.Generator, shape, sigma_voxels: float) -> np.ndarray:
    """Gaussian random field (float32) with unit standard deviation, smoothed by ``sigma``."""
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32),
                                    sigma_voxels, truncate=3.0)
    return field / np.float32(field.std() or 1.0)
