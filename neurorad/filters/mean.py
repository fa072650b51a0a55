"""Mean filter (IBSI 2, section 2.1; IBSI code S60F).

The response is the average of the M^D voxels of the window centred on each voxel, padded
voxels included:

    h(k) = 1 / M^D   for |k_d| <= (M - 1) / 2 on every filtered axis d,

with M = ``support_voxels`` (odd) and D = 3 (``3d``) or 2 (``2d``: M x M in the x-y plane).
Applied as D 1-D convolutions with ``ones(M) / M`` (separable, spatial).

Reference: Depeursinge A, et al. Standardised convolutional filtering for radiomics
(IBSI 2 reference manual), arXiv:2006.05470.
"""
from __future__ import annotations

import numpy as np

from neurorad.filters import _core, _spec

NAME = "mean"
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS),
          "boundary": _spec.choice(*_spec.BOUNDARIES),
          "support_voxels": _spec.odd_positive_int}


def required_keys(spec) -> set[str]:
    return {"dimensions", "boundary", "support_voxels"}


def box_kernel(support: int) -> np.ndarray:
    """The 1-D averaging kernel ``ones(M) / M``."""
    return np.full(int(support), 1.0 / int(support))


def response(array, spacing, spec, xp):
    """Mean-filter response of ``array`` (z, y, x) on the array module ``xp``."""
    kernel = box_kernel(spec["support_voxels"])
    axes = _core.filter_axes(spec["dimensions"])
    return _core.convolve_separable(array, {a: kernel for a in axes}, spec["boundary"], xp)
