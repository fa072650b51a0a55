"""Intensity-volume histogram features (IBSI family *P88C*, tags ``ivh_*``).

The cumulative IVH relates a discretised intensity ``i`` to the fraction of the ROI volume
with intensity at least ``i``:

    nu_i    = 1 - (1/N_v) * #{k : X_{d,gl,k} < i}                (volume fraction)
    gamma_i = (i - min G) / (max G - min G)                       (intensity fraction)

evaluated for every ``i`` of the grid ``G = {min G, min G + w_d, ..., max G}``, including
intensities absent from the ROI. Three IBSI input regimes fix ``X_{d,gl}``, ``G`` and ``w_d``:

* **discrete calibrated intensities** (e.g. CT HU; no argument given): ``X_{d,gl} = X_gl``,
  ``w_d = 1``, ``G`` = the re-segmentation range (``value_range``; an open upper bound
  ``None`` becomes ``max X_gl``) or ``[min X_gl, max X_gl]``;
* **continuous calibrated intensities** (e.g. PET SUV; ``bin_width = w_b``): fixed-bin-size
  discretisation from ``X_min`` (lower bound of ``value_range``, else ``min X_gl``),
  ``X_d = floor((X_gl - X_min)/w_b) + 1``, replaced by the bin centres
  ``X_{d,gl} = X_min + (X_d - 0.5) w_b``; ``G = [X_min + w_b/2, X_max - w_b/2]``, ``w_d = w_b``;
* **arbitrary intensity units** (e.g. MRI; ``n_levels = N_g``, IBSI recommends 1000):
  fixed-bin-number discretisation over ``[min X_gl, max X_gl]``, ``X_{d,gl} = X_d``,
  ``G = [1, N_g]``, ``w_d = 1``.

In every regime ``ivh_values`` are the **raw** intensities of the ROI intensity mask; this
module performs the IVH's own (fine) discretisation.

Reference: IBSI reference manual (arXiv:1612.07003), "Intensity-volume histogram features";
El Naqa et al., Pattern Recognit 2009;42:1162-1171.
"""
from __future__ import annotations

import math
import warnings

from neurorad.backend import get_xp

FEATURES = {
    "ivh_v10": ("BC2M", "Volume at intensity fraction 10 %",
                r"\max\{\nu_i : \gamma_i \ge 0.10\}"),
    "ivh_v90": ("BC2M", "Volume at intensity fraction 90 %",
                r"\max\{\nu_i : \gamma_i \ge 0.90\}"),
    "ivh_i10": ("GBPN", "Intensity at volume fraction 10 %", r"\min\{i : \nu_i \le 0.10\}"),
    "ivh_i90": ("GBPN", "Intensity at volume fraction 90 %", r"\min\{i : \nu_i \le 0.90\}"),
    "ivh_diff_v10_v90": ("DDTU", "Volume fraction difference between intensity fractions",
                         "V_10 - V_90"),
    "ivh_diff_i10_i90": ("CNV2", "Intensity fraction difference between volume fractions",
                         "I_10 - I_90"),
    "ivh_auc": ("9CMM", "Area under the IVH curve",
                r"\int_0^1 \nu(\gamma)\,d\gamma (trapezoidal rule over the grid)"),
}


def _fixed_bin_number(x, n_levels: int, xp):
    """Grey levels 1..n_levels from equal-width bins over [min x, max x] (IBSI FBN)."""
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return xp.ones_like(x)
    levels = xp.floor(n_levels * (x - lo) / (hi - lo)) + 1
    return xp.minimum(levels, n_levels)  # the maximum itself falls in the last bin


def ivh_grid(ivh_values, *, bin_width=None, n_levels=None, value_range=None):
    """Discretised ROI intensities ``X_{d,gl}`` and the IVH grid ``G`` for one IBSI regime.

    Returns
    -------
    (x_dgl, grid) : arrays
        ``x_dgl`` as the array module of ``ivh_values``; ``grid`` the ascending intensities
        ``min G, min G + w_d, ..., max G``.
    """
    xp = get_xp(ivh_values)
    x = xp.asarray(ivh_values, dtype=xp.float64).ravel()
    if bin_width is not None and n_levels is not None:
        raise ValueError("ivh_features: give either bin_width (fixed bin size) or n_levels "
                         "(fixed bin number), not both")
    lo, hi = (None, None) if value_range is None else value_range
    # Open (None or infinite) bounds of a re-segmentation range fall back to the ROI min/max.
    lo = float(x.min()) if lo is None or not math.isfinite(lo) else float(lo)
    hi = float(x.max()) if hi is None or not math.isfinite(hi) else float(hi)
    if n_levels is not None:
        if int(n_levels) < 2:
            raise ValueError(f"ivh_features: n_levels must be >= 2, got {n_levels}")
        x_dgl = _fixed_bin_number(x, int(n_levels), xp)
        g_min, g_max, step = 1.0, float(n_levels), 1.0
    elif bin_width is not None:
        if not bin_width > 0:
            raise ValueError(f"ivh_features: bin_width must be > 0, got {bin_width}")
        w = float(bin_width)
        x_dgl = lo + (xp.floor((x - lo) / w) + 1 - 0.5) * w
        g_min, g_max, step = lo + 0.5 * w, hi - 0.5 * w, w
    else:
        x_dgl, g_min, g_max, step = x, lo, hi, 1.0
    n_steps = int(math.floor((g_max - g_min) / step + 1e-9))
    if n_steps > 10**7:
        raise ValueError(f"ivh_features: the IVH grid would hold {n_steps + 1} intensities "
                         f"([{g_min:g}, {g_max:g}] in steps of {step:g}); continuous intensities "
                         "need bin_width (fixed bin size) or n_levels (fixed bin number)")
    grid = g_min + step * xp.arange(n_steps + 1, dtype=xp.float64)
    return x_dgl, grid


def ivh_features(ivh_values, *, bin_width=None, n_levels=None, value_range=None) -> dict[str, float]:
    """IBSI intensity-volume histogram features V10, V90, I10, I90, their differences and AUC.

    Parameters
    ----------
    ivh_values : array (NumPy or CuPy)
        Raw intensities :math:`X_{gl}` of the ROI intensity mask.
    bin_width : float, optional
        Fixed bin size :math:`w_b` for continuous calibrated intensities (e.g. 2.5 HU, 0.1 SUV).
    n_levels : int, optional
        Fixed bin number :math:`N_g` for arbitrary units (IBSI recommends 1000).
    value_range : (float | None, float | None), optional
        Re-segmentation range; sets :math:`\\mathbf{G}` (no discretisation) or
        :math:`X_{min}, X_{max}` (fixed bin size). ``None`` bounds fall back to the ROI min/max.

    Returns
    -------
    dict
        ``ivh_v10``, ``ivh_v90``: the largest volume fraction :math:`\\nu_i` with intensity
        fraction :math:`\\gamma_i \\ge 0.1` (0.9); ``ivh_i10``, ``ivh_i90``: the smallest
        grid intensity :math:`i` with :math:`\\nu_i \\le 0.1` (0.9); the differences
        ``V10 - V90`` and ``I10 - I90``; ``ivh_auc``: trapezoidal area under
        :math:`\\nu(\\gamma)` (no IBSI reference value). Empty input or a grid of a single
        intensity (all voxels equal) gives NaN with a warning.

    References
    ----------
    IBSI reference manual, "Intensity-volume histogram features".
    """
    xp = get_xp(ivh_values)
    x = xp.asarray(ivh_values, dtype=xp.float64).ravel()
    if x.size == 0:
        warnings.warn("ivh features: the ROI has no voxels; returning NaN", RuntimeWarning, stacklevel=2)
        return dict.fromkeys(FEATURES, math.nan)
    x_dgl, grid = ivh_grid(x, bin_width=bin_width, n_levels=n_levels, value_range=value_range)
    if grid.size < 2:
        warnings.warn("ivh features: the IVH range G holds a single intensity (constant ROI); "
                      "intensity fractions are undefined, returning NaN", RuntimeWarning, stacklevel=2)
        return dict.fromkeys(FEATURES, math.nan)
    sorted_x = xp.sort(x_dgl)
    # Voxels with X_d,gl < i, for every grid intensity i; the tolerance keeps bin centres that
    # equal a grid value (up to rounding) on the ">= i" side.
    below = xp.searchsorted(sorted_x, grid - 1e-9 * max(1.0, float(xp.abs(grid).max())), side="left")
    nu = 1.0 - below / x.size
    gamma = (grid - grid[0]) / (grid[-1] - grid[0])

    def volume_at(fraction):
        return float(nu[gamma >= fraction - 1e-12].max())

    def intensity_at(fraction):
        hits = xp.flatnonzero(nu <= fraction + 1e-12)
        if hits.size == 0:
            # Only possible when the grid stops below the highest voxel (value_range narrower
            # than the data); the next grid step is then the first with nu = 0.
            return float(grid[-1] + (grid[1] - grid[0]))
        return float(grid[int(hits[0])])

    v10, v90 = volume_at(0.10), volume_at(0.90)
    i10, i90 = intensity_at(0.10), intensity_at(0.90)
    auc = float(((nu[1:] + nu[:-1]) * 0.5 * xp.diff(gamma)).sum())
    return {"ivh_v10": v10, "ivh_v90": v90, "ivh_i10": i10, "ivh_i90": i90,
            "ivh_diff_v10_v90": v10 - v90, "ivh_diff_i10_i90": i10 - i90, "ivh_auc": auc}
