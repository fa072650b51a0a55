"""Intensity-histogram features (IBSI family *ZVCW*, tags ``ih_*``).

Input: the discretised grey levels ``X_d`` (integers ``1..N_g``) of the voxels in the ROI
intensity mask and the number of grey levels ``N_g``. ``N_g`` may exceed the highest level
present (the IBSI digital phantom uses ``N_g = 6`` with levels 2 and 5 absent): the histogram
``H = (n_1, ..., n_{N_g})`` is non-sparse, which matters for the entropy (sum over all entries,
empty bins contribute 0) and for the histogram gradient.

Reference: IBSI reference manual (arXiv:1612.07003), section "Intensity histogram features".
"""
from __future__ import annotations

import math
import warnings

from neurorad.backend import get_xp
from neurorad.features.statistics import distribution_features_from_counts

FEATURES = {
    "ih_mean": ("X6K6", "Mean discretised intensity", r"\sum_i i\,p_i"),
    "ih_var": ("CH89", "Discretised intensity variance", r"\sum_i (i-\mu)^2 p_i"),
    "ih_skew": ("88K1", "Discretised intensity skewness", r"m_3/m_2^{3/2} (0 if m_2 = 0)"),
    "ih_kurt": ("C3I7", "(Excess) discretised intensity kurtosis", r"m_4/m_2^2 - 3 (0 if m_2 = 0)"),
    "ih_median": ("WIFQ", "Median discretised intensity", "sample median of X_d"),
    "ih_min": ("1PR8", "Minimum discretised intensity", r"\min X_d"),
    # The manual's P10 section carries no code of its own; the transcription repeats 1PR8.
    "ih_p10": ("1PR8", "10th discretised intensity percentile", "P_10 (linear interpolation)"),
    "ih_p90": ("GPMT", "90th discretised intensity percentile", "P_90 (linear interpolation)"),
    "ih_max": ("3NCY", "Maximum discretised intensity", r"\max X_d"),
    "ih_mode": ("AMMC", "Intensity histogram mode",
                r"\arg\max_i n_i (ties: closest to \mu, then the lower)"),
    "ih_iqr": ("WR0O", "Discretised intensity interquartile range", "P_75 - P_25"),
    "ih_range": ("5Z3W", "Discretised intensity range", r"\max X_d - \min X_d"),
    "ih_mad": ("D2ZX", "Intensity histogram mean absolute deviation", r"\frac{1}{N_v}\sum_k |X_{d,k}-\mu|"),
    "ih_rmad": ("WRZB", "Intensity histogram robust mean absolute deviation",
                r"mean |x - \bar x_{10-90}| over P_{10} \le x \le P_{90}"),
    "ih_medad": ("4RNL", "Intensity histogram median absolute deviation", r"\frac{1}{N_v}\sum_k |X_{d,k}-M|"),
    "ih_cov": ("CWYJ", "Intensity histogram coefficient of variation", r"\sigma/\mu"),
    "ih_qcod": ("SLWD", "Intensity histogram quartile coefficient of dispersion",
                r"\frac{P_{75}-P_{25}}{P_{75}+P_{25}}"),
    "ih_entropy": ("TLU2", "Discretised intensity entropy", r"-\sum_{i=1}^{N_g} p_i \log_2 p_i"),
    "ih_uniformity": ("BJ5W", "Discretised intensity uniformity", r"\sum_{i=1}^{N_g} p_i^2"),
    "ih_max_grad": ("12CE", "Maximum histogram gradient", r"\max_i H'_i"),
    "ih_max_grad_g": ("8E6O", "Maximum histogram gradient intensity", r"\arg\max_i H'_i"),
    "ih_min_grad": ("VQB3", "Minimum histogram gradient", r"\min_i H'_i"),
    "ih_min_grad_g": ("RHQZ", "Minimum histogram gradient intensity", r"\arg\min_i H'_i"),
}


def grey_level_histogram(binned_values, n_levels: int):
    """Non-sparse histogram ``n_i`` for levels ``i = 1..n_levels`` (array of length ``n_levels``).

    Raises
    ------
    ValueError
        When a value is not an integer in ``1..n_levels``.
    """
    xp = get_xp(binned_values)
    g = xp.asarray(binned_values).ravel()
    if n_levels < 1:
        raise ValueError(f"n_levels must be >= 1, got {n_levels}")
    if g.size and (float(g.min()) < 1 or float(g.max()) > n_levels or bool(xp.any(g != xp.round(g)))):
        raise ValueError(f"discretised grey levels must be integers in 1..{n_levels}; got values in "
                         f"[{float(g.min())}, {float(g.max())}]")
    return xp.bincount(g.astype(xp.int64) - 1, minlength=n_levels)[:n_levels]


def histogram_gradient(counts):
    """IBSI histogram gradient :math:`H'` (same length as :math:`H`).

    :math:`H'_1 = n_2 - n_1`, :math:`H'_i = (n_{i+1} - n_{i-1})/2` for :math:`1 < i < N_g`,
    :math:`H'_{N_g} = n_{N_g} - n_{N_g - 1}`; a one-bin histogram has gradient 0.
    """
    xp = get_xp(counts)
    n = xp.asarray(counts, dtype=xp.float64)
    if n.size == 1:
        return xp.zeros(1)
    grad = xp.empty_like(n)
    grad[0] = n[1] - n[0]
    grad[-1] = n[-1] - n[-2]
    grad[1:-1] = (n[2:] - n[:-2]) / 2.0
    return grad


def _mode(counts, mean: float) -> float:
    """Level with the highest count; ties go to the level closest to the mean, then the lower one."""
    xp = get_xp(counts)
    levels = xp.flatnonzero(counts == counts.max()) + 1
    distance = xp.abs(levels.astype(xp.float64) - mean)
    # argmin returns the first (lowest) level among equal distances: the IBSI "left of the mean".
    return float(levels[int(xp.argmin(distance))])


def histogram_features(binned_values, n_levels: int) -> dict[str, float]:
    """The 23 IBSI intensity-histogram features of discretised grey levels.

    Parameters
    ----------
    binned_values : array (NumPy or CuPy)
        Grey levels :math:`X_d \\in \\{1..N_g\\}` of the voxels in the ROI intensity mask.
    n_levels : int
        Number of grey levels :math:`N_g` (histogram length), at least the highest level.

    Returns
    -------
    dict
        ``ih_*`` tags of :data:`FEATURES`. With :math:`p_i = n_i/N_v`: the distribution
        features (mean ... qcod, same formulas as ``stat_*``), mode, entropy
        :math:`-\\sum_i p_i\\log_2 p_i` (over all :math:`N_g` entries; :math:`0\\log 0 = 0`),
        uniformity :math:`\\sum_i p_i^2`, and the maximum/minimum of the histogram gradient
        :math:`H'` with the grey level where it occurs (the lowest such level on ties).

    References
    ----------
    IBSI reference manual, "Intensity histogram features"; gradient features after
    van Dijk et al., Radiother Oncol 2016;120:361-367.
    """
    xp = get_xp(binned_values)
    g = xp.asarray(binned_values).ravel()
    counts = grey_level_histogram(g, n_levels)  # validates the levels first
    # The distribution features of the levels from their histogram: O(N_g), not O(N_v).
    out = distribution_features_from_counts(counts, "ih")
    if g.size == 0:
        out.update({k: math.nan for k in FEATURES if k not in out})
        return out
    p = counts.astype(xp.float64) / g.size
    nonzero = p[p > 0]
    grad = histogram_gradient(counts)
    i_max, i_min = int(xp.argmax(grad)), int(xp.argmin(grad))
    out.update({
        "ih_mode": _mode(counts, out["ih_mean"]),
        "ih_entropy": float(-(nonzero * xp.log2(nonzero)).sum()) + 0.0,
        "ih_uniformity": float((p**2).sum()),
        "ih_max_grad": float(grad[i_max]),
        "ih_max_grad_g": float(i_max + 1),
        "ih_min_grad": float(grad[i_min]),
        "ih_min_grad_g": float(i_min + 1),
    })
    if n_levels == 1:
        warnings.warn("ih features: a single grey level (N_g = 1) gives a zero histogram gradient",
                      RuntimeWarning, stacklevel=2)
    return {k: out[k] for k in FEATURES}
