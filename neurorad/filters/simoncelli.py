"""Simoncelli non-separable wavelet (IBSI 2, section 2.7; IBSI code PRT7).

An isotropic band-pass filter defined by its transfer function at decomposition level j:

    H(w) = cos(pi/2 log2(2 |w| / w_max))   for w_max / 4 <= |w| <= w_max,   else 0,
    w_max = 2^-(j-1)   (1 = the Nyquist frequency),

with |w| the Euclidean norm of the normalised frequency over the filtered axes (3-D, or the
x-y plane for ``2d``). Frequencies are sampled as ``linspace(-1, 1, N)`` per axis in centred
order (then ``ifftshift``): IBSI 2 phase 1 (8.a.2, 8.a.3) reproduces with this grid and not
with the exact FFT frequencies. The response is the real part of the inverse FFT of the
product.

Boundary: ``periodic`` is the FFT itself (no padding, the IBSI 2 phase-1 setting); the
other conditions pad every filtered axis by floor(N / 2) voxels on both sides before the
FFT (the filter's impulse response is not compactly supported; half the image on each side
keeps the wrap-around away from the image, and reproduces IBSI 2 test 10.b.1 with
``nearest``), then crop.

References: Simoncelli EP, Freeman WT. The steerable pyramid. ICIP 1995; Portilla J,
Simoncelli EP. Int J Comput Vis 2000;40:49-70; IBSI 2 reference manual, arXiv:2006.05470.
"""
from __future__ import annotations

import math

from neurorad.filters import _core, _spec

NAME = "simoncelli"
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS),
          "boundary": _spec.choice(*_spec.BOUNDARIES),
          "decomposition_level": _spec.positive_int}


def required_keys(spec) -> set[str]:
    return {"dimensions", "boundary", "decomposition_level"}


def padding(shape, axes, boundary: str) -> dict[int, int]:
    """Voxels of padding per axis before a Fourier-domain filter (none when periodic)."""
    return {} if boundary == "periodic" else {a: shape[a] // 2 for a in axes}


def frequency_axes(shape, axes, xp, grid: str = "linspace"):
    """Per filtered axis, the normalised frequency (1 = Nyquist) broadcastable to ``shape``,
    in FFT order: ``linspace`` (the IBSI 2 Simoncelli grid) or ``fft`` (exact, 2 * fftfreq)."""
    out = {}
    for a in axes:
        n = shape[a]
        if grid == "linspace":
            w = xp.fft.ifftshift(xp.linspace(-1.0, 1.0, n))
        else:
            w = 2.0 * xp.fft.fftfreq(n)
        view = [1] * len(shape)
        view[a] = n
        out[a] = w.reshape(view)
    return out


def radial(freqs: dict, xp):
    """|w| from the per-axis frequencies."""
    total = None
    for w in freqs.values():
        total = w * w if total is None else total + w * w
    return xp.sqrt(total)


def transfer(r, level: int, xp):
    """H(|w|) at decomposition level ``level``."""
    w_max = 2.0 ** -(int(level) - 1)
    band = (r >= w_max / 4.0) & (r <= w_max)
    safe = xp.where(band, r, w_max / 2.0)
    return xp.where(band, xp.cos(math.pi / 2.0 * xp.log2(2.0 * safe / w_max)), 0.0)


def response(array, spacing, spec, xp):
    """Simoncelli response map of ``array`` (z, y, x) on the array module ``xp``."""
    axes = _core.filter_axes(spec["dimensions"])
    widths = padding(array.shape, axes, spec["boundary"])
    padded = _core.pad(array, widths, spec["boundary"], xp)
    h = transfer(radial(frequency_axes(padded.shape, axes, xp), xp),
                 spec["decomposition_level"], xp)
    out = xp.fft.ifftn(xp.fft.fftn(padded, axes=axes) * h, axes=axes).real
    return _core.crop(out, widths).copy()
