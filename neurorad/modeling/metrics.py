r"""Performance metrics of one test fold, vectorised over bootstrap weights.

Each function takes the predictions of one test fold and a weight matrix ``W`` of shape
``(B, n)``: row ``b`` holds how often each test sample occurs in replicate ``b``
(a row of ones is the observed data; the patient bootstrap draws integer counts). Every
metric is computed for all rows at once, as it would be on the data set that repeats sample
``i`` ``W[b, i]`` times. That keeps a 1000-replicate patient bootstrap cheap.

Definitions (binary; positive class = 1; :math:`w` the weights; TP, FP, TN, FN weighted):

- ``acc`` = (TP + TN) / N; ``sens`` = TP / (TP + FN); ``spec`` = TN / (TN + FP);
  ``ppv`` (precision) = TP / (TP + FP);
  ``bacc`` = (sens + spec) / 2; ``f1`` = 2 TP / (2 TP + FP + FN);
- ``roc_auc`` = Mann--Whitney probability
  :math:`\sum_{i \in P} \sum_{j \in N} w_i w_j ([s_i > s_j] + \tfrac12 [s_i = s_j]) /
  (W_P W_N)` (Hanley & McNeil 1982); constant scores give 0.5;
- ``pr_auc`` = average precision :math:`\sum_k (R_k - R_{k-1}) P_k` over the distinct score
  thresholds in decreasing order (the step-wise PR area, as scikit-learn's
  ``average_precision_score``);
- ``brier`` = :math:`\sum_i w_i (p_i - y_i)^2 / N` (Brier 1950); for :math:`K > 2` classes
  the original multi-class form :math:`\sum_i w_i \sum_k (p_{ik} - [y_i = k])^2 / N`.

Regression (:math:`\hat y` predictions, :math:`\bar y_{train}` the training-fold mean):

- ``spearman_rho`` = Pearson correlation of mid-ranks; ``pearson_r``; both are defined as 0
  when the predictions are constant (a model that ranks nothing, like the null model);
- ``mae``, ``rmse``;
- ``r2`` = out-of-sample :math:`R^2 = 1 - \sum w (y - \hat y)^2 / \sum w (y - \bar y_{train})^2`
  (Campbell & Thompson 2008): the improvement over predicting the training mean, so the null
  model scores exactly 0 and a target unrelated to the features scores <= 0 on average.
  (The in-sample form with the *test* mean penalises the null model for the fold-to-fold
  shift of the mean and pushes null data below 0.)

A metric that is undefined in a fold or replicate (e.g. AUC when a class has zero weight) is
NaN; the evaluation averages fold metrics ignoring NaN.
"""
from __future__ import annotations

import numpy as np

CLASSIFICATION_METRICS = ("acc", "bacc", "sens", "spec", "f1", "roc_auc", "pr_auc", "brier")
REGRESSION_METRICS = ("spearman_rho", "pearson_r", "mae", "rmse", "r2")
# Per-class (one-vs-rest) rows of a multi-class evaluation.
ONE_VS_REST_METRICS = ("bacc", "sens", "spec", "ppv", "f1", "roc_auc", "pr_auc")
#: Metric name -> the label a reader knows (axis labels, report tables).
METRIC_LABELS = {
    "acc": "Accuracy", "bacc": "Balanced accuracy", "sens": "Sensitivity",
    "spec": "Specificity", "ppv": "Precision", "f1": "F1 score", "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier score", "spearman_rho": "Spearman rho", "pearson_r": "Pearson r",
    "mae": "Mean absolute error", "rmse": "Root mean squared error", "r2": "R\u00b2",
}


def _divide(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_auc(positive, score, W):
    """ROC AUC for every row of ``W`` (see module docstring); NaN where a class has no weight."""
    positive = np.asarray(positive, bool)
    score = np.asarray(score, float)
    sp, sn = score[positive], score[~positive]
    compare = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    wp, wn = W[:, positive], W[:, ~positive]
    num = np.einsum("bi,ij,bj->b", wp, compare, wn)
    return _divide(num, wp.sum(axis=1) * wn.sum(axis=1))


def weighted_average_precision(positive, score, W):
    """Average precision (step-wise area under the PR curve) for every row of ``W``."""
    positive = np.asarray(positive, bool)
    score = np.asarray(score, float)
    thresholds, group = np.unique(-score, return_inverse=True)  # decreasing scores
    indicator = np.zeros((len(score), len(thresholds)))
    indicator[np.arange(len(score)), group] = 1.0
    tp_step = (W * positive) @ indicator
    fp_step = (W * ~positive) @ indicator
    tp_cum, fp_cum = np.cumsum(tp_step, axis=1), np.cumsum(fp_step, axis=1)
    precision = np.nan_to_num(_divide(tp_cum, tp_cum + fp_cum))
    total_pos = tp_cum[:, -1]
    return _divide((tp_step * precision).sum(axis=1), total_pos)


def binary_metrics(positive, score, predicted_positive, W) -> dict[str, np.ndarray]:
    """All binary classification metrics for every row of ``W``.

    Parameters
    ----------
    positive : bool array (n,) -- true class is the positive class
    score : float array (n,) -- predicted probability of the positive class
    predicted_positive : bool array (n,) -- predicted label is the positive class
    W : array (B, n) -- sample weights per replicate
    """
    positive = np.asarray(positive, bool)
    pred = np.asarray(predicted_positive, bool)
    tp = W @ (positive & pred)
    fn = W @ (positive & ~pred)
    fp = W @ (~positive & pred)
    tn = W @ (~positive & ~pred)
    total = W.sum(axis=1)
    sens, spec = _divide(tp, tp + fn), _divide(tn, tn + fp)
    return {
        "acc": _divide(tp + tn, total),
        "bacc": (sens + spec) / 2,
        "sens": sens,
        "spec": spec,
        "ppv": _divide(tp, tp + fp),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "roc_auc": weighted_auc(positive, score, W),
        "pr_auc": weighted_average_precision(positive, score, W),
        "brier": _divide(W @ (np.asarray(score, float) - positive) ** 2, total),
    }


def multiclass_metrics(y_codes, proba, pred_codes, W):
    """Macro-averaged metrics and one-vs-rest metrics per class.

    Returns
    -------
    overall : dict metric -> (B,) -- ``acc`` (fraction correct), ``bacc`` (mean per-class
        recall), macro means of ``sens, spec, f1, roc_auc, pr_auc`` over the classes defined in
        the fold, and the multi-class ``brier``.
    per_class : list of dict -- one-vs-rest metrics (``ONE_VS_REST_METRICS``) per class code.
    """
    y_codes = np.asarray(y_codes)
    pred_codes = np.asarray(pred_codes)
    proba = np.asarray(proba, float)
    n_classes = proba.shape[1]
    per_class = []
    for k in range(n_classes):
        m = binary_metrics(y_codes == k, proba[:, k], pred_codes == k, W)
        per_class.append({name: m[name] for name in ONE_VS_REST_METRICS})
    total = W.sum(axis=1)
    overall = {"acc": _divide(W @ (y_codes == pred_codes), total)}
    with np.errstate(invalid="ignore"), quiet_runtime_warnings():
        for name in ("sens", "spec", "f1", "roc_auc", "pr_auc"):
            overall[name] = np.nanmean(np.stack([c[name] for c in per_class]), axis=0)
    overall["bacc"] = overall["sens"]
    onehot = np.eye(n_classes)[y_codes]
    overall["brier"] = _divide(W @ ((proba - onehot) ** 2).sum(axis=1), total)
    return {k: overall[k] for k in CLASSIFICATION_METRICS}, per_class


def weighted_pearson(x, y, W, constant_x_value: float = 0.0):
    """Weighted Pearson correlation per row of ``W``; ``constant_x_value`` where x is constant."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    total = W.sum(axis=1)
    xs = x if x.ndim == 2 else np.broadcast_to(x, W.shape)
    ys = y if y.ndim == 2 else np.broadcast_to(y, W.shape)
    mx = _divide((W * xs).sum(axis=1), total)[:, None]
    my = _divide((W * ys).sum(axis=1), total)[:, None]
    cov = (W * (xs - mx) * (ys - my)).sum(axis=1)
    vx = (W * (xs - mx) ** 2).sum(axis=1)
    vy = (W * (ys - my) ** 2).sum(axis=1)
    scale = np.maximum(np.abs(xs).max(), 1.0) ** 2 * np.maximum(total, 1.0)
    x_constant = vx <= 1e-20 * scale
    r = _divide(cov, np.sqrt(vx * vy))
    r = np.where(x_constant & (vy > 0), constant_x_value, r)
    return np.clip(r, -1.0, 1.0)


def weighted_midranks(values, W):
    """Mid-ranks of ``values`` in the data set that repeats sample ``i`` ``W[b, i]`` times."""
    values = np.asarray(values, float)
    less = (values[None, :] < values[:, None]).astype(float)   # [i, j] = v_j < v_i
    equal = (values[None, :] == values[:, None]).astype(float)
    return W @ less.T + (W @ equal.T + 1.0) / 2.0


def regression_metrics(y, predicted, train_mean, W) -> dict[str, np.ndarray]:
    """Regression metrics for every row of ``W`` (see module docstring)."""
    y = np.asarray(y, float)
    predicted = np.asarray(predicted, float)
    total = W.sum(axis=1)
    err2 = (y - predicted) ** 2
    base2 = (y - train_mean) ** 2
    return {
        "spearman_rho": weighted_pearson(weighted_midranks(predicted, W),
                                         weighted_midranks(y, W), W),
        "pearson_r": weighted_pearson(predicted, y, W),
        "mae": _divide(W @ np.abs(y - predicted), total),
        "rmse": np.sqrt(_divide(W @ err2, total)),
        "r2": 1.0 - _divide(W @ err2, W @ base2),
    }


class quiet_runtime_warnings:
    """Silence 'Mean of empty slice' (an all-NaN column is an expected NaN result)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def quiet_nanmean(values, axis=None):
    """``np.nanmean`` that returns NaN for all-NaN slices without a warning."""
    with quiet_runtime_warnings():
        return np.nanmean(values, axis=axis)
