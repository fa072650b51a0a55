"""Separable undecimated wavelets (IBSI 2, section 2.6; IBSI code 25BO).

Stationary (a trous) transform, no downsampling. ``kernel`` names an orthogonal wavelet:
``haar``, ``db1``-``db10`` (Daubechies), ``sym2``-``sym10`` (symlets), ``coif1``-``coif5``
(Coiflets). With h the scaling filter (``_wavelet_coefficients``, normalised sum h = sqrt 2)
the decomposition filters are

    low-pass  L[k] = h[N - 1 - k],        high-pass  H[k] = (-1)^(k+1) h[k],  k = 0..N-1

(PyWavelets' ``dec_lo`` / ``dec_hi``). Even-length filters get one trailing zero and are
centred on their middle tap. ``wavelet_response`` picks L or H per axis in x, y, z order
(``LHL``: L along x, H along y, L along z; two letters in 2-D).

At ``decomposition_level`` j > 1 the image is first low-passed on every axis at levels
1..j-1 and the response filters are applied at level j; at level l every filter is dilated
by inserting 2^(l-1) - 1 zeros between its taps (the trailing zero included), each level a
separate pass with the boundary condition. With ``rotation_invariant`` the whole cascade is
turned by the right-angle rotations of the cube (24 in 3-D, 4 in-plane in 2-D) and the
responses pooled (``average`` in IBSI 2, or ``max``). All passes are 1-D spatial convolutions.

References: Mallat S. A Wavelet Tour of Signal Processing, 3rd ed., 2009 (stationary
wavelet transform); Daubechies I. Ten Lectures on Wavelets, SIAM, 1992; IBSI 2 reference
manual, arXiv:2006.05470.
"""
from __future__ import annotations

import re

import numpy as np

from neurorad.filters import _core, _spec
from neurorad.filters._wavelet_coefficients import SCALING_FILTERS

NAME = "wavelet"
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS),
          "boundary": _spec.choice(*_spec.BOUNDARIES),
          "kernel": _spec.choice(*SCALING_FILTERS),
          "wavelet_response": _spec.string,
          "decomposition_level": _spec.positive_int,
          "rotation_invariant": _spec.boolean,
          "pooling": _spec.choice(*_spec.POOLINGS)}


def required_keys(spec) -> set[str]:
    return {"dimensions", "boundary", "kernel", "wavelet_response", "decomposition_level",
            "rotation_invariant", "pooling"}


def check(spec) -> None:
    n = 3 if spec["dimensions"] == "3d" else 2
    if not re.fullmatch(f"[LH]{{{n}}}", spec["wavelet_response"]):
        raise _spec.error(spec, f"'wavelet_response' must be {n} letters L or H (x, y"
                                f"{', z' if n == 3 else ''} order), got {spec['wavelet_response']!r}")
    _spec.check_pooling(spec)


def decomposition_filters(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(low-pass, high-pass) decomposition filters of wavelet ``name``."""
    h = np.asarray(SCALING_FILTERS[name], dtype=np.float64)
    k = np.arange(h.size)
    return h[::-1].copy(), (-1.0) ** (k + 1) * h


def centred(kernel: np.ndarray) -> np.ndarray:
    """Even length: append one zero so that the kernel is centred on its middle tap."""
    return np.append(kernel, 0.0) if kernel.size % 2 == 0 else kernel


def dilated(kernel: np.ndarray, level: int) -> np.ndarray:
    """Insert 2^(level-1) - 1 zeros between the taps (a trous)."""
    step = 2 ** (level - 1)
    out = np.zeros((kernel.size - 1) * step + 1)
    out[::step] = kernel
    return out


def cascade(spec) -> list[list[np.ndarray]]:
    """The stages of 1-D kernels (x, y, z order): low-pass at levels 1..j-1, then the
    response filters at level j."""
    low, high = (centred(f) for f in decomposition_filters(spec["kernel"]))
    letters = spec["wavelet_response"]
    level = int(spec["decomposition_level"])
    stages = [[dilated(low, lv)] * len(letters) for lv in range(1, level)]
    stages.append([dilated(low if c == "L" else high, level) for c in letters])
    return stages


def response(array, spacing, spec, xp):
    """Wavelet response map of ``array`` (z, y, x) on the array module ``xp``."""
    stages = cascade(spec)
    axes = _core.spec_axes(len(stages[0]))
    items = _core.rotated_pass_lists(stages, axes, spec["rotation_invariant"])
    responses = _core.convolve_bank(array, items, spec["boundary"], xp)
    return _core.pool(responses, spec["pooling"] if spec["rotation_invariant"] else "average",
                      xp)
