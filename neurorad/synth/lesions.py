"""Lesion shapes (implicit functions in subject mm) and slice-by-slice mask drawing."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scipy import ndimage

from neurorad.synth.anatomy import Grid, index_box


@dataclass(frozen=True)
class Blob:
    """An ellipsoid with an optional cylindrical tail (a schwannoma's canal part).

    ``f(p) = min(f_ellipsoid(p), f_tail(p))``; the lesion is ``f <= 1``. The tail runs from
    the centre along +x (``tail_direction`` = +1) or -x (-1) for ``tail_length`` mm with
    radius ``tail_radius``.
    """

    centre: tuple[float, float, float]          # mm (z, y, x), subject space
    semi_axes: tuple[float, float, float]       # mm
    tail_direction: float = 0.0
    tail_length: float = 0.0
    tail_radius: float = 0.0

    def extent_mm(self) -> float:
        """Radius of a ball around ``centre`` that contains the lesion."""
        return max(max(self.semi_axes), self.tail_length) + 1.0

    def implicit(self, z, y, x) -> np.ndarray:
        """``f`` at physical points (broadcastable arrays, mm)."""
        cz, cy, cx = self.centre
        az, ay, ax = self.semi_axes
        f = np.sqrt(((z - cz) / az) ** 2 + ((y - cy) / ay) ** 2 + ((x - cx) / ax) ** 2)
        if self.tail_length > 0:
            half = self.tail_length / 2.0
            t = self.tail_direction * (x - cx)
            radial = np.sqrt((z - cz) ** 2 + (y - cy) ** 2) / self.tail_radius
            f = np.minimum(f, np.maximum(radial, np.abs(t - half) / half))
        return f


def bounding_box(grid: Grid, blob: Blob, margin_voxels: int = 2) -> tuple[slice, ...]:
    """Index box (slices in z, y, x) of ``grid`` containing ``blob`` plus a margin."""
    centre = grid.to_index(blob.centre)
    reach = blob.extent_mm() / np.asarray(grid.spacing) + margin_voxels
    return tuple(slice(max(0, int(np.floor(c - r))), min(n, int(np.ceil(c + r)) + 1))
                 for c, r, n in zip(centre, reach, grid.shape))


def blob_mask(grid: Grid, blob: Blob) -> np.ndarray:
    """Boolean volume of ``blob`` on ``grid`` (the true lesion extent)."""
    box = bounding_box(grid, blob)
    z, y, x = (a[s] for a, s in zip(grid.axes(), box))
    out = np.zeros(grid.shape, bool)
    out[box] = blob.implicit(z[:, None, None], y[None, :, None], x[None, None, :]) <= 1.0
    return out


def slice_drawn_mask(grid: Grid, blob: Blob, rng: np.random.Generator, *,
                     shift_sd_mm: float = 0.7, level_sd: float = 0.06) -> np.ndarray:
    """Mask as a rater draws it: one 2-D outline per axial slice, stacked to 3-D.

    On slice k the outline is ``f(z_k, y + dy_k, x + dx_k) <= 1 + e_k`` with an in-plane
    shift ``(dy_k, dx_k) ~ N(0, shift_sd_mm^2)`` and a contour level jitter
    ``e_k ~ N(0, level_sd^2)``: each slice is slightly off in position and size, independently
    of its neighbours, which is what stacking per-slice drawings produces.
    """
    box = bounding_box(grid, blob)
    z, y, x = (a[s] for a, s in zip(grid.axes(), box))
    out = np.zeros(grid.shape, bool)
    for k, zk in enumerate(z):
        dy, dx = rng.normal(0.0, shift_sd_mm, 2)
        level = 1.0 + rng.normal(0.0, level_sd)
        plane = blob.implicit(zk, y[:, None] + dy, x[None, :] + dx) <= level
        out[box[0].start + k, box[1], box[2]] = plane
    return out


def lesion_pattern(rng: np.random.Generator, extent: np.ndarray, sigma_voxels: float = 0.7
                   ) -> np.ndarray:
    """Zero-mean, unit-SD smooth random values at the True voxels of ``extent`` (1-D).

    Drawn on the lesion's bounding box only (plus a margin for the smoothing kernel).
    """
    box = index_box(extent)
    if box is None:
        return np.zeros(0, np.float32)
    pad = int(np.ceil(3 * sigma_voxels))
    grown = tuple(slice(max(0, s.start - pad), min(n, s.stop + pad))
                  for s, n in zip(box, extent.shape))
    local = ndimage.gaussian_filter(rng.standard_normal(
        tuple(s.stop - s.start for s in grown), np.float32), sigma_voxels, truncate=3.0)
    values = local[extent[grown]]
    values -= values.mean()
    return values / np.float32(values.std() or 1.0)
