"""Extra first-order statistics of the R package RIA, with correct definitions (non-IBSI).

The reproduced studies used RIA's ``first_order`` output, which lists more statistics than the
IBSI's 18 (geometric/harmonic means, trimmed means, Tukey's trimean, several absolute
deviations, quartiles, deciles, Tukey fences). This module computes those that IBSI lacks,
under ``stat_*`` tags with ``ibsi_code = ""``; see ``docs/ria_mapping.md`` for the name map and
where RIA's own code differs (e.g. its trimean uses Q1 twice, its upper fence uses Q1, its
geometric mean mixes log2 with exp).

Conventions
-----------
* Percentiles: linear interpolation between order statistics (R ``quantile`` type 7,
  ``numpy.percentile`` default, as the IBSI ``stat_p10``/``stat_p90``).
* ``trim_mean_<t>`` and ``winsor_mean_<t>``: ``t`` is the **total** percentage of the sample
  removed (trimmed) or clamped (winsorised), half from each tail, as RIA names them
  (RIA ``Trim_mean_10`` = R ``mean(x, trim = 0.05)``). With ``g = floor(N t / 200)``, the
  ``g`` smallest and ``g`` largest values are dropped (trimmed) or replaced by the nearest
  kept value (winsorised).
"""
from __future__ import annotations

import math
import warnings

from neurorad.backend import get_xp

_NOTE = "non-IBSI (RIA first_order extra)"
TRIM_PERCENTS = (5, 10, 20, 30)
DECILES = (20, 30, 40, 60, 70, 80)  # P10, P50 (median), P90 are IBSI stat_p10/stat_median/stat_p90

FEATURES = {
    "stat_geo_mean": ("", f"Geometric mean ({_NOTE}; positive intensities only)",
                      r"\exp\left(\frac{1}{N}\sum_k \ln x_k\right)"),
    "stat_har_mean": ("", f"Harmonic mean ({_NOTE}; positive intensities only)",
                      r"N / \sum_k x_k^{-1}"),
    **{f"stat_trim_mean_{t}": ("", f"{t} % trimmed mean ({_NOTE}; {t / 2:g} % per tail)",
                               r"mean of x_{(g+1)}..x_{(N-g)}, g = \lfloor N t/200 \rfloor")
       for t in TRIM_PERCENTS},
    "stat_iq_mean": ("", f"Interquartile mean ({_NOTE}; 25 % per tail)",
                     r"mean of x_{(g+1)}..x_{(N-g)}, g = \lfloor N/4 \rfloor"),
    "stat_winsor_mean_10": ("", f"10 % winsorised mean ({_NOTE}; 5 % per tail)",
                            r"mean of x clamped to [x_{(g+1)}, x_{(N-g)}], g = \lfloor N/20 \rfloor"),
    "stat_tri_mean": ("", f"Tukey's trimean ({_NOTE})", "(P_25 + 2 P_50 + P_75)/4"),
    "stat_sd": ("", f"Standard deviation, population ({_NOTE})", r"\sqrt{F_{stat.var}}"),
    "stat_md_ad_mn": ("", f"Median absolute deviation from the mean ({_NOTE})", r"\mathrm{median}|x_k-\mu|"),
    "stat_md_ad_md": ("", f"Median absolute deviation from the median, unscaled ({_NOTE})",
                      r"\mathrm{median}|x_k-M|"),
    "stat_max_ad_mn": ("", f"Maximum absolute deviation from the mean ({_NOTE})", r"\max|x_k-\mu|"),
    "stat_max_ad_md": ("", f"Maximum absolute deviation from the median ({_NOTE})", r"\max|x_k-M|"),
    "stat_p25": ("", f"25th percentile, first quartile ({_NOTE})", "P_25"),
    "stat_p75": ("", f"75th percentile, third quartile ({_NOTE})", "P_75"),
    **{f"stat_p{d}": ("", f"{d}th percentile, decile ({_NOTE})", f"P_{d}") for d in DECILES},
    "stat_low_notch": ("", f"Lower Tukey fence ({_NOTE})", "P_25 - 1.5 (P_75 - P_25)"),
    "stat_high_notch": ("", f"Upper Tukey fence ({_NOTE})", "P_75 + 1.5 (P_75 - P_25)"),
}


def _trimmed(sorted_x, percent_total: float, xp, winsorise: bool = False) -> float:
    """Trimmed (or winsorised) mean dropping/clamping ``floor(N percent/200)`` values per tail."""
    n = sorted_x.size
    g = int(math.floor(n * percent_total / 200.0 + 1e-9))
    if g == 0:
        return float(sorted_x.mean())
    if winsorise:
        return float(xp.clip(sorted_x, sorted_x[g], sorted_x[n - g - 1]).mean())
    return float(sorted_x[g:n - g].mean())


def _positive_means(x, xp) -> tuple[float, float]:
    if bool((x <= 0).any()):
        warnings.warn("stat_geo_mean / stat_har_mean are undefined for intensities <= 0 (e.g. CT HU); "
                      "returning NaN", RuntimeWarning, stacklevel=3)
        return math.nan, math.nan
    return float(xp.exp(xp.log(x).mean())), float(x.size / (1.0 / x).sum())


def ria_extra_features(values) -> dict[str, float]:
    """RIA's extra first-order statistics (non-IBSI) of the ROI intensities.

    Parameters
    ----------
    values : array (NumPy or CuPy)
        Intensities of the voxels in the ROI intensity mask (flattened).

    Returns
    -------
    dict
        The tags of :data:`FEATURES`: geometric and harmonic mean (NaN with a warning unless
        every intensity is positive), trimmed means (5/10/20/30 % in total) and the
        interquartile mean, 10 % winsorised mean, Tukey's trimean
        :math:`(P_{25}+2P_{50}+P_{75})/4`, population SD, median/maximum absolute deviations
        from mean and median, quartiles, the deciles not in IBSI (P20..P80) and the Tukey
        fences :math:`P_{25}-1.5\\,IQR`, :math:`P_{75}+1.5\\,IQR`. Empty input gives NaN.

    References
    ----------
    Kolossváry M. et al., Circ Cardiovasc Imaging 2017;10:e006843 (RIA); Tukey J.W.,
    Exploratory Data Analysis (1977) for trimean and fences; Wilcox R.R., Introduction to
    Robust Estimation (2012) for trimmed and winsorised means.
    """
    xp = get_xp(values)
    x = xp.sort(xp.asarray(values, dtype=xp.float64).ravel())
    if x.size == 0:
        warnings.warn("RIA extra statistics: the ROI has no voxels; returning NaN", RuntimeWarning,
                      stacklevel=2)
        return dict.fromkeys(FEATURES, math.nan)
    levels = [25.0, 50.0, 75.0] + [float(d) for d in DECILES]
    pct = dict(zip(levels, (float(v) for v in xp.percentile(x, xp.asarray(levels)))))
    mean, median = float(x.mean()), pct[50.0]
    dev_mean, dev_median = xp.abs(x - mean), xp.abs(x - median)
    iqr = pct[75.0] - pct[25.0]
    out = {}
    out["stat_geo_mean"], out["stat_har_mean"] = _positive_means(x, xp)
    for t in TRIM_PERCENTS:
        out[f"stat_trim_mean_{t}"] = _trimmed(x, t, xp)
    out["stat_iq_mean"] = _trimmed(x, 50, xp)
    out["stat_winsor_mean_10"] = _trimmed(x, 10, xp, winsorise=True)
    out["stat_tri_mean"] = (pct[25.0] + 2.0 * median + pct[75.0]) / 4.0
    out["stat_sd"] = float(xp.sqrt(((x - mean) ** 2).mean()))
    out["stat_md_ad_mn"] = float(xp.median(dev_mean))
    out["stat_md_ad_md"] = float(xp.median(dev_median))
    out["stat_max_ad_mn"] = float(dev_mean.max())
    out["stat_max_ad_md"] = float(dev_median.max())
    out["stat_p25"], out["stat_p75"] = pct[25.0], pct[75.0]
    for d in DECILES:
        out[f"stat_p{d}"] = pct[float(d)]
    out["stat_low_notch"] = pct[25.0] - 1.5 * iqr
    out["stat_high_notch"] = pct[75.0] + 1.5 * iqr
    return {k: out[k] for k in FEATURES}
