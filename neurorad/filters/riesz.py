"""Riesz transforms of a base filter (IBSI 2, section 2.8), plain and steered by the local
structure tensor.

The Riesz transform of order l = (l_x, l_y, l_z) (``riesz_order``, x, y, z order; two
entries in 2-D), L = l_x + l_y + l_z, multiplies the base filter's transfer function by

    R_l(w) = (-i)^L sqrt(L! / (l_x! l_y! l_z!)) w_x^l_x w_y^l_y w_z^l_z / |w|^L,

(R_l(0) = 0 for L > 0), w in NumPy's FFT sign convention. The response is the real part.

``base_filter``:
* ``log``: the LoG kernel of :mod:`neurorad.filters.log` (``sigma_mm``, ``cutoff_sigmas``),
  its transfer function the DFT of the kernel on the image padded by the kernel radius with
  the boundary condition; w = the exact FFT frequencies.
* ``simoncelli``: the transfer function of :mod:`neurorad.filters.simoncelli`
  (``decomposition_level``) and its padding and frequency grid (``linspace``).
``periodic`` never pads (the FFT is periodic).

Steered (``riesz_aligned``): at every voxel the filter is turned into the local frame of the
image's structure tensor

    J = G_s * (grad f grad f^T),

grad f by central differences in mm, G_s a Gaussian of standard deviation
``structure_tensor_sigma`` mm (truncated at 4 s), both with the boundary condition. The
eigenvectors e_1, e_2, e_3 of J, by decreasing eigenvalue (e_1: the dominant gradient
direction), take the roles of the x, y, z axes of the filter, each signed so that its
largest component is positive. The steered filter prod_i (e_i . w)^{l_i} / |w|^L expands
into the order-L Riesz components,

    steered f = sum_{|m| = L} P_m(e) sqrt(m! / l!) R_m f,

P_m the coefficient of w^m in prod_i (e_i . w)^{l_i}: L-th order Riesz components are
steerable, so the voxelwise rotation costs one component map per multi-index m. With e_i the
coordinate axes it is the plain transform. IBSI 2 has no consensus reference for steered
maps (tests 9.b.2, 10.b.2); the structure tensor's sigma and unit are not standardised.

References: Unser M, Van De Ville D. Wavelet steerability and the higher-order Riesz
transform. IEEE Trans Image Process 2010;19:636-652; Depeursinge A, et al. Rotation-covariant
texture learning using steerable Riesz wavelets. IEEE Trans Image Process 2014;23:898-908;
IBSI 2 reference manual, arXiv:2006.05470.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from neurorad.filters import _core, _spec, log, simoncelli

NAME = "riesz"
BASES = ("log", "simoncelli")
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS),
          "boundary": _spec.choice(*_spec.BOUNDARIES),
          "base_filter": _spec.choice(*BASES),
          "sigma_mm": _spec.positive_float,
          "cutoff_sigmas": _spec.positive_float,
          "decomposition_level": _spec.positive_int,
          "riesz_order": lambda key, value: _check_order(key, value),
          "riesz_aligned": _spec.boolean,
          "structure_tensor_sigma": _spec.positive_float}


def _check_order(key, value):
    if (not isinstance(value, (list, tuple)) or not value
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)):
        raise _spec.FilterSpecError(f"{key!r} must be a list of integers >= 0 (x, y, z order),"
                                    f" got {value!r}")


def required_keys(spec) -> set[str]:
    keys = {"dimensions", "boundary", "base_filter", "riesz_order", "riesz_aligned"}
    if spec.get("base_filter") == "log":
        keys |= {"sigma_mm", "cutoff_sigmas"}
    elif spec.get("base_filter") == "simoncelli":
        keys.add("decomposition_level")
    if spec.get("riesz_aligned") is True:
        keys.add("structure_tensor_sigma")
    return keys


def check(spec) -> None:
    n = 3 if spec["dimensions"] == "3d" else 2
    if len(spec["riesz_order"]) != n:
        raise _spec.error(spec, f"'riesz_order' needs {n} entries for dimensions "
                                f"{spec['dimensions']!r}, got {spec['riesz_order']!r}")


def multi_indices(order: int, n: int):
    """All n-tuples of integers >= 0 summing to ``order``."""
    return [m for m in itertools.product(range(order + 1), repeat=n) if sum(m) == order]


def riesz_multiplier(freqs: dict, axes, order_by_axis: dict, xp):
    """R_l(w) on the grid, ``order_by_axis`` mapping NumPy axis -> order."""
    total = sum(order_by_axis.values())
    if total == 0:
        return 1.0
    norm = math.sqrt(math.factorial(total)
                     / math.prod(math.factorial(v) for v in order_by_axis.values()))
    r = simoncelli.radial(freqs, xp)
    numerator = None
    for a in axes:
        if order_by_axis[a]:
            p = freqs[a] ** order_by_axis[a]
            numerator = p if numerator is None else numerator * p
    safe = xp.where(r > 0, r, 1.0)
    ratio = xp.where(r > 0, numerator / safe ** total, 0.0)
    return ((-1j) ** total * norm) * ratio


def base_spectrum(array, spacing, spec, axes, xp):
    """(padded spectrum times the base transfer function, frequencies, padding widths)."""
    if spec["base_filter"] == "log":
        k = log.kernel(spec, spacing, axes)
        widths = {} if spec["boundary"] == "periodic" else {a: n // 2 for a, n in zip(axes, k.shape)}
        padded = _core.pad(array, widths, spec["boundary"], xp)
        shape = tuple(padded.shape[a] for a in axes)
        if any(kn > n for kn, n in zip(k.shape, shape)):
            raise _spec.error(spec, f"the LoG kernel ({k.shape}) is larger than the periodic "
                                    f"image ({shape}); use another boundary")
        expand = tuple(slice(None) if a in axes else None for a in range(array.ndim))
        h = xp.asarray(np.fft.fftn(_core.embed_kernel(k, shape)))[expand]
        freqs = simoncelli.frequency_axes(padded.shape, axes, xp, grid="fft")
    else:
        widths = simoncelli.padding(array.shape, axes, spec["boundary"])
        padded = _core.pad(array, widths, spec["boundary"], xp)
        freqs = simoncelli.frequency_axes(padded.shape, axes, xp, grid="linspace")
        h = simoncelli.transfer(simoncelli.radial(freqs, xp), spec["decomposition_level"], xp)
    return xp.fft.fftn(padded, axes=axes) * h, freqs, widths


def component(spectrum, freqs, widths, axes, order: tuple[int, ...], xp):
    """Real Riesz component of order ``order`` (NumPy-axis order, over ``axes``)."""
    m = riesz_multiplier(freqs, axes, dict(zip(axes, order)), xp)
    return _core.crop(xp.fft.ifftn(spectrum * m, axes=axes).real, widths).copy()


def structure_frame(array, spacing, axes, sigma_mm: float, boundary: str, xp):
    """Eigenvectors of the smoothed structure tensor, shape (..., D components, D vectors),
    components in ``axes`` order, vectors by decreasing eigenvalue, largest component > 0."""
    grads = [_core.central_difference(array, spacing, a, boundary, xp) for a in axes]
    sigmas = [float(sigma_mm) / spacing[a] if a in axes else 0.0 for a in range(array.ndim)]
    ndi = _core.ndimage(xp)
    d = len(axes)
    tensor = xp.empty(array.shape + (d, d), dtype=xp.float64)
    for i in range(d):
        for j in range(i, d):
            t = ndi.gaussian_filter(grads[i] * grads[j], sigma=sigmas,
                                    mode=_core.NDIMAGE_MODE[boundary], truncate=4.0)
            tensor[..., i, j] = t
            tensor[..., j, i] = t
    _, vectors = xp.linalg.eigh(tensor)
    vectors = vectors[..., ::-1]  # decreasing eigenvalue
    largest = xp.argmax(xp.abs(vectors), axis=-2)[..., None, :]
    sign = xp.where(xp.take_along_axis(vectors, largest, axis=-2) < 0, -1.0, 1.0)
    return vectors * sign


def steering_coefficients(frame, filter_orders: tuple[int, ...], xp) -> dict:
    """P_m: coefficients of w^m in prod_i (e_i . w)^{l_i}; e_i = frame[..., :, i] with
    components in filter-axis order; returns {m (component order): voxelwise array}."""
    d = len(filter_orders)
    poly = {(0,) * d: None}  # None: the constant 1
    for i, li in enumerate(filter_orders):
        for _ in range(li):
            nxt = {}
            for mono, c in poly.items():
                for comp in range(d):
                    m = tuple(v + (k == comp) for k, v in enumerate(mono))
                    term = frame[..., comp, i] if c is None else c * frame[..., comp, i]
                    nxt[m] = term if m not in nxt else nxt[m] + term
            poly = nxt
    return poly


def response(array, spacing, spec, xp):
    """Riesz response map of ``array`` (z, y, x) on the array module ``xp``."""
    axes = _core.filter_axes(spec["dimensions"])
    # riesz_order is x, y(, z); axes are NumPy order (z, y, x) / (y, x)
    filter_axes = _core.spec_axes(len(spec["riesz_order"]))
    order = {a: int(v) for a, v in zip(filter_axes, spec["riesz_order"])}
    spectrum, freqs, widths = base_spectrum(array, spacing, spec, axes, xp)
    if not spec["riesz_aligned"]:
        return component(spectrum, freqs, widths, axes, tuple(order[a] for a in axes), xp)
    if sum(order.values()) == 0:  # order 0: the base filter, nothing to steer
        return component(spectrum, freqs, widths, axes, (0,) * len(axes), xp)
    # the frame's components and vectors in filter-axis order (x, y, z)
    frame = structure_frame(array, spacing, filter_axes, spec["structure_tensor_sigma"],
                            spec["boundary"], xp)
    l_filter = tuple(order[a] for a in filter_axes)
    l_fact = math.prod(math.factorial(v) for v in l_filter)
    out = None
    for m_filter, p in steering_coefficients(frame, l_filter, xp).items():
        m_axes = dict(zip(filter_axes, m_filter))
        weight = math.sqrt(math.prod(math.factorial(v) for v in m_filter) / l_fact)
        r = component(spectrum, freqs, widths, axes, tuple(m_axes[a] for a in axes), xp)
        term = p * (weight * r) if p is not None else weight * r
        out = term if out is None else out + term
    return out
