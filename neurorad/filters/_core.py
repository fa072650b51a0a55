"""Shared machinery of the filters: boundaries, separable and FFT convolution, rotations.

Arrays are in NumPy order (z, y, x); a filter acts on ``axes`` (``(0, 1, 2)`` in 3-D,
``(1, 2)`` for ``2d``: the x-y plane of every z slice). Kernels are built on the host with
NumPy (they are small) and moved to the array module ``xp`` of the image once; the image
never leaves its device.

Spatial or FFT convolution
--------------------------
* **Separable kernels** (mean, Laws, wavelets; LoG as a sum of D separable terms) run as 1-D
  convolutions along each axis (``ndimage.convolve1d``): O(k) operations per voxel and pass
  for a k-tap kernel, the boundary handled by the convolution itself, and the same code on
  SciPy and ``cupyx.scipy.ndimage``. A full 3-D kernel of 21^3 taps through an FFT of the
  padded volume would cost more than 3 x 21 taps per voxel.
* **Non-separable kernels** as large as the image (Gabor: its kernel spans the image plane)
  use the FFT of the image padded by the kernel radius with the boundary condition
  (``fft_convolve``): O(log n) per voxel whatever the kernel size, where a direct 65 x 65
  convolution would cost 4225 multiplications per voxel.
* **Filters defined in the Fourier domain** (Simoncelli, Riesz) are applied by FFT by
  definition.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from neurorad.backend import ndimage

# IBSI boundary name -> scipy.ndimage mode, numpy.pad mode (IBSI "mirror" is half-sample
# symmetric: c b a | a b c, scipy "reflect", numpy "symmetric").
NDIMAGE_MODE = {"zero": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}
PAD_MODE = {"zero": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}
AXIS_OF_LETTER = {"x": 2, "y": 1, "z": 0}  # spec letters (x, y, z) -> numpy axes


def filter_axes(dimensions: str) -> tuple[int, ...]:
    """NumPy axes a filter acts on: ``3d`` -> (0, 1, 2), ``2d`` -> (1, 2) (the x-y plane)."""
    return (0, 1, 2) if dimensions == "3d" else (1, 2)


def spec_axes(n: int) -> tuple[int, ...]:
    """NumPy axes of the spec's x, y(, z) letters for an n-letter (n-D) spec."""
    return (2, 1, 0)[:n]


def convolve1d(array, kernel: np.ndarray, axis: int, boundary: str, xp):
    """1-D convolution (kernel flipped, odd length, centred) along ``axis``."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.size % 2 == 0:
        raise ValueError("convolve1d needs an odd-length (centred) kernel")
    if kernel.size == 1:
        return array * float(kernel[0])
    return ndimage(xp).convolve1d(array, xp.asarray(kernel), axis=axis,
                                  mode=NDIMAGE_MODE[boundary], cval=0.0)


def convolve_separable(array, kernels: dict[int, np.ndarray], boundary: str, xp):
    """Convolve with the outer product of 1-D kernels, ``kernels[axis]``, one axis at a time.

    Equal to the convolution with the full kernel for every boundary condition: padding
    along one axis commutes with filtering along another.
    """
    out = array
    for axis in sorted(kernels):
        out = convolve1d(out, kernels[axis], axis, boundary, xp)
    return out


def central_difference(array, spacing, axis: int, boundary: str, xp):
    """df/dx along ``axis`` in intensity per mm: (f[i+1] - f[i-1]) / (2 spacing), the
    neighbours beyond the edge given by the boundary condition."""
    h = float(spacing[axis])
    return convolve1d(array, np.array([1.0, 0.0, -1.0]) / (2.0 * h), axis, boundary, xp)


def pad(array, widths: dict[int, int], boundary: str, xp):
    """Pad ``widths[axis]`` voxels on both sides of each axis with the boundary condition."""
    pad_width = [(widths.get(a, 0), widths.get(a, 0)) for a in range(array.ndim)]
    if boundary == "zero":
        return xp.pad(array, pad_width, mode="constant", constant_values=0)
    return xp.pad(array, pad_width, mode=PAD_MODE[boundary])


def crop(array, widths: dict[int, int]):
    """Undo :func:`pad`."""
    index = tuple(slice(widths.get(a, 0), array.shape[a] - widths.get(a, 0))
                  for a in range(array.ndim))
    return array[index]


def embed_kernel(kernel: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Place a centred odd-sized kernel in an array of ``shape`` with its centre at index 0
    (wrapped), so that its DFT is the transfer function of the convolution."""
    out = np.zeros(shape, dtype=kernel.dtype)
    index = tuple(slice(0, n) for n in kernel.shape)
    out[index] = kernel
    return np.roll(out, [-(n // 2) for n in kernel.shape], axis=tuple(range(kernel.ndim)))


FFT_SLAB_BYTES = 64 * 2 ** 20  # complex padded data per slab of a 2-D FFT convolution


def fft_convolve(array, kernels: list[np.ndarray], axes: tuple[int, ...], boundary: str, xp,
                 pooling: str, transform):
    """Convolve ``array`` with each kernel of a bank over ``axes`` through the FFT and pool.

    The kernels (host arrays with one dimension per entry of ``axes``, odd sizes, possibly
    complex) share one shape. The image is padded by the kernel radius with the boundary
    condition and transformed once; each kernel costs a product with its transfer function
    and an inverse transform; ``transform`` maps the (complex, cropped) result to the
    response (e.g. the modulus), and the responses are pooled one at a time (``pooling``:
    ``average`` or ``max``), so the bank never holds all responses. When ``axes`` leaves one
    axis out (2-D filters), the volume is processed in slabs along it of at most
    ``FFT_SLAB_BYTES`` of complex padded data, bounding memory whatever the image size.
    """
    radius = {a: n // 2 for a, n in zip(axes, kernels[0].shape)}
    shape = tuple(array.shape[a] + 2 * radius[a] for a in axes)
    expand = tuple(slice(None) if a in axes else None for a in range(array.ndim))
    transfers = [xp.asarray(np.fft.fftn(embed_kernel(k, shape)))[expand] for k in kernels]
    free = [a for a in range(array.ndim) if a not in axes]
    if len(free) != 1:
        return _fft_bank(array, transfers, radius, axes, boundary, xp, pooling, transform)
    stack = free[0]
    slab = max(1, FFT_SLAB_BYTES // (16 * math.prod(shape)))
    if slab >= array.shape[stack]:
        return _fft_bank(array, transfers, radius, axes, boundary, xp, pooling, transform)
    out = xp.empty(array.shape, dtype=xp.float64)
    for start in range(0, array.shape[stack], slab):
        index = tuple(slice(start, start + slab) if a == stack else slice(None)
                      for a in range(array.ndim))
        out[index] = _fft_bank(array[index], transfers, radius, axes, boundary, xp, pooling,
                               transform)
    return out


def _fft_bank(array, transfers, radius, axes, boundary, xp, pooling, transform):
    spectrum = xp.fft.fftn(pad(array, radius, boundary, xp), axes=axes)
    responses = ((transform(crop(xp.fft.ifftn(spectrum * t, axes=axes), radius)), 1)
                 for t in transfers)
    return pool(responses, pooling, xp)


def right_angle_rotations(n: int) -> list[np.ndarray]:
    """The proper rotations mapping the n-cube onto itself (24 in 3-D, 4 in 2-D), as signed
    permutation matrices with determinant +1, identity first."""
    out = []
    for perm in itertools.permutations(range(n)):
        for signs in itertools.product((1, -1), repeat=n):
            m = np.zeros((n, n), dtype=int)
            for row, (col, s) in enumerate(zip(perm, signs)):
                m[row, col] = s
            if round(np.linalg.det(m)) == 1:
                out.append(m)
    out.sort(key=lambda m: not np.array_equal(m, np.eye(n, dtype=int)))
    return out


def rotated_kernel_sets(kernels: list[np.ndarray], rotation: np.ndarray) -> list[np.ndarray]:
    """1-D kernels of a separable filter (one per spec axis, in x, y, z order) after a
    right-angle rotation: the kernel of axis j moves to axis i where ``rotation[i, j] != 0``,
    reversed when the entry is -1 (the rotated kernel is K(R^T x))."""
    out = [None] * len(kernels)
    for i in range(len(kernels)):
        j = int(np.flatnonzero(rotation[i])[0])
        k = np.asarray(kernels[j], dtype=np.float64)
        out[i] = k[::-1].copy() if rotation[i, j] < 0 else k
    return out


def distinct_rotations(stages: list[list[np.ndarray]], rotate: bool):
    """The distinct rotated versions of a cascade of separable filters, with multiplicity.

    ``stages`` is a list of stages, each a list of 1-D kernels in spec (x, y, z) order.
    Rotated versions that give identical kernels (symmetric kernels, equal kernels on two
    axes) give identical responses: each is computed once and counted ``count`` times for
    average pooling. Returns ``[(rotated_stages, count), ...]``.
    """
    n = len(stages[0])
    rotations = right_angle_rotations(n) if rotate else [np.eye(n, dtype=int)]
    seen: dict[tuple, list] = {}
    for r in rotations:
        rotated = [rotated_kernel_sets(stage, r) for stage in stages]
        key = tuple(tuple(np.round(k, 15).tolist()) for stage in rotated for k in stage)
        if key in seen:
            seen[key][1] += 1
        else:
            seen[key] = [rotated, 1]
    return [tuple(v) for v in seen.values()]


def rotated_pass_lists(stages: list[list[np.ndarray]], axes: tuple[int, ...], rotate: bool):
    """``[(passes, count), ...]``: each distinct rotated version of a cascade of separable
    stages as a sequence of 1-D passes ``(axis, kernel)`` (stage by stage, axes in order),
    with its multiplicity (see :func:`distinct_rotations`)."""
    out = []
    for rotated, count in distinct_rotations(stages, rotate):
        passes = []
        for stage in rotated:
            passes += sorted(zip(axes, stage), key=lambda p: p[0])
        out.append((passes, count))
    return out


def convolve_bank(array, items, boundary: str, xp):
    """Run many sequences of 1-D passes on one image, sharing common prefixes.

    ``items`` is ``[(passes, payload), ...]`` with ``passes`` a list of ``(axis, kernel)``.
    The sequences are arranged in a prefix tree and walked depth first, so a pass shared by
    several sequences (e.g. the same kernel along z in 8 of the 24 rotations of a Laws
    kernel) runs once and only one array per depth is alive. Yields ``(response, payload)``
    in tree order.
    """
    root: dict = {"children": {}, "ends": []}
    for passes, payload in items:
        node = root
        for axis, kernel in passes:
            key = (axis, np.asarray(kernel, dtype=np.float64).tobytes())
            node = node["children"].setdefault(key, {"children": {}, "ends": [],
                                                     "axis": axis, "kernel": kernel})
        node["ends"].append(payload)

    def walk(node, data):
        for payload in node["ends"]:
            yield data, payload
        for child in node["children"].values():
            yield from walk(child, convolve1d(data, child["kernel"], child["axis"], boundary, xp))

    yield from walk(root, array)


def pool(responses, pooling: str, xp):
    """Pool ``(response, count)`` pairs voxelwise, one at a time: weighted mean or maximum."""
    out, total = None, 0
    for r, c in responses:
        if out is None:
            out = r if pooling == "max" else r * c
        elif pooling == "max":
            out = xp.maximum(out, r)
        else:
            out = out + r * c
        total += c
    return out if pooling == "max" else out / total
