"""Square-root image type (PyRadiomics ``SquareRoot``).

    f'(x) = sign(f(x)) sqrt(c |f(x)|),   c = max |f|,

the maximum over the whole image given; the sign is kept so negative intensities (CT) map to
negative values. Keys: only ``filter`` (``dimensions`` accepted and ignored).

Reference: van Griethuysen JJM, et al. Cancer Res 2017;77:e104-e107 (PyRadiomics, "Image
types").
"""
from __future__ import annotations

from neurorad.filters import _spec

NAME = "square_root"
CHECKS = _spec.POINTWISE_CHECKS
required_keys = _spec.pointwise_required


def response(array, spacing, spec, xp):
    """sign(f) sqrt(max|f| |f|) on the array module ``xp``."""
    peak = float(xp.abs(array).max())
    return xp.sign(array) * xp.sqrt(xp.abs(array) * peak)
