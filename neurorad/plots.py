"""Figures for evaluations, screens and embeddings (matplotlib / seaborn).

Every function draws on a given ``ax`` (or a new figure) and returns the axes (the clustered
heat map returns seaborn's ``ClusterGrid``). Curves follow the evaluation's estimator: one
curve per outer test fold, averaged over folds and repeats (vertical averaging; Fawcett 2006),
with a band from the same patient bootstrap as the metric intervals.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from neurorad.modeling.metrics import quiet_runtime_warnings
from neurorad.modeling.scoring import bootstrap_counts

GRID = np.linspace(0.0, 1.0, 101)


def _axes(ax, figsize=(5, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _positive_class(result, cls):
    if cls is not None:
        return cls
    positive = result.settings.get("positive_class")
    if positive is None:
        raise ValueError("multi-class result: pass `cls` (the one-vs-rest class to plot).")
    return positive


def _weighted_steps(positive, score, W):
    """Cumulative weighted TP and FP at each distinct threshold (decreasing), with a 0 start."""
    thresholds, group = np.unique(-score, return_inverse=True)
    indicator = np.zeros((len(score), len(thresholds)))
    indicator[np.arange(len(score)), group] = 1.0
    tp = np.cumsum((W * positive) @ indicator, axis=1)
    fp = np.cumsum((W * ~positive) @ indicator, axis=1)
    zero = np.zeros((len(W), 1))
    return np.hstack([zero, tp]), np.hstack([zero, fp])


def fold_curves(positive, score, W, kind: str) -> np.ndarray:
    """ROC (TPR at ``GRID`` FPR) or PR (precision at ``GRID`` recall) per row of ``W``.

    PR uses the interpolated precision :math:`\\max_{r' \\ge r} P(r')` (Davis & Goadrich 2006).
    Rows where a class has no weight are NaN.
    """
    positive = np.asarray(positive, bool)
    tp, fp = _weighted_steps(positive, np.asarray(score, float), W)
    out = np.full((len(W), len(GRID)), np.nan)
    for b in range(len(W)):
        n_pos, n_neg = tp[b, -1], fp[b, -1]
        if n_pos <= 0 or n_neg <= 0:
            continue
        if kind == "roc":
            out[b] = np.interp(GRID, fp[b] / n_neg, tp[b] / n_pos)
        else:
            recall = tp[b, 1:] / n_pos
            precision = tp[b, 1:] / np.maximum(tp[b, 1:] + fp[b, 1:], 1e-12)
            best = np.maximum.accumulate(precision[::-1])[::-1]
            idx = np.searchsorted(recall, GRID, side="left")
            out[b] = best[np.minimum(idx, len(best) - 1)]
    return out


def mean_curves(result, model: str, kind: str = "roc", cls=None, n_bootstrap: int = 200,
                seed: int = 0):
    """Fold-averaged curve and its bootstrap replicates: ``(mean (G,), replicates (B, G))``."""
    units = result.unit_predictions
    positive_class = _positive_class(result, cls)
    patients = np.unique(units["group"])
    counts = bootstrap_counts(len(patients), n_bootstrap, [seed, 7])
    curves = []
    for _, fold in units[units["model"] == model].groupby(["repeat", "fold"]):
        codes = np.searchsorted(patients, fold["group"].to_numpy())
        curves.append(fold_curves(fold["y_true"].to_numpy() == positive_class,
                                  fold[f"p_{positive_class}"].to_numpy(),
                                  counts[:, codes], kind))
    with np.errstate(all="ignore"), quiet_runtime_warnings():
        averaged = np.nanmean(np.stack(curves), axis=0)
    return averaged[0], averaged[1:]


def _curve_plot(result, kind, models, cls, ax, ci, n_bootstrap, seed):
    ax = _axes(ax)
    models = models or [m for m in dict.fromkeys(result.unit_predictions["model"])]
    metric = "roc_auc" if kind == "roc" else "pr_auc"
    table = result.metrics
    for model in models:
        mean, reps = mean_curves(result, model, kind, cls, n_bootstrap, seed)
        row = table[(table.model == model) & (table.metric == metric) &
                    (table["class"].isna() if cls is None else table["class"] == cls)]
        label = model
        if len(row):
            r = row.iloc[0]
            label = f"{model}: {r.estimate:.2f} [{r.ci_low:.2f}; {r.ci_high:.2f}]"
        line, = ax.plot(GRID, mean, label=label)
        if len(reps):
            with quiet_runtime_warnings():
                low = np.nanquantile(reps, (1 - ci) / 2, axis=0)
                high = np.nanquantile(reps, 1 - (1 - ci) / 2, axis=0)
            ax.fill_between(GRID, low, high, color=line.get_color(), alpha=0.15, lw=0)
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
        ax.set(xlabel="False positive rate", ylabel="True positive rate")
    else:
        ax.set(xlabel="Recall", ylabel="Precision")
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize="small",
              title=f"{metric} [{int(ci * 100)}% CI]")
    return ax


def plot_roc(result, models=None, *, cls=None, ax=None, ci: float = 0.95,
             n_bootstrap: int = 200, seed: int = 0):
    """Fold-averaged ROC curves with patient-bootstrap bands (legend: AUC with interval)."""
    return _curve_plot(result, "roc", models, cls, ax, ci, n_bootstrap, seed)


def plot_pr(result, models=None, *, cls=None, ax=None, ci: float = 0.95,
            n_bootstrap: int = 200, seed: int = 0):
    """Fold-averaged precision--recall curves with patient-bootstrap bands."""
    return _curve_plot(result, "pr", models, cls, ax, ci, n_bootstrap, seed)


def confusion_counts(result, model: str) -> pd.DataFrame:
    """Confusion matrix (rows: true class, columns: predicted), averaged over repeats."""
    units = result.unit_predictions[result.unit_predictions["model"] == model]
    classes = sorted(pd.unique(units["y_true"]))
    table = pd.crosstab(units["y_true"], units["y_pred"]).reindex(
        index=classes, columns=classes, fill_value=0)
    return table / units["repeat"].nunique()


def plot_confusion(result, model: str, *, normalise: bool = False, ax=None):
    """Confusion matrix of a model (mean counts per repeat, or row-normalised)."""
    ax = _axes(ax, (4.5, 4))
    table = confusion_counts(result, model)
    if normalise:
        table = table.div(table.sum(axis=1), axis=0)
    sns.heatmap(table, annot=True, fmt=".2f" if normalise else ".1f", cmap="Blues", cbar=False,
                ax=ax)
    ax.set(xlabel="Predicted", ylabel="True", title=model)
    return ax


def calibration_table(result, model: str, *, cls=None, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability and observed frequency per probability bin."""
    positive = _positive_class(result, cls)
    units = result.unit_predictions[result.unit_predictions["model"] == model]
    p = units[f"p_{positive}"].to_numpy()
    hit = (units["y_true"] == positive).to_numpy()
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "p": p, "hit": hit})
    return frame.groupby("bin").agg(predicted=("p", "mean"), observed=("hit", "mean"),
                                    n=("p", "size")).reset_index()


def plot_calibration(result, models=None, *, cls=None, n_bins: int = 10, ax=None):
    """Reliability diagram: observed frequency against mean predicted probability."""
    ax = _axes(ax)
    models = models or list(dict.fromkeys(result.unit_predictions["model"]))
    for model in models:
        table = calibration_table(result, model, cls=cls, n_bins=n_bins)
        ax.plot(table["predicted"], table["observed"], marker="o", label=model)
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.set(xlabel="Mean predicted probability", ylabel="Observed frequency", xlim=(0, 1),
           ylim=(0, 1))
    ax.legend(fontsize="small")
    return ax


def plot_volcano(screen: pd.DataFrame, *, fdr: float = 0.05, label_top: int = 5, ax=None):
    """Effect size against -log10(p) from :func:`neurorad.modeling.univariate_screen`."""
    ax = _axes(ax)
    sig = screen["q_value"] <= fdr
    y = -np.log10(screen["p_value"].astype(float))
    ax.scatter(screen["effect_size"][~sig], y[~sig], s=12, color="grey", alpha=0.6,
               label="not significant")
    ax.scatter(screen["effect_size"][sig], y[sig], s=14, color="C3",
               label=f"q <= {fdr:g} (BH)")
    for i in screen.nsmallest(label_top, "p_value").index:
        ax.annotate(screen.at[i, "feature"], (screen.at[i, "effect_size"], y[i]),
                    fontsize="x-small")
    measure = screen["effect_measure"].iloc[0] if len(screen) else "effect size"
    ax.set(xlabel=measure, ylabel="-log10 p")
    ax.legend(fontsize="small")
    return ax


def plot_feature_ranking(result, model: str, *, top: int = 20, ax=None):
    """How often each feature was selected over the outer folds (selection stability)."""
    ax = _axes(ax, (5, 0.25 * top + 1))
    chosen = result.selected_features[result.selected_features["model"] == model]
    n_fits = result.hyperparameters.query("model == @model").shape[0]
    freq = (chosen["feature"].value_counts() / max(n_fits, 1)).head(top)
    sns.barplot(x=freq.to_numpy(), y=freq.index.astype(str), color="C0", ax=ax)
    ax.set(xlabel="Selection frequency over outer folds", ylabel="", xlim=(0, 1), title=model)
    return ax


def plot_clustered_heatmap(X: pd.DataFrame, labels=None, *, max_features: int = 200,
                           cmap: str = "vlag"):
    """Hierarchically clustered heat map of z-scored features (rows: samples).

    With more than ``max_features`` columns, the most variable ones (by MAD of the raw values
    relative to their median) are shown. ``labels`` colour the rows.
    """
    frame = pd.DataFrame(X).astype(float)
    frame = frame.loc[:, frame.std() > 0]
    if frame.shape[1] > max_features:
        rel = (frame - frame.median()).abs().median() / (frame.median().abs() + 1e-12)
        frame = frame[rel.nlargest(max_features).index]
    z = ((frame - frame.mean()) / frame.std()).fillna(0.0).clip(-3, 3)
    row_colors = None
    if labels is not None:
        labels = pd.Series(np.asarray(labels), index=frame.index)
        palette = dict(zip(sorted(labels.unique(), key=str),
                           sns.color_palette("tab10", labels.nunique())))
        row_colors = labels.map(palette)
    return sns.clustermap(z, cmap=cmap, center=0, row_colors=row_colors,
                          xticklabels=frame.shape[1] <= 60, yticklabels=False,
                          figsize=(8, 7))


def plot_embedding(coords: pd.DataFrame, labels, *, separation: dict | None = None,
                   ax=None, title: str | None = None):
    """2-D embedding coloured by a label; the title reports the separation test if given."""
    ax = _axes(ax)
    labels = np.asarray(labels)
    numeric = labels.dtype.kind == "f" and len(np.unique(labels[~pd.isna(labels)])) > 10
    sns.scatterplot(x=coords.iloc[:, 0], y=coords.iloc[:, 1], hue=labels,
                    palette="viridis" if numeric else "tab10", s=25, ax=ax)
    ax.set(xlabel=coords.columns[0], ylabel=coords.columns[1])
    text = title or ""
    if separation is not None:
        text += (f"{' — ' if text else ''}separation {separation['statistic']:.2f} "
                 f"(null {separation['null_mean']:.2f}), p = {separation['p_value']:.3f}")
    ax.set_title(text, fontsize="small")
    return ax


def plot_performance_vs_discretisation(table: pd.DataFrame, *, metric: str = "roc_auc",
                                       level: str = "level", ax=None, chance: float | None = None):
    """Estimate and interval of ``metric`` per model across discretisation levels.

    ``table``: rows with columns ``level`` (e.g. number of grey levels), ``model``,
    ``metric``, ``estimate``, ``ci_low``, ``ci_high`` (several metric tables stacked).
    """
    ax = _axes(ax, (6, 4))
    rows = table[table["metric"] == metric]
    if "class" in rows:
        rows = rows[rows["class"].isna()]
    levels = sorted(rows[level].unique())
    positions = {lv: i for i, lv in enumerate(levels)}
    models = list(dict.fromkeys(rows["model"]))
    width = 0.6 / max(len(models), 1)
    for k, model in enumerate(models):
        sub = rows[rows["model"] == model].sort_values(level)
        x = sub[level].map(positions).to_numpy() + (k - (len(models) - 1) / 2) * width
        ax.errorbar(x, sub["estimate"], yerr=[sub["estimate"] - sub["ci_low"],
                                              sub["ci_high"] - sub["estimate"]],
                    marker="o", capsize=3, label=model)
    if chance is None:
        chance = {"roc_auc": 0.5, "bacc": 0.5, "spearman_rho": 0.0}.get(metric)
    if chance is not None:
        ax.axhline(chance, ls=":", color="grey", lw=1)
    ax.set_xticks(range(len(levels)), [str(lv) for lv in levels])
    ax.set(xlabel=level, ylabel=metric)
    ax.legend(fontsize="small")
    return ax
