"""Intensity discretisation (IBSI manual, section 2.7) and equal-probability binning.

Every function takes the 1-D intensities inside the intensity mask and returns
``(levels, n_levels)``: integer grey levels ``1..n_levels`` (int64, same order as the input)
and the number of grey levels ``Ng`` that features needing it use.

* Fixed bin number (FBN, IBSI): ``g = floor(Ng (x - x_min) / (x_max - x_min)) + 1``, and
  ``g = Ng`` for ``x = x_max``. For Ng in 2, 4, ..., 128 the levels nest exactly: level
  ``g`` at ``Ng/2`` is ``ceil(g / 2)`` of the level at ``Ng`` (``floor(floor(2a)/2) =
  floor(a)``), so ``fbn_nested_levels`` derives all of them from the finest.
* Fixed bin size (FBS, IBSI): ``g = floor((x - x_lower) / w) + 1`` with ``x_lower`` the lower
  bound of the re-segmentation range (or the ROI minimum when there is none);
  ``Ng = floor((x_max - x_lower) / w) + 1``.
* Bin-edge-aligned fixed bin size (PyRadiomics' ``binWidth``):
  ``g = floor(x / w) - floor(x_min / w) + 1``.
* Equal probability (R package RIA, ``discretize(..., equal_prob = TRUE)``; not
  standardised by IBSI): breaks ``b_k`` are the ``k / Ng`` sample quantiles (R's default
  type 7, linear interpolation between order statistics), bins are right-closed
  ``(b_{k-1}, b_k]`` with the lowest bin closed. Tied breaks leave empty levels, so fewer than
  ``Ng`` levels may be present (``Ng`` stays the requested number).
* ``none``: intensities are already integer grey levels ``1..Ng`` (``Ng`` = maximum), as for
  the IBSI digital phantom.

The IVH (section 4.1) discretises raw intensities itself (``neurorad.features.ivh``).
"""
from __future__ import annotations

import warnings

from neurorad.backend import get_xp
from neurorad.features.statistics import sorted_quantiles


def _check(values):
    if values.ndim != 1:
        raise ValueError(f"expected 1-D intensities, got shape {values.shape}")
    if values.size == 0:
        raise ValueError("cannot discretise an empty ROI")


def fixed_bin_number(values, n_bins: int):
    """IBSI fixed bin number discretisation (see module doc)."""
    _check(values)
    xp = get_xp(values)
    lo, hi = float(xp.min(values)), float(xp.max(values))
    if hi == lo:
        warnings.warn("fixed bin number: all ROI intensities are equal; every voxel gets "
                      "grey level 1", RuntimeWarning, stacklevel=2)
        return xp.ones(values.shape, dtype=xp.int64), int(n_bins)
    levels = xp.floor(n_bins * (values - lo) / (hi - lo)).astype(xp.int64) + 1
    return xp.minimum(levels, n_bins), int(n_bins)


def fbn_nested_levels(values, n_bins_list):
    """FBN levels for several bin numbers that are powers of two, from the finest one.

    Returns ``{n_bins: (levels, n_bins)}``; exact (not approximate) because halving the
    number of bins of a power-of-two FBN merges pairs of neighbouring bins (module doc).
    Bin numbers that are not a power-of-two divisor of the largest are computed directly.
    """
    finest = max(n_bins_list)
    base, _ = fixed_bin_number(values, finest)
    out = {}
    for n in n_bins_list:
        ratio = finest // n
        if finest % n == 0 and ratio & (ratio - 1) == 0:
            out[n] = ((base - 1) // ratio + 1, int(n))
        else:
            out[n] = fixed_bin_number(values, n)
    return out


def fixed_bin_size(values, bin_width: float, lower_bound: float | None = None):
    """IBSI fixed bin size discretisation from ``lower_bound`` (default: the ROI minimum)."""
    _check(values)
    xp = get_xp(values)
    lo = float(xp.min(values)) if lower_bound is None else float(lower_bound)
    if float(xp.min(values)) < lo:
        raise ValueError(f"fixed bin size: intensity {float(xp.min(values)):g} lies below the "
                         f"lower bound {lo:g} (set the re-segmentation range or lower_bound)")
    levels = xp.floor((values - lo) / bin_width).astype(xp.int64) + 1
    return levels, int(xp.max(levels))


def fixed_bin_size_aligned(values, bin_width: float):
    """PyRadiomics' fixed bin width: edges at multiples of ``bin_width`` (module doc)."""
    _check(values)
    xp = get_xp(values)
    bins = xp.floor(values / bin_width).astype(xp.int64)
    levels = bins - xp.min(bins) + 1
    return levels, int(xp.max(levels))


def equal_probability_levels(values, n_bins_list):
    """Equal-probability levels for several bin numbers, from one sort of the intensities.

    Returns ``{n_bins: (levels, n_bins)}``. The breaks are the ``k / Ng`` quantiles
    (:func:`sorted_quantiles`); a voxel's level is ``1 +`` the number of inner breaks strictly
    below its intensity (right-closed bins). In the sorted sample the voxels above break
    ``b_k`` are those from position ``#{x <= b_k}`` on, so each bin number costs a cumulative
    count over positions and one scatter back to voxel order, not a search per voxel; a test
    compares it with ``numpy.quantile`` + ``searchsorted``.
    """
    _check(values)
    xp = get_xp(values)
    order = xp.argsort(values)
    ascending = values[order]
    n = int(values.size)
    out = {}
    for n_bins in n_bins_list:
        breaks = sorted_quantiles(ascending, xp.linspace(0.0, 1.0, int(n_bins) + 1))
        cut = xp.searchsorted(ascending, breaks[1:-1], side="right")
        steps = xp.bincount(cut, minlength=n + 1)[:n]
        levels = xp.empty(n, dtype=xp.int64)
        levels[order] = xp.cumsum(steps) + 1
        out[n_bins] = (levels, int(n_bins))
    return out


def equal_probability(values, n_bins: int):
    """Equal-probability (quantile) bins as RIA's ``ep`` discretisation (module doc)."""
    return equal_probability_levels(values, [n_bins])[n_bins]


def as_grey_levels(values):
    """Intensities that already are grey levels 1..Ng (no discretisation)."""
    _check(values)
    xp = get_xp(values)
    levels = xp.round(values)
    if bool(xp.any(levels != values)) or float(xp.min(values)) < 1:
        raise ValueError("discretisation 'none' needs integer intensities >= 1 inside the ROI; "
                         f"found range [{float(xp.min(values)):g}, {float(xp.max(values)):g}]"
                         " with non-integer or < 1 values (choose fbn, fbs or ep)")
    levels = levels.astype(xp.int64)
    return levels, int(xp.max(levels))


def discretise(values, disc, *, range_low: float | None = None):
    """Apply one ``neurorad.settings.Discretisation`` to ROI intensities.

    ``range_low`` is the re-segmentation lower bound, the default FBS lower bound (IBSI).
    """
    if disc.method == "fbn":
        return fixed_bin_number(values, disc.n_bins)
    if disc.method == "fbs":
        lower = disc.lower_bound if disc.lower_bound is not None else range_low
        return fixed_bin_size(values, disc.bin_width, lower)
    if disc.method == "fbs_aligned":
        return fixed_bin_size_aligned(values, disc.bin_width)
    if disc.method == "ep":
        return equal_probability(values, disc.n_bins)
    if disc.method == "none":
        return as_grey_levels(values)
    raise ValueError(f"unknown discretisation method {disc.method!r}")

