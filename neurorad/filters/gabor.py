"""Gabor filters (IBSI 2, section 2.5; IBSI code Q88H).

A 2-D complex kernel in the plane of two image axes (a, b), coordinates in mm
(a = i s_a, b = j s_b around the kernel centre):

    g(a, b) = exp(-(a'^2 + gamma^2 b'^2) / (2 sigma^2)) exp(i 2 pi a' / lambda),
    a' = a cos(theta) + b sin(theta),   b' = -a sin(theta) + b cos(theta),

sigma = ``sigma_mm``, lambda = ``wavelength_mm``, gamma = ``spatial_aspect_ratio``,
theta = ``orientation_deg`` (theta turns from +x towards +y). Not normalised (peak 1). The
kernel spans the image plane: 1 + 2 floor(n / 2) taps on both axes, n the larger of the
plane's two sizes (IBSI 2 phase 1 reproduces only with this size). The response is the
modulus (``response``: ``modulus``; also ``real``, ``imaginary``, ``phase``) of the complex
convolution.

``dimensions`` must be ``2d``: the kernel is applied in the x-y plane of every slice, and
with ``orthogonal_planes`` also in the x-z and y-z planes (the first named axis plays a),
the maps of all planes averaged. With ``rotation_invariant`` the orientations
theta, theta + step, ... < theta + 360 degrees (``orientation_step_deg``) are computed and
pooled (``average`` or ``max``) before the planes are averaged.

FFT convolution: the kernel is as large as the image plane and not separable, so the image
is padded by the kernel radius with the boundary condition and transformed once per plane;
each orientation costs one product and one inverse transform.

References: Gabor D. Theory of communication. J IEE 1946;93:429-457; Petkov N, Kruizinga P.
Biol Cybern 1997;76:83-96; IBSI 2 reference manual, arXiv:2006.05470.
"""
from __future__ import annotations

import math

import numpy as np

from neurorad.filters import _core, _spec

NAME = "gabor"
RESPONSES = ("modulus", "real", "imaginary", "phase")
CHECKS = {"dimensions": _spec.choice("2d"),
          "boundary": _spec.choice(*_spec.BOUNDARIES),
          "sigma_mm": _spec.positive_float,
          "wavelength_mm": _spec.positive_float,
          "spatial_aspect_ratio": _spec.positive_float,
          "orientation_deg": _spec.real,
          "orientation_step_deg": _spec.positive_float,
          "rotation_invariant": _spec.boolean,
          "pooling": _spec.choice(*_spec.POOLINGS),
          "orthogonal_planes": _spec.boolean,
          "response": _spec.choice(*RESPONSES)}
# (a, b) NumPy axes of each plane: x-y (axial), x-z, y-z
PLANES = ((2, 1), (2, 0), (1, 0))


def required_keys(spec) -> set[str]:
    keys = {"dimensions", "boundary", "sigma_mm", "wavelength_mm", "spatial_aspect_ratio",
            "orientation_deg", "rotation_invariant", "pooling", "orthogonal_planes", "response"}
    if spec.get("rotation_invariant") is True:
        keys.add("orientation_step_deg")
    return keys


def check(spec) -> None:
    _spec.check_pooling(spec)


def orientations(spec) -> list[float]:
    """Orientations in degrees: theta alone, or theta + k step for k step < 360."""
    theta = float(spec["orientation_deg"])
    if not spec["rotation_invariant"]:
        return [theta]
    step = float(spec["orientation_step_deg"])
    return [theta + k * step for k in range(int(math.ceil(360.0 / step - 1e-9)))]


def kernel(spec, theta_deg: float, size: int, spacing_ab: tuple[float, float]) -> np.ndarray:
    """The complex kernel, shape (size, size), indexed [b, a] (rows along b)."""
    half = size // 2
    j, i = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    a, b = i * spacing_ab[0], j * spacing_ab[1]
    t = math.radians(theta_deg)
    ar = a * math.cos(t) + b * math.sin(t)
    br = -a * math.sin(t) + b * math.cos(t)
    sigma, gamma = float(spec["sigma_mm"]), float(spec["spatial_aspect_ratio"])
    envelope = np.exp(-(ar ** 2 + gamma ** 2 * br ** 2) / (2.0 * sigma ** 2))
    return envelope * np.exp(2j * math.pi * ar / float(spec["wavelength_mm"]))


def _output(z, response: str, xp):
    if response == "modulus":
        return xp.abs(z)
    if response == "real":
        return z.real.copy()
    if response == "imaginary":
        return z.imag.copy()
    return xp.angle(z)


def plane_response(array, spacing, spec, plane: tuple[int, int], xp):
    """Pooled response over the orientations, in one plane (a, b) of every slice."""
    a_axis, b_axis = plane
    size = 1 + 2 * (max(array.shape[a_axis], array.shape[b_axis]) // 2)
    # kernels are indexed [b, a]; fft_convolve wants them in increasing axis order
    kernels = []
    for theta in orientations(spec):
        k = kernel(spec, theta, size, (spacing[a_axis], spacing[b_axis]))
        kernels.append(k if b_axis < a_axis else k.T)
    axes = tuple(sorted(plane))
    pooling = spec["pooling"] if spec["rotation_invariant"] else "average"
    return _core.fft_convolve(array, kernels, axes, spec["boundary"], xp, pooling,
                              lambda z: _output(z, spec["response"], xp))


def response(array, spacing, spec, xp):
    """Gabor response map of ``array`` (z, y, x) on the array module ``xp``."""
    planes = PLANES if spec["orthogonal_planes"] else PLANES[:1]
    out = None
    for plane in planes:
        r = plane_response(array, spacing, spec, plane, xp)
        out = r if out is None else out + r
    return out / len(planes)
