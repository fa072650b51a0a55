"""Laws kernels and texture energy maps (IBSI 2, section 2.4; IBSI code JTXT).

A ``kernel`` such as ``E5L5S5`` names one 1-D kernel per axis, in x, y, z order (``L5S5``
in 2-D): E5 along x, L5 along y, S5 along z. The 1-D kernels (Laws 1980), each divided by
its L2 norm:

    L5 = (1, 4, 6, 4, 1)     E5 = (-1, -2, 0, 2, 1)   S5 = (-1, 0, 2, 0, -1)
    W5 = (-1, 2, 0, -2, 1)   R5 = (1, -4, 6, -4, 1)
    L3 = (1, 2, 1)           E3 = (-1, 0, 1)          S3 = (-1, 2, -1)

The response is the convolution (kernels flipped: correlation would flip the sign of odd
kernels) with their outer product. With ``rotation_invariant`` the kernel is turned by every
right-angle rotation of the cube (24 in 3-D, 4 in-plane in 2-D) and the responses are
pooled voxelwise (``pooling``: ``max`` or ``average``). With ``response_energy`` the energy
map is the mean of |response| over a (2 delta + 1)^D window (delta =
``energy_distance_voxels``), same boundary condition, of the pooled response:

    E(x) = (2 delta + 1)^-D sum_{|k_d| <= delta} |R(x + k)|.

All separable: 1-D spatial convolutions.

References: Laws KI. Textured image segmentation. PhD thesis, USC, 1980; Suzuki MT,
Yaginuma Y. A solid texture analysis based on three-dimensional convolution kernels. 2007;
IBSI 2 reference manual, arXiv:2006.05470.
"""
from __future__ import annotations

import re

import numpy as np

from neurorad.filters import _core, _spec

NAME = "laws"
KERNELS_1D = {
    "L5": (1, 4, 6, 4, 1), "E5": (-1, -2, 0, 2, 1), "S5": (-1, 0, 2, 0, -1),
    "W5": (-1, 2, 0, -2, 1), "R5": (1, -4, 6, -4, 1),
    "L3": (1, 2, 1), "E3": (-1, 0, 1), "S3": (-1, 2, -1),
}
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS),
          "boundary": _spec.choice(*_spec.BOUNDARIES),
          "kernel": _spec.string,
          "rotation_invariant": _spec.boolean,
          "pooling": _spec.choice(*_spec.POOLINGS),
          "response_energy": _spec.boolean,
          "energy_distance_voxels": _spec.non_negative_int}


def required_keys(spec) -> set[str]:
    keys = {"dimensions", "boundary", "kernel", "rotation_invariant", "pooling",
            "response_energy"}
    if spec.get("response_energy") is True:
        keys.add("energy_distance_voxels")
    return keys


def parse_kernel(name: str) -> list[str]:
    """``"E5L5S5"`` -> ``["E5", "L5", "S5"]`` (x, y, z order)."""
    parts = re.findall(r"[A-Z][35]", name.upper())
    if "".join(parts) != name.upper() or any(p not in KERNELS_1D for p in parts):
        raise ValueError(f"not a Laws kernel name: {name!r} (1-D kernels: {sorted(KERNELS_1D)})")
    return parts


def check(spec) -> None:
    try:
        parts = parse_kernel(spec["kernel"])
    except ValueError as exc:
        raise _spec.error(spec, f"'kernel': {exc}") from None
    n = 3 if spec["dimensions"] == "3d" else 2
    if len(parts) != n:
        raise _spec.error(spec, f"'kernel' {spec['kernel']!r} names {len(parts)} 1-D kernels; "
                                f"dimensions {spec['dimensions']!r} needs {n}")
    _spec.check_pooling(spec)


def kernel_1d(name: str) -> np.ndarray:
    """A 1-D Laws kernel divided by its L2 norm."""
    k = np.asarray(KERNELS_1D[name], dtype=np.float64)
    return k / np.sqrt((k ** 2).sum())


def energy(array, distance: int, axes, boundary: str, xp):
    """Mean of |array| over a (2 distance + 1)^D window on ``axes``."""
    box = np.full(2 * int(distance) + 1, 1.0 / (2 * int(distance) + 1))
    return _core.convolve_separable(xp.abs(array), {a: box for a in axes}, boundary, xp)


def response(array, spacing, spec, xp):
    """Laws response (or energy) map of ``array`` (z, y, x) on the array module ``xp``."""
    kernels = [kernel_1d(p) for p in parse_kernel(spec["kernel"])]
    axes = _core.spec_axes(len(kernels))
    items = _core.rotated_pass_lists([kernels], axes, spec["rotation_invariant"])
    responses = _core.convolve_bank(array, items, spec["boundary"], xp)
    pooled = _core.pool(responses, spec["pooling"] if spec["rotation_invariant"] else "average",
                        xp)
    if spec["response_energy"]:
        return energy(pooled, spec["energy_distance_voxels"], axes, spec["boundary"], xp)
    return pooled
