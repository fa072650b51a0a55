"""Exponential image type (PyRadiomics ``Exponential``).

    f'(x) = exp(c f(x)),   c = log(max |f|) / max |f|,

the maximum over the whole image given, so that the largest |intensity| maps to at most
max |f|. Undefined for an image whose intensities are all 0 (an error). Keys: only
``filter`` (``dimensions`` accepted and ignored).

Reference: van Griethuysen JJM, et al. Cancer Res 2017;77:e104-e107 (PyRadiomics, "Image
types").
"""
from __future__ import annotations

import math

from neurorad.errors import InputError
from neurorad.filters import _spec

NAME = "exponential"
CHECKS = _spec.POINTWISE_CHECKS
required_keys = _spec.pointwise_required


def response(array, spacing, spec, xp):
    """exp(log(max|f|) f / max|f|) on the array module ``xp``."""
    peak = float(xp.abs(array).max())
    if peak == 0:
        raise InputError("the exponential image type is undefined for an image whose "
                         "intensities are all 0 (its scale log(max|f|) / max|f| divides by 0)")
    return xp.exp(array * (math.log(peak) / peak))
