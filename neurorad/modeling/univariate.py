r"""Univariate screening of features with Benjamini--Hochberg FDR control and effect sizes.

Tests (two-sided, per feature, NaN values of a feature dropped; computed for all features at
once from column-wise mid-ranks, with the same statistics and p-values as SciPy's
``mannwhitneyu(method="auto")``, ``kruskal`` and ``spearmanr`` per feature):

- two classes: Mann--Whitney U; effect size the rank-biserial correlation
  :math:`r_{rb} = 2U / (n_1 n_2) - 1` (Kerby 2014), positive when the feature is larger in
  the positive class (the larger label unless ``positive_class`` is given);
- more classes: Kruskal--Wallis H; effect size
  :math:`\varepsilon^2 = H / ((n^2 - 1)/(n + 1)) = H / (n - 1)` (Tomczak & Tomczak 2014);
- continuous target: Spearman's :math:`\rho` (its own effect size).

q-values: Benjamini & Hochberg (1995) step-up adjustment (``statsmodels``) over the features
with a defined p-value.

Several ROIs of one patient are not independent observations; with ``groups`` the features
and the target are first averaged per patient (``aggregate="mean"``, the default), so each
patient counts once. ``aggregate=None`` tests ROIs as if independent (anti-conservative;
for comparison with published ROI-level p-values only).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from neurorad.modeling.inputs import check_features, check_groups, check_target, patient_labels


def _patient_means(values, y, groups, task, source):
    labels = patient_labels(y, groups, task, source)
    frame = pd.DataFrame(values).groupby(np.asarray(groups), sort=False).mean()
    return frame.to_numpy(), labels.loc[frame.index].to_numpy()


def column_ranks(values):
    r"""Mid-ranks of every column, NaN ignored; the tie term of every column.

    Parameters
    ----------
    values : array (n, p) -- NaN where a value is missing

    Returns
    -------
    ranks : array (n, p) -- average ranks 1..n_j among the non-NaN values of column j
        (NaN where the value is NaN)
    tie_term : array (p,) -- :math:`\sum_g (t_g^3 - t_g)` over the groups of tied values
    n : array (p,) -- non-NaN values per column

    Notes
    -----
    One stable sort of all columns; a value's tie group spans the positions from the first to
    the last equal value in the sorted column, its mid-rank is the mean of those positions
    (+1), and :math:`\sum_i (t_i^2 - 1)` over the values equals :math:`\sum_g (t_g^3 - t_g)`.
    """
    values = np.asarray(values, float)
    n_rows, n_cols = values.shape
    order = np.argsort(values, axis=0, kind="stable")            # NaN sort last
    ordered = np.take_along_axis(values, order, axis=0)
    valid = ~np.isnan(ordered)
    position = np.broadcast_to(np.arange(n_rows)[:, None], values.shape)
    new_group = np.ones(values.shape, bool)
    new_group[1:] = ordered[1:] != ordered[:-1]
    ends_group = np.ones(values.shape, bool)
    ends_group[:-1] = new_group[1:]
    first = np.maximum.accumulate(np.where(new_group, position, 0), axis=0)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends_group, position, n_rows),
                                                 axis=0), axis=0), axis=0)
    ranks_sorted = np.where(valid, (first + last) / 2.0 + 1.0, np.nan)
    size = (last - first + 1).astype(float)
    tie_term = np.where(valid, size ** 2 - 1.0, 0.0).sum(axis=0)
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, ranks_sorted, axis=0)
    return ranks, tie_term, valid.sum(axis=0)


def _exact_mann_whitney_sf(u, n1: int, n2: int):
    r"""P(U >= u) under H0 without ties: coefficients of the Gaussian binomial
    :math:`\binom{n_1 + n_2}{n_1}_q = \prod_{i=1}^{n_1} (1 - q^{n_2 + i}) / (1 - q^i)`
    (Mann & Whitney 1947), whose coefficient of :math:`q^u` counts the arrangements with
    U = u."""
    small, large = min(n1, n2), max(n1, n2)          # the distribution is symmetric in both
    counts = np.zeros(n1 * n2 + 1)
    counts[0] = 1.0
    for i in range(1, small + 1):
        shift = large + i
        counts[shift:] -= counts[:-shift].copy()      # times (1 - q^shift)
        for residue in range(i):                      # divided by (1 - q^i)
            counts[residue::i] = np.cumsum(counts[residue::i])
    tail = np.cumsum(counts[::-1])[::-1] / counts.sum()
    return tail[np.clip(np.asarray(u, int), 0, n1 * n2)]


def _mann_whitney(values, positive):
    """Two-sided Mann--Whitney U of every column (as SciPy's ``method="auto"``): exact when a
    group has at most 8 values and the column has no ties, else normal with tie and
    continuity correction. Returns U of the positive group, p and the rank-biserial r."""
    ranks, tie_term, n = column_ranks(values)
    n1 = (~np.isnan(values) & positive[:, None]).sum(axis=0).astype(float)
    n2 = n - n1
    u1 = np.nansum(np.where(positive[:, None], ranks, 0.0), axis=0) - n1 * (n1 + 1) / 2
    u = np.maximum(u1, n1 * n2 - u1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        p = 2 * stats.norm.sf((u - n1 * n2 / 2 - 0.5) / sd)
        effect = 2 * u1 / (n1 * n2) - 1
    exact = ((n1 <= 8) | (n2 <= 8)) & (tie_term == 0) & (n1 > 0) & (n2 > 0)
    for a, b in {(int(a), int(b)) for a, b in zip(n1[exact], n2[exact])}:
        hit = exact & (n1 == a) & (n2 == b)
        p[hit] = 2 * _exact_mann_whitney_sf(u[hit], a, b)
    undefined = (n1 == 0) | (n2 == 0) | (tie_term == n ** 3 - n)   # a group empty / constant
    return _undefined(u1, np.clip(p, 0, 1), effect, undefined)


def _kruskal(values, y):
    r"""Kruskal--Wallis H of every column:
    :math:`H = [12/(n(n+1)) \sum_j R_j^2/n_j - 3(n+1)] / [1 - \sum(t^3 - t)/(n^3 - n)]`,
    p from :math:`\chi^2` with (groups present - 1) degrees of freedom."""
    ranks, tie_term, n = column_ranks(values)
    present = ~np.isnan(values)
    rank_term = np.zeros(values.shape[1])
    n_groups = np.zeros(values.shape[1])
    for c in np.unique(y):
        member = (y == c)[:, None]
        size = (present & member).sum(axis=0)
        total = np.nansum(np.where(member, ranks, 0.0), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rank_term += np.where(size > 0, total ** 2 / size, 0.0)
        n_groups += size > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (12.0 / (n * (n + 1)) * rank_term - 3 * (n + 1)) / (1 - tie_term / (n ** 3 - n))
        p = stats.chi2.sf(h, n_groups - 1)
        effect = h / (n - 1)
    return _undefined(h, p, effect, (n_groups < 2) | (tie_term == n ** 3 - n))


def _spearman(values, y):
    r"""Spearman's :math:`\rho` of every column with ``y`` (ranks of both over the rows where
    the column is defined); p from :math:`t = \rho \sqrt{(n - 2)/(1 - \rho^2)}` with
    n - 2 degrees of freedom, as SciPy's ``spearmanr``."""
    x_ranks, x_ties, n = column_ranks(values)
    y_ranks, y_ties, _ = column_ranks(np.where(np.isnan(values), np.nan,
                                               np.asarray(y, float)[:, None]))
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x_ranks - np.nanmean(x_ranks, axis=0)
        yc = y_ranks - np.nanmean(y_ranks, axis=0)
        rho = np.nansum(xc * yc, axis=0) / np.sqrt(np.nansum(xc ** 2, axis=0)
                                                   * np.nansum(yc ** 2, axis=0))
        rho = np.clip(rho, -1.0, 1.0)
        t = rho * np.sqrt((n - 2) / ((1.0 - rho) * (1.0 + rho)))
        p = 2 * stats.t.sf(np.abs(t), n - 2)
    constant = (x_ties == n ** 3 - n) | (y_ties == n ** 3 - n)
    return _undefined(rho, p, rho, constant | (n < 3))


def _undefined(statistic, p, effect, undefined):
    """NaN statistic, p and effect where the test is undefined."""
    return tuple(np.where(undefined, np.nan, a) for a in (statistic, p, effect))


def univariate_screen(X, y, *, groups=None, task: str = "classification",
                      aggregate: str | None = "mean", fdr: float = 0.05,
                      positive_class=None, source: str | None = None) -> pd.DataFrame:
    """Test every feature against the target; BH-adjusted q-values and effect sizes.

    Returns
    -------
    DataFrame sorted by p-value with columns ``feature, test, statistic, p_value, q_value,
    effect_size, effect_measure, n, significant`` (``q_value <= fdr``). Constant features
    (and features with a class absent or fewer than 3 values for Spearman) get NaN p-values
    and are not counted in the FDR adjustment.
    """
    values, names, sample_ids = check_features(X, source)
    y = check_target(y, task, len(values), sample_ids, source)
    groups, has_groups = check_groups(groups, len(values), source)
    if has_groups and aggregate == "mean":
        values, y = _patient_means(values, y, groups, task, source)
    elif has_groups and aggregate is not None:
        raise ValueError(f"aggregate must be 'mean' or None, got {aggregate!r}.")
    classes = np.array(sorted(pd.unique(y))) if task == "classification" else None
    if task == "classification" and len(classes) == 2:
        positive = classes[1] if positive_class is None else positive_class
        test, measure = "mann_whitney", "rank_biserial"
        run = lambda v, t: _mann_whitney(v, t == positive)  # noqa: E731
    elif task == "classification":
        test, measure, run = "kruskal_wallis", "epsilon_squared", _kruskal
    else:
        test, measure, run = "spearman", "spearman_rho", _spearman
    # All feature columns at once (one sort per column); a NaN value drops that sample for
    # that feature only.
    stat, p, effect = run(values, y)
    table = pd.DataFrame({"feature": names, "test": test, "statistic": stat, "p_value": p,
                          "effect_size": effect, "effect_measure": measure,
                          "n": (~np.isnan(values)).sum(axis=0).astype(int)})
    defined = table["p_value"].notna().to_numpy()
    q = np.full(len(table), np.nan)
    if defined.any():
        q[defined] = multipletests(table.loc[defined, "p_value"], method="fdr_bh")[1]
    table.insert(4, "q_value", q)
    table["significant"] = table["q_value"] <= fdr
    return table.sort_values("p_value", kind="stable", na_position="last").reset_index(drop=True)
