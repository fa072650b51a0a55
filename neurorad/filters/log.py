"""Laplacian of Gaussian (IBSI 2, section 2.2; IBSI code L6PA).

The kernel is sampled on the voxel grid with the standard deviation in voxels,
sigma_d = ``sigma_mm`` / spacing_d along each filtered axis d:

    g(k) = sum_d (k_d^2 / sigma_d^2 - 1) / sigma_d^2 * prod_e G_e(k_e),
    G_e(k) = exp(-k^2 / (2 sigma_e^2)) / (sigma_e sqrt(2 pi)),

which for isotropic voxels is the manual's
g(k) = -(1 / sigma^2) (sigma sqrt(2 pi))^-D (D - |k|^2 / sigma^2) exp(-|k|^2 / (2 sigma^2)).
The kernel is truncated to the box |k_d| <= floor(``cutoff_sigmas`` sigma_d + 0.5) and not
renormalised; there is no sigma^2 scale normalisation (IBSI 2 phase 1, test 2.a).

Applied spatially as a sum of D separable terms (the second derivative of the 1-D Gaussian
along d times 1-D Gaussians along the other axes): D^2 1-D convolutions of length
2 r + 1 instead of a (2 r + 1)^D kernel.

Reference: IBSI 2 reference manual, arXiv:2006.05470.
"""
from __future__ import annotations

import math

import numpy as np

from neurorad.filters import _core, _spec

NAME = "log"
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS),
          "boundary": _spec.choice(*_spec.BOUNDARIES),
          "sigma_mm": _spec.positive_float,
          "cutoff_sigmas": _spec.positive_float}


def required_keys(spec) -> set[str]:
    return {"dimensions", "boundary", "sigma_mm", "cutoff_sigmas"}


def sigmas_voxels(spec, spacing, axes) -> dict[int, float]:
    """sigma in voxels along each filtered NumPy axis."""
    return {a: float(spec["sigma_mm"]) / float(spacing[a]) for a in axes}


def radius(sigma_voxels: float, cutoff_sigmas: float) -> int:
    """Truncation radius floor(cutoff * sigma + 0.5) voxels."""
    return int(math.floor(cutoff_sigmas * sigma_voxels + 0.5))


def gaussian_pieces(sigma: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """The sampled 1-D Gaussian G(k) and its second derivative G''(k), k = -r..r."""
    k = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-k ** 2 / (2.0 * sigma ** 2)) / (sigma * math.sqrt(2.0 * math.pi))
    return g, (k ** 2 / sigma ** 2 - 1.0) / sigma ** 2 * g


def separable_terms(spec, spacing, axes) -> list[dict[int, np.ndarray]]:
    """The D separable terms of the kernel: for each axis d, G'' along d and G elsewhere."""
    pieces = {}
    for a, s in sigmas_voxels(spec, spacing, axes).items():
        pieces[a] = gaussian_pieces(s, radius(s, float(spec["cutoff_sigmas"])))
    return [{a: pieces[a][1 if a == d else 0] for a in axes} for d in axes]


def kernel(spec, spacing, axes) -> np.ndarray:
    """The full D-dimensional kernel (for the Riesz transform and for tests)."""
    out = 0.0
    for term in separable_terms(spec, spacing, axes):
        product = np.ones([1] * len(axes))
        for i, a in enumerate(axes):
            shape = [1] * len(axes)
            shape[i] = -1
            product = product * term[a].reshape(shape)
        out = out + product
    return out


def response(array, spacing, spec, xp):
    """LoG response of ``array`` (z, y, x) on the array module ``xp``."""
    axes = _core.filter_axes(spec["dimensions"])
    out = None
    for term in separable_terms(spec, spacing, axes):
        r = _core.convolve_separable(array, term, spec["boundary"], xp)
        out = r if out is None else out + r
    return out
