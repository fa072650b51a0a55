"""Square image type (PyRadiomics ``Square``).

    f'(x) = (c f(x))^2,   c = 1 / sqrt(max |f|),   i.e.  f' = f^2 / max |f|,

the maximum over the whole image given (as PyRadiomics computes it); an all-zero image
stays zero. Keys: only ``filter`` (``dimensions`` accepted and ignored).

Reference: van Griethuysen JJM, et al. Computational radiomics system to decode the
radiographic phenotype. Cancer Res 2017;77:e104-e107 (PyRadiomics documentation, "Image
types").
"""
from __future__ import annotations

from neurorad.filters import _spec

NAME = "square"
CHECKS = _spec.POINTWISE_CHECKS
required_keys = _spec.pointwise_required


def response(array, spacing, spec, xp):
    """f^2 / max |f| on the array module ``xp``."""
    peak = float(xp.abs(array).max())
    return array * array / peak if peak > 0 else xp.zeros_like(array)
