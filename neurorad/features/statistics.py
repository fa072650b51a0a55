"""Intensity-based statistical features (IBSI family *UHIW*, tags ``stat_*``).

The 18 features describe the distribution of the intensities ``X_gl`` of the ``N_v`` voxels in
the ROI intensity mask, without discretisation. Moments are **population** moments (no bias
correction), as the IBSI prescribes. Percentiles use linear interpolation between order
statistics (``numpy.percentile``'s default), which reproduces every IBSI reference value.

The distribution part (mean ... quartile coefficient of dispersion) is shared with the
intensity-histogram family, which evaluates the same formulas on discretised grey levels
(:func:`distribution_features`).

Reference: Zwanenburg A. et al., "The Image Biomarker Standardization Initiative",
Radiology 2020;295:328-338, and the IBSI reference manual (arXiv:1612.07003), section
"Intensity-based statistical features".
"""
from __future__ import annotations

import math
import warnings

from neurorad.backend import get_xp

# Base feature name -> (IBSI code, name, formula); the shared distribution features are listed
# once here and re-used with the histogram codes in histogram.py.
FEATURES = {
    "stat_mean": ("Q4LE", "Mean intensity", r"\mu = \frac{1}{N_v}\sum_k X_k"),
    "stat_var": ("ECT3", "Intensity variance", r"\frac{1}{N_v}\sum_k (X_k-\mu)^2"),
    "stat_skew": ("KE2A", "Intensity skewness", r"\frac{m_3}{m_2^{3/2}} (0 if m_2 = 0)"),
    "stat_kurt": ("IPH6", "(Excess) intensity kurtosis", r"\frac{m_4}{m_2^2} - 3 (0 if m_2 = 0)"),
    "stat_median": ("Y12H", "Median intensity", "sample median of X"),
    "stat_min": ("1GSF", "Minimum intensity", r"\min X"),
    "stat_p10": ("QG58", "10th intensity percentile", "P_10 (linear interpolation)"),
    "stat_p90": ("8DWT", "90th intensity percentile", "P_90 (linear interpolation)"),
    "stat_max": ("84IY", "Maximum intensity", r"\max X"),
    "stat_iqr": ("SALO", "Intensity interquartile range", "P_75 - P_25"),
    "stat_range": ("2OJQ", "Intensity range", r"\max X - \min X"),
    "stat_mad": ("4FUA", "Intensity-based mean absolute deviation", r"\frac{1}{N_v}\sum_k |X_k-\mu|"),
    "stat_rmad": ("1128", "Intensity-based robust mean absolute deviation",
                  r"\frac{1}{N_{10-90}}\sum_{P_{10}\le X_k\le P_{90}} |X_k-\bar X_{10-90}|"),
    "stat_medad": ("N72L", "Intensity-based median absolute deviation", r"\frac{1}{N_v}\sum_k |X_k-M|"),
    "stat_cov": ("7TET", "Intensity-based coefficient of variation", r"\sigma/\mu"),
    "stat_qcod": ("9S40", "Intensity-based quartile coefficient of dispersion",
                  r"\frac{P_{75}-P_{25}}{P_{75}+P_{25}}"),
    "stat_energy": ("N8CA", "Intensity-based energy", r"\sum_k X_k^2"),
    "stat_rms": ("5ZWQ", "Root mean square intensity", r"\sqrt{\frac{1}{N_v}\sum_k X_k^2}"),
}

# Names (without family prefix) produced by distribution_features, in IBSI order.
DISTRIBUTION_NAMES = ("mean", "var", "skew", "kurt", "median", "min", "p10", "p90", "max", "iqr",
                      "range", "mad", "rmad", "medad", "cov", "qcod")


def _ratio(num: float, den: float, what: str) -> float:
    """num/den, or NaN with a warning when the denominator is zero."""
    if den == 0:
        warnings.warn(f"{what} is undefined (division by zero); returning NaN", RuntimeWarning,
                      stacklevel=3)
        return math.nan
    return num / den


def order_statistic_quantiles(value_at, n: int, probs, xp):
    """Sample quantiles from the order statistics, R type 7 / NumPy ``method="linear"``.

    With :math:`v = (n - 1) q`, :math:`j = \\lfloor v \\rfloor`, :math:`\\gamma = v - j`:
    :math:`Q(q) = x_{(j)} + \\gamma (x_{(j+1)} - x_{(j)})`, evaluated as
    :math:`x_{(j+1)} - (1 - \\gamma)(x_{(j+1)} - x_{(j)})` when :math:`\\gamma \\ge 1/2` --
    the floating-point operations of ``numpy.quantile``, so the values are the same (a test
    checks it). Reference: Hyndman RJ, Fan Y, Am Stat 1996;50:361-365 (definition 7).

    Parameters
    ----------
    value_at : callable
        ``value_at(indices)`` -> the order statistics :math:`x_{(j)}` (0-based ``j``) of the
        sample, e.g. an ascending array's ``__getitem__``, or a lookup in cumulative counts.
    n : int
        Sample size (at least 1).
    probs : 1-D float64 array
        Probabilities in [0, 1].
    xp : array module
    """
    virtual = (n - 1) * probs
    below = xp.floor(virtual)
    gamma = virtual - below
    below = below.astype(xp.int64)
    a = value_at(xp.minimum(below, n - 1))
    b = value_at(xp.minimum(below + 1, n - 1))
    diff = b - a
    return xp.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


def sorted_quantiles(sorted_values, probs):
    """:func:`order_statistic_quantiles` of an ascending 1-D array (non-empty)."""
    xp = get_xp(sorted_values)
    return order_statistic_quantiles(sorted_values.__getitem__, int(sorted_values.size), probs,
                                     xp)


#: Percentiles of :func:`distribution_features`.
PERCENTILES = (10.0, 25.0, 50.0, 75.0, 90.0)


def distribution_features(values, family: str = "stat") -> dict[str, float]:
    """Moments, order statistics and dispersion measures of a 1-D sample (IBSI definitions).

    Parameters
    ----------
    values : array (NumPy or CuPy), 1-D
        Intensities (``stat``) or discretised grey levels (``ih``) of the ROI voxels.
    family : str
        Tag prefix of the returned keys (``"stat"`` or ``"ih"``); also used in warnings.

    Returns
    -------
    dict
        ``{family}_{name}`` for each name in :data:`DISTRIBUTION_NAMES`:

        * mean :math:`\\mu`, variance :math:`m_2 = \\frac1N\\sum(x-\\mu)^2` (population),
          skewness :math:`m_3/m_2^{3/2}`, excess kurtosis :math:`m_4/m_2^2-3` (both 0 when
          :math:`m_2=0`, per IBSI);
        * median, min, P10, P90, max, IQR = P75 - P25, range = max - min;
        * mad :math:`\\frac1N\\sum|x-\\mu|`; rmad: the mad of the voxels with
          :math:`P_{10}\\le x\\le P_{90}` about their own mean; medad :math:`\\frac1N\\sum|x-M|`;
        * cov :math:`\\sigma/\\mu`; qcod :math:`(P_{75}-P_{25})/(P_{75}+P_{25})` (NaN with a
          warning when the denominator is 0).

    An empty sample gives NaN for every feature (with a warning).
    """
    xp = get_xp(values)
    x = xp.asarray(values, dtype=xp.float64).ravel()
    if x.size == 0:
        return _empty_distribution(family)
    mean = float(x.mean())
    dev = x - mean
    dev2 = dev * dev  # powers by multiplication: x**3, x**4 call pow() per element
    moments = (float(dev2.mean()), float((dev2 * dev).mean()), float((dev2 * dev2).mean()))
    percentiles = tuple(float(v) for v in xp.percentile(x, xp.asarray(PERCENTILES)))
    p10, p50, p90 = percentiles[0], percentiles[2], percentiles[4]
    central = x[(x >= p10) & (x <= p90)]
    rmad = float(xp.abs(central - central.mean()).mean()) if central.size else None
    return _distribution_dict(family, mean, moments, percentiles, float(x.min()),
                              float(x.max()), float(xp.abs(dev).mean()), rmad,
                              float(xp.abs(x - p50).mean()))


def distribution_features_from_counts(counts, family: str = "ih") -> dict[str, float]:
    """:func:`distribution_features` of integer grey levels given by their histogram.

    ``counts[i - 1]`` voxels have grey level ``i`` (``i = 1..N_g``). The same formulas as
    :func:`distribution_features` over the ``N_v`` voxels, each voxel sum written as a sum
    over the ``N_g`` levels weighted by :math:`n_i` (e.g. :math:`m_2 = \\frac1{N_v}\\sum_i
    n_i (i - \\mu)^2`), and each order statistic :math:`x_{(j)}` read from the cumulative
    counts (the level ``i`` with :math:`\\sum_{l<i} n_l \\le j < \\sum_{l\\le i} n_l`):
    ``O(N_g)`` instead of ``O(N_v)`` work. Equal to the voxel-wise evaluation up to
    floating-point rounding of the sums (a test compares them).
    """
    xp = get_xp(counts)
    weights = xp.asarray(counts, dtype=xp.float64).ravel()
    n = int(round(float(weights.sum())))
    if n == 0:
        return _empty_distribution(family)
    level = xp.arange(1, weights.size + 1, dtype=xp.float64)
    cumulative = xp.cumsum(xp.asarray(counts).ravel())

    def value_at(j):
        return (xp.searchsorted(cumulative, j, side="right") + 1).astype(xp.float64)

    mean = float((weights * level).sum()) / n
    dev = level - mean
    dev2 = dev * dev
    moments = tuple(float((weights * m).sum()) / n for m in (dev2, dev2 * dev, dev2 * dev2))
    probs = xp.asarray(PERCENTILES) / 100
    percentiles = tuple(float(v) for v in order_statistic_quantiles(value_at, n, probs, xp))
    p10, p50, p90 = percentiles[0], percentiles[2], percentiles[4]
    present = xp.flatnonzero(weights)
    central = weights * ((level >= p10) & (level <= p90))
    n_central = float(central.sum())
    rmad = None
    if n_central > 0:
        central_mean = float((central * level).sum()) / n_central
        rmad = float((central * xp.abs(level - central_mean)).sum()) / n_central
    return _distribution_dict(family, mean, moments, percentiles, float(present[0] + 1),
                              float(present[-1] + 1), float((weights * xp.abs(dev)).sum()) / n,
                              rmad, float((weights * xp.abs(level - p50)).sum()) / n)


def _empty_distribution(family: str) -> dict[str, float]:
    warnings.warn(f"{family} features: the ROI has no voxels; returning NaN", RuntimeWarning,
                  stacklevel=3)
    return dict.fromkeys((f"{family}_{n}" for n in DISTRIBUTION_NAMES), math.nan)


def _distribution_dict(family, mean, moments, percentiles, x_min, x_max, mad, rmad, medad):
    """The ``{family}_*`` dict of :func:`distribution_features` from its ingredients
    (``rmad`` None: no voxel between P10 and P90)."""
    m2, m3, m4 = moments
    p10, p25, p50, p75, p90 = percentiles
    # IBSI: skewness and kurtosis are 0 for a constant sample (not undefined).
    skew = m3 / m2**1.5 if m2 > 0 else 0.0
    kurt = m4 / m2**2 - 3.0 if m2 > 0 else 0.0
    if rmad is None:  # e.g. two distinct values: interpolated P10 and P90 fall strictly between them
        warnings.warn(f"{family}_rmad is undefined (no value lies between P10 and P90); returning NaN",
                      RuntimeWarning, stacklevel=3)
        rmad = math.nan
    out = {
        "mean": mean,
        "var": m2,
        "skew": skew,
        "kurt": kurt,
        "median": p50,
        "min": x_min,
        "p10": p10,
        "p90": p90,
        "max": x_max,
        "iqr": p75 - p25,
        "range": x_max - x_min,
        "mad": mad,
        "rmad": rmad,
        "medad": medad,
        "cov": _ratio(math.sqrt(m2), mean, f"{family}_cov (mean is 0)"),
        "qcod": _ratio(p75 - p25, p75 + p25, f"{family}_qcod (P75 + P25 is 0)"),
    }
    return {f"{family}_{k}": v for k, v in out.items()}


def statistics_features(values) -> dict[str, float]:
    """The 18 IBSI intensity-based statistical features of the ROI intensities.

    Parameters
    ----------
    values : array (NumPy or CuPy)
        Intensities :math:`X_{gl}` of the voxels in the ROI intensity mask (any shape; flattened).

    Returns
    -------
    dict
        ``stat_*`` tags of :data:`FEATURES`: the distribution features of
        :func:`distribution_features` plus energy :math:`\\sum_k X_k^2` and root mean square
        :math:`\\sqrt{\\frac1{N_v}\\sum_k X_k^2}`.

    References
    ----------
    IBSI reference manual, "Intensity-based statistical features" (codes in :data:`FEATURES`).
    """
    xp = get_xp(values)
    x = xp.asarray(values, dtype=xp.float64).ravel()
    out = distribution_features(x, "stat")
    if x.size == 0:
        out["stat_energy"] = out["stat_rms"] = math.nan
        return out
    energy = float((x**2).sum())
    out["stat_energy"] = energy
    out["stat_rms"] = math.sqrt(energy / x.size)
    return out
