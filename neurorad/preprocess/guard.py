"""Resource guard: refuse, before allocating, work that would exhaust memory.

Two settings can ask for arrays far larger than the machine: a discretisation that turns a
wide intensity range into a huge number of grey levels (fixed bin width 25 on PET data in
Bq/ml, 116,200-2,252,800, gives 85,465 levels; texture matrices hold ``Ng^2`` or
``Ng x run length`` cells per direction, hundreds of GiB), and resampling to a fine grid.
Both sizes follow from the data and the settings before anything is allocated, so a case
beyond a documented limit fails at once with
:class:`neurorad.errors.ResourceLimitError` (exit code 4), naming the setting, the
intensity range or grid, and what to change; never with a bare ``MemoryError`` after
minutes of swapping, or a Dask worker killed for memory.

Limits
------
``MAX_GREY_LEVELS`` (4,096; environment variable ``NEURORAD_MAX_GREY_LEVELS``)
    Grey levels one discretisation may produce. IBSI-style settings use 8-256 levels
    (fixed bin numbers 8-64; fixed bin widths of 25 HU on CT give ~60); 4,096 levels still
    fit (a GLCM of 4,096^2 cells per direction is 128 MiB) while leaving a clear margin to the
    failures seen in practice.
``MAX_MEMORY_FRACTION`` (0.5; environment variable ``NEURORAD_MAX_MEMORY_FRACTION``)
    The arrays of one resampling (``RESAMPLE_BYTES_PER_VOXEL`` bytes per voxel of the new
    grid: the image, the interpolated mask fraction and their B-spline/copy temporaries)
    may take at most this fraction of the memory available to the process: the Dask
    worker's memory limit inside a worker, else the machine's physical memory.
"""
from __future__ import annotations

import math
import os
import sys

from neurorad.errors import ResourceLimitError

MAX_GREY_LEVELS = 4096
MAX_MEMORY_FRACTION = 0.5
RESAMPLE_BYTES_PER_VOXEL = 32      # float64 image + float64 mask fraction + two temporaries
GREY_LEVELS_ENV = "NEURORAD_MAX_GREY_LEVELS"
MEMORY_FRACTION_ENV = "NEURORAD_MAX_MEMORY_FRACTION"


def max_grey_levels() -> int:
    """The grey-level limit (``MAX_GREY_LEVELS`` or the environment variable)."""
    value = os.environ.get(GREY_LEVELS_ENV)
    return int(value) if value else MAX_GREY_LEVELS


def memory_budget_bytes() -> int:
    """``MAX_MEMORY_FRACTION`` of the memory this process may use (Dask worker limit inside
    a worker, else physical memory)."""
    fraction = float(os.environ.get(MEMORY_FRACTION_ENV) or MAX_MEMORY_FRACTION)
    total = None
    if "distributed" in sys.modules:        # only a process that imported Dask can be a worker
        try:
            from distributed import get_worker

            limit = getattr(get_worker().memory_manager, "memory_limit", None)
            total = int(limit) if limit else None
        except (ImportError, ValueError, AttributeError):
            pass
    if total is None:
        try:
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            total = 16 * 2**30
    return int(fraction * total)


def estimated_grey_levels(disc, low: float, high: float, range_low: float | None = None) -> int:
    """Grey levels ``Ng`` that ``disc`` (a ``neurorad.settings.Discretisation``) gives for ROI
    intensities in ``[low, high]`` (formulas of ``neurorad.preprocess.discretise``).

    * ``fbn``, ``ep``: ``n_bins``;
    * ``fbs``: ``floor((high - x_lower) / w) + 1``, ``x_lower`` the lower bound, else the
      re-segmentation lower bound, else ``low``;
    * ``fbs_aligned``: ``floor(high / w) - floor(low / w) + 1``;
    * ``none``: ``high`` (levels are the intensities themselves).
    """
    if disc.method in ("fbn", "ep"):
        return int(disc.n_bins)
    if disc.method == "fbs":
        lower = disc.lower_bound if disc.lower_bound is not None else range_low
        lower = low if lower is None or not math.isfinite(lower) else min(lower, low)
        return int(math.floor((high - lower) / disc.bin_width)) + 1
    if disc.method == "fbs_aligned":
        return int(math.floor(high / disc.bin_width) - math.floor(low / disc.bin_width)) + 1
    if disc.method == "none":
        return max(int(math.floor(high)), 1)
    raise ValueError(f"unknown discretisation method {disc.method!r}")


def _describe(disc, index: int) -> str:
    what = {"fbn": f"fixed bin number {disc.n_bins}", "ep": f"equal probability {disc.n_bins}",
            "fbs": f"fixed bin size (bin width {disc.bin_width:g})",
            "fbs_aligned": f"aligned fixed bin size (bin width {disc.bin_width:g})",
            "none": "no discretisation (method none)"}[disc.method]
    return f"discretisation[{index}] {what}"


def check_grey_levels(discretisations, low: float, high: float, *,
                      range_low: float | None = None, where: str = "") -> None:
    """Raise :class:`ResourceLimitError` when a discretisation would give more than
    :func:`max_grey_levels` grey levels on intensities ``[low, high]``.

    The message names the setting, the range and the number of levels, and suggests a fixed
    bin number or the smallest bin width within the limit, e.g. ``discretisation[0] fixed
    bin size (bin width 25) on intensities 116200-2252800 gives 85,465 grey levels (limit
    4,096): use a fixed bin number (method fbn) or a bin width of at least 522``.
    """
    limit = max_grey_levels()
    for index, disc in enumerate(discretisations):
        n = estimated_grey_levels(disc, low, high, range_low)
        if n <= limit:
            continue
        span = high - (low if disc.method != "none" else 0.0)
        if disc.method in ("fbs", "fbs_aligned"):
            hint = (f"use a fixed bin number (method fbn, e.g. n_bins 64) or a bin width of at "
                    f"least {span / (limit - 1):.3g}")
        elif disc.method == "none":
            hint = ("method none needs intensities that already are grey levels 1..Ng; use a "
                    "fixed bin number (method fbn) or fixed bin size (fbs) instead")
        else:
            hint = f"use at most {limit} bins"
        prefix = f"{where}: " if where else ""
        raise ResourceLimitError(
            f"{prefix}{_describe(disc, index)} on intensities {_number(low)}-{_number(high)} "
            f"gives "
            f"{n:,} grey levels (limit {limit:,}, {GREY_LEVELS_ENV}): {hint}")


def check_resampled_size(shape, new_spacing_xyz, *, where: str = "") -> None:
    """Raise :class:`ResourceLimitError` when resampling onto a grid of ``shape`` voxels
    would need more than :func:`memory_budget_bytes`."""
    n_voxels = math.prod(int(s) for s in shape)
    needed = n_voxels * RESAMPLE_BYTES_PER_VOXEL
    budget = memory_budget_bytes()
    if needed <= budget:
        return
    prefix = f"{where}: " if where else ""
    spacing = ", ".join(f"{s:g}" for s in new_spacing_xyz)
    raise ResourceLimitError(
        f"{prefix}resample.spacing_xyz [{spacing}] mm gives a grid of "
        f"{' x '.join(str(int(s)) for s in shape)} = {n_voxels:,} voxels, about "
        f"{needed / 2**30:.1f} GiB, above the {budget / 2**30:.1f} GiB allowed (a fraction "
        f"{MEMORY_FRACTION_ENV} of the memory available, default {MAX_MEMORY_FRACTION:g}): "
        "use a coarser spacing")


def _number(value: float) -> str:
    """An intensity as written by a person: integers without exponent, else 6 digits."""
    return f"{value:.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"
