"""Convolutional filters of IBSI chapter 2, and the simple image types PyRadiomics offers.

Two entry points:

``apply(image, spec) -> SimpleITK.Image``
    The response map of a ``SimpleITK.Image`` on the same grid (size, spacing, origin,
    direction), as 64-bit float.
``apply_array(array, spacing, spec, xp=None) -> array``
    The same on an array: ``array`` in NumPy order (z, y, x), ``spacing`` in mm in the same
    (z, y, x) order, the result on the array module ``xp`` (NumPy or CuPy; default: the
    module owning ``array``). This is what the extraction orchestrator calls, on the CPU or
    the GPU.

``spec`` is a dict with exactly the keys of ``shared/ibsi2/phase1_cases.json``, e.g.
``{"filter": "log", "dimensions": "3d", "boundary": "mirror", "sigma_mm": 1.5,
"cutoff_sigmas": 4.0}``; ``FILTERS`` maps each ``filter`` name to its module (which
documents its keys, formula and reference; see also ``docs/filters.md``). An unknown or
missing key is a :class:`FilterSpecError` (a ``SettingsInputError``) naming the key.
Axes: the spec's x, y, z are the image index axes (SimpleITK i, j, k = NumPy axes 2, 1, 0);
``2d`` filters act in the x-y plane of each z slice.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from neurorad import backend
from neurorad.errors import InputError
from neurorad.filters import (exponential, gabor, gradient, identity, laws, log, logarithm, mean,
                              riesz, simoncelli, square, square_root, wavelet)
from neurorad.filters._spec import FilterSpecError, validate

__all__ = ["FILTERS", "FilterSpecError", "apply", "apply_array", "validate_spec"]

# IBSI chapter 2 filters, then the simple image types of PyRadiomics
FILTERS = {module.NAME: module for module in (
    identity, mean, log, laws, gabor, wavelet, simoncelli, riesz,
    square, square_root, logarithm, exponential, gradient)}


def validate_spec(spec: Mapping) -> None:
    """Raise :class:`FilterSpecError` unless ``spec`` is a complete, valid filter spec."""
    if not isinstance(spec, Mapping):
        raise FilterSpecError(f"a filter spec must be a mapping, got {type(spec).__name__}")
    if "filter" not in spec:
        raise FilterSpecError("filter spec: missing key 'filter'")
    module = FILTERS.get(spec["filter"])
    if module is None:
        raise FilterSpecError(f"'filter' must be one of {sorted(FILTERS)}, got {spec['filter']!r}")
    validate(spec, module.CHECKS, module.required_keys(spec))
    extra = getattr(module, "check", None)
    if extra is not None:
        extra(spec)


def apply_array(array, spacing, spec: Mapping, xp=None):
    """Response map of a 3-D array (z, y, x) with voxel ``spacing`` (z, y, x) in mm.

    Parameters
    ----------
    array : numpy.ndarray or cupy.ndarray
        Image intensities, shape (z, y, x); a single slice is (1, y, x).
    spacing : sequence of 3 floats
        Voxel spacing in mm, (z, y, x) order.
    spec : mapping
        Filter spec (see the module docstring).
    xp : module, optional
        ``numpy`` or ``cupy``: where to compute; the array is moved there if needed.

    Returns
    -------
    Array of float64 on ``xp``, same shape as ``array``.
    """
    validate_spec(spec)
    if xp is None:
        xp = backend.get_xp(array)
    if backend.get_xp(array) is not xp:
        array = backend.to_device(backend.to_numpy(array), xp)
    data = xp.asarray(array, dtype=xp.float64)
    if data.ndim != 3:
        raise InputError(f"filters need a 3-D (z, y, x) image, got shape {tuple(data.shape)}")
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != 3 or not all(s > 0 for s in spacing):
        raise InputError(f"spacing must be three positive numbers (z, y, x), got {spacing}")
    if not bool(xp.isfinite(data).all()):
        raise InputError("the image has non-finite (NaN or infinite) voxels; filters would "
                         "spread them: fill or mask them first")
    return FILTERS[spec["filter"]].response(data, spacing, spec, xp)


def apply(image, spec: Mapping):
    """Response map of a ``SimpleITK.Image`` (3-D, scalar) on the same grid, as 64-bit float.

    Parameters
    ----------
    image : SimpleITK.Image
        Scalar 3-D image.
    spec : mapping
        Filter spec (see the module docstring).

    Examples
    --------
    The mean filter leaves a constant image constant, whatever its boundary condition:

    >>> import numpy as np, SimpleITK as sitk
    >>> from neurorad.filters import apply
    >>> image = sitk.GetImageFromArray(np.full((4, 5, 6), 7.0))
    >>> spec = {"filter": "mean", "dimensions": "3d", "boundary": "mirror",
    ...         "support_voxels": 3}
    >>> response = sitk.GetArrayFromImage(apply(image, spec))
    >>> response.shape, bool(np.allclose(response, 7.0))
    ((4, 5, 6), True)
    """
    import SimpleITK as sitk

    validate_spec(spec)
    if image.GetNumberOfComponentsPerPixel() != 1 or image.GetDimension() != 3:
        raise InputError("filters need a scalar 3-D image, got "
                         f"{image.GetDimension()}-D with {image.GetNumberOfComponentsPerPixel()}"
                         " components per voxel")
    array = sitk.GetArrayFromImage(image).astype(np.float64)
    spacing = tuple(reversed(image.GetSpacing()))
    result = backend.to_numpy(apply_array(array, spacing, spec, xp=np))
    out = sitk.GetImageFromArray(np.ascontiguousarray(result, dtype=np.float64))
    out.CopyInformation(image)
    return out
