r"""DeLong's test for ROC AUCs of correlated predictions on the same samples.

For positives :math:`X_1..X_m` and negatives :math:`Y_1..Y_n` with kernel
:math:`\psi(x, y) = [x > y] + \tfrac12 [x = y]`, model :math:`r` has structural components

.. math::
    V^r_{10}(X_i) = \frac1n \sum_j \psi(X^r_i, Y^r_j), \qquad
    V^r_{01}(Y_j) = \frac1m \sum_i \psi(X^r_i, Y^r_j),

:math:`\widehat{AUC}_r = \overline{V^r_{10}}`, and the covariance of the AUCs is
:math:`S = S_{10}/m + S_{01}/n` with :math:`S_{10}, S_{01}` the sample covariance matrices
of the components across models (DeLong, DeLong & Clarke-Pearson, Biometrics 44:837, 1988).
The difference of two AUCs has variance :math:`S_{aa} + S_{bb} - 2 S_{ab}` and
:math:`z = \Delta / \sqrt{\mathrm{Var}}` is compared with the standard normal.

A constant score (the null model, AUC 0.5 by ties) has all components equal to 1/2, hence
zero variance and zero covariance: the test against the null model is the one-sample test of
:math:`AUC_a = 0.5` with DeLong's variance.

Cross-validated AUCs: :func:`foldwise_delong` combines per-fold tests consistently with the
fold-averaged AUC of :func:`neurorad.modeling.evaluate` (see there).
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def structural_components(positive, scores):
    """DeLong components for one or several score vectors.

    Parameters
    ----------
    positive : bool array (n_samples,)
    scores : array (n_models, n_samples) or (n_samples,)

    Returns
    -------
    aucs : (n_models,), v10 : (n_models, m), v01 : (n_models, n)
    """
    positive = np.asarray(positive, bool)
    scores = np.atleast_2d(np.asarray(scores, float))
    sp, sn = scores[:, positive], scores[:, ~positive]
    psi = (sp[:, :, None] > sn[:, None, :]) + 0.5 * (sp[:, :, None] == sn[:, None, :])
    v10 = psi.mean(axis=2)
    v01 = psi.mean(axis=1)
    return v10.mean(axis=1), v10, v01


def delong_covariance(positive, scores):
    """AUCs and their DeLong covariance matrix ``(aucs, S)``; needs >= 2 of each class."""
    positive = np.asarray(positive, bool)
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        raise ValueError(f"DeLong's variance needs at least 2 positives and 2 negatives "
                         f"(got {m} and {n}).")
    aucs, v10, v01 = structural_components(positive, scores)
    s10 = np.atleast_2d(np.cov(v10, ddof=1))
    s01 = np.atleast_2d(np.cov(v01, ddof=1))
    return aucs, s10 / m + s01 / n


def delong_test(positive, score_a, score_b) -> dict:
    """Two-sided DeLong test of ``AUC(score_a) == AUC(score_b)`` on the same samples.

    Returns
    -------
    dict with ``auc_a, auc_b, difference, variance, z, p_value``.
    """
    aucs, cov = delong_covariance(positive, np.vstack([score_a, score_b]))
    diff = aucs[0] - aucs[1]
    var = max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)
    z, p = _z_and_p(diff, var)
    return {"auc_a": aucs[0], "auc_b": aucs[1], "difference": diff, "variance": var,
            "z": z, "p_value": p}


def _z_and_p(diff, var):
    if var <= 0:
        # No sampling variability: identical rankings (p = 1) or a degenerate perfect split.
        return (0.0, 1.0) if abs(diff) < 1e-12 else (np.sign(diff) * np.inf, 0.0)
    z = diff / np.sqrt(var)
    return z, float(2 * stats.norm.sf(abs(z)))


def foldwise_delong(differences, variances, repeats) -> dict:
    r"""Combine per-fold DeLong tests into one test of the fold-averaged AUC difference.

    Within a repeat the test folds are disjoint, so the fold differences are treated as
    independent: :math:`\bar d_r = \frac1K \sum_k d_{rk}`,
    :math:`V_r = \frac1{K^2} \sum_k V_{rk}`. Repeats reuse the same patients and are strongly
    correlated; the variance of their mean is bounded by
    :math:`(\frac1R \sum_r \sqrt{V_r})^2` (Cauchy--Schwarz), which is used -- a conservative
    test of :math:`\bar d = \frac1R \sum_r \bar d_r`.

    Parameters
    ----------
    differences, variances : arrays (n_folds_total,) -- per-fold AUC difference and its
        DeLong variance (NaN for folds where the test was undefined; they are skipped)
    repeats : array (n_folds_total,) -- the repeat of each fold

    Returns
    -------
    dict with ``difference, se, z, p_value``.
    """
    differences = np.asarray(differences, float)
    variances = np.asarray(variances, float)
    repeats = np.asarray(repeats)
    ok = np.isfinite(differences) & np.isfinite(variances)
    if not ok.any():
        return {"difference": np.nan, "se": np.nan, "z": np.nan, "p_value": np.nan}
    means, ses = [], []
    for r in np.unique(repeats[ok]):
        sel = ok & (repeats == r)
        means.append(differences[sel].mean())
        ses.append(np.sqrt(variances[sel].sum()) / sel.sum())
    diff, se = float(np.mean(means)), float(np.mean(ses))
    z, p = _z_and_p(diff, se ** 2)
    return {"difference": diff, "se": se, "z": float(z), "p_value": p}
