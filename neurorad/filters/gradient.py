"""Gradient magnitude image type (PyRadiomics ``Gradient``).

    f'(x) = sqrt( sum_d ((f(x + e_d) - f(x - e_d)) / (2 s_d))^2 ),

central differences along every filtered axis d (3-D, or x and y for ``2d``), s_d the
spacing in mm, so the result is in intensity per mm (PyRadiomics' default
``gradientUseSpacing: true``); the neighbours beyond the edge come from ``boundary``
(SimpleITK / PyRadiomics use ``nearest``, zero-flux Neumann). Keys: ``dimensions``,
``boundary``. Spatial (3-tap 1-D convolutions).

Reference: van Griethuysen JJM, et al. Cancer Res 2017;77:e104-e107 (PyRadiomics, "Image
types"); ITK GradientMagnitudeImageFilter.
"""
from __future__ import annotations

from neurorad.filters import _core, _spec

NAME = "gradient"
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS),
          "boundary": _spec.choice(*_spec.BOUNDARIES)}


def required_keys(spec) -> set[str]:
    return {"dimensions", "boundary"}


def response(array, spacing, spec, xp):
    """Gradient magnitude (intensity / mm) on the array module ``xp``."""
    total = None
    for a in _core.filter_axes(spec["dimensions"]):
        d = _core.central_difference(array, spacing, a, spec["boundary"], xp)
        total = d * d if total is None else total + d * d
    return xp.sqrt(total)
