"""Logarithm image type (PyRadiomics ``Logarithm``).

    g(x) = sign(f(x)) log(|f(x)| + 1),   f'(x) = g(x) max |f| / max |g|,

maxima over the whole image given: the result keeps the intensity range of the input. An
all-zero image stays zero. Keys: only ``filter`` (``dimensions`` accepted and ignored).

Reference: van Griethuysen JJM, et al. Cancer Res 2017;77:e104-e107 (PyRadiomics, "Image
types").
"""
from __future__ import annotations

from neurorad.filters import _spec

NAME = "logarithm"
CHECKS = _spec.POINTWISE_CHECKS
required_keys = _spec.pointwise_required


def response(array, spacing, spec, xp):
    """sign(f) log(|f| + 1), rescaled to max |f|, on the array module ``xp``."""
    peak = float(xp.abs(array).max())
    g = xp.sign(array) * xp.log1p(xp.abs(array))
    return g * (peak / float(xp.abs(g).max())) if peak > 0 else g
