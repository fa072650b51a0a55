r"""Univariate screening of features with Benjamini--Hochberg FDR control and effect sizes.

Tests (two-sided, per feature, NaN values of a feature dropped):

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

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from neurorad.modeling.inputs import check_features, check_groups, check_target, patient_labels


def _patient_means(values, y, groups, task, source):
    labels = patient_labels(y, groups, task, source)
    frame = pd.DataFrame(values).groupby(np.asarray(groups), sort=False).mean()
    return frame.to_numpy(), labels.loc[frame.index].to_numpy()


def _mann_whitney(x, positive):
    a, b = x[positive], x[~positive]
    if len(a) == 0 or len(b) == 0:
        return np.nan, np.nan, np.nan
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    return res.statistic, res.pvalue, 2 * res.statistic / (len(a) * len(b)) - 1


def _kruskal(x, y):
    samples = [x[y == c] for c in np.unique(y)]
    samples = [s for s in samples if len(s)]
    if len(samples) < 2 or np.ptp(x) == 0:
        return np.nan, np.nan, np.nan
    res = stats.kruskal(*samples)
    return res.statistic, res.pvalue, res.statistic / (len(x) - 1)


def _spearman(x, y):
    if np.ptp(x) == 0:
        return np.nan, np.nan, np.nan
    res = stats.spearmanr(x, y)
    return res.statistic, res.pvalue, res.statistic


def univariate_screen(X, y, *, groups=None, task: str = "classification",
                      aggregate: str | None = "mean", fdr: float = 0.05,
                      positive_class=None, source: str | None = None) -> pd.DataFrame:
    """Test every feature against the target; BH-adjusted q-values and effect sizes.

    Returns
    -------
    DataFrame sorted by p-value with columns ``feature, test, statistic, p_value, q_value,
    effect_size, effect_measure, n, significant`` (``q_value <= fdr``). Constant features
    get NaN p-values and are not counted in the FDR adjustment.
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
        run = lambda x, t: _mann_whitney(x, t == positive)  # noqa: E731
    elif task == "classification":
        test, measure, run = "kruskal_wallis", "epsilon_squared", _kruskal
    else:
        test, measure, run = "spearman", "spearman_rho", _spearman
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant inputs -> NaN, handled
        for j, name in enumerate(names):
            ok = ~np.isnan(values[:, j])
            stat, p, effect = run(values[ok, j], y[ok])
            rows.append((name, test, stat, p, effect, measure, int(ok.sum())))
    table = pd.DataFrame(rows, columns=["feature", "test", "statistic", "p_value",
                                        "effect_size", "effect_measure", "n"])
    defined = table["p_value"].notna().to_numpy()
    q = np.full(len(table), np.nan)
    if defined.any():
        q[defined] = multipletests(table.loc[defined, "p_value"], method="fdr_bh")[1]
    table.insert(4, "q_value", q)
    table["significant"] = table["q_value"] <= fdr
    return table.sort_values("p_value", kind="stable", na_position="last").reset_index(drop=True)
