"""Figures for evaluations, screens and embeddings (matplotlib / seaborn).

The one plotting module of neurorad: the library figures and the study reports' figures
(the notebooks call these functions). Every function draws on a given ``ax`` (or a new
figure) and returns the axes; a faceted figure (``facet=`` of :func:`plot_volcano`, a
label table for :func:`plot_embedding`) draws one panel per facet and returns the array of
axes; the clustered heat map returns seaborn's ``ClusterGrid``. Curves follow the
evaluation's estimator: one curve per outer test fold, averaged over folds and repeats
(vertical averaging; Fawcett 2006), with a band from the same patient bootstrap as the
metric intervals. Estimates are drawn with their interval as whiskers and, where the metric
has one, a dotted chance line (:data:`CHANCE_LEVELS`).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from neurorad.modeling.metrics import METRIC_LABELS, quiet_runtime_warnings
from neurorad.modeling.scoring import bootstrap_counts
from neurorad.settings.schema import discretisation_sort_key

GRID = np.linspace(0.0, 1.0, 101)

#: Metric value of a model that has learnt nothing, drawn as the chance line by default.
#: Balanced accuracy is 1/K for K classes: pass ``chance=1 / K`` (not in the table, the
#: number of classes is not in a metrics table).
CHANCE_LEVELS = {"roc_auc": 0.5, "spearman_rho": 0.0, "pearson_r": 0.0, "r2": 0.0}


def _label(metric: str) -> str:
    """Axis label of a metric: ``'roc_auc'`` -> ``'ROC AUC'`` (unknown names unchanged)."""
    return METRIC_LABELS.get(metric, metric)


def _chance(metric: str, chance):
    """``chance="auto"`` looks the metric up in :data:`CHANCE_LEVELS`; None draws none."""
    return CHANCE_LEVELS.get(metric) if isinstance(chance, str) and chance == "auto" else chance


def _draw_chance(ax, chance) -> None:
    if chance is not None:
        ax.axhline(chance, ls=":", color="grey", lw=1, label=f"chance ({chance:g})")


def _panels(n: int, ax, panel_size=(3.6, 3.3)) -> np.ndarray:
    """``n`` axes side by side: the given ones (an Axes when n == 1, else a sequence of n)
    or a new figure's."""
    if ax is None:
        _, axes = plt.subplots(1, n, figsize=(panel_size[0] * n, panel_size[1]), squeeze=False)
        return axes[0]
    axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
    if len(axes) != n:
        raise ValueError(f"{n} panel(s) to draw but {len(axes)} axes given")
    return axes


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
              title=f"{_label(metric)} [{int(ci * 100)}% CI]")
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


def plot_volcano(screen: pd.DataFrame, *, fdr: float = 0.05, facet: str | None = None,
                 label_top: int = 5, ax=None):
    """Effect size against :math:`-\\log_{10} p`; features with BH ``q <= fdr`` in red.

    Parameters
    ----------
    screen : DataFrame
        From :func:`neurorad.modeling.univariate_screen` (columns ``feature, p_value,
        q_value, effect_size, effect_measure``), or several stacked with a ``facet`` column.
        Without ``q_value`` the boolean ``significant`` column marks the discoveries.
        Features without a p-value (constant ones) are left out.
    fdr : float
        Benjamini--Hochberg false discovery rate (Benjamini & Hochberg 1995).
    facet : str, optional
        Column whose values get one panel each (e.g. the target), titled by the value.
    label_top : int
        Up to ``label_top`` discoveries per panel (smallest p first) are labelled with the
        feature name; features that are not discoveries are never labelled, and labels are
        spread vertically so that they do not overlap.
    ax : Axes, or a sequence of one Axes per facet value, optional

    Returns
    -------
    Axes, or an array of Axes (one per facet value) when ``facet`` is given.
    """
    groups = [None] if facet is None else list(dict.fromkeys(screen[facet]))
    axes = _panels(len(groups), ax, (5, 4.5) if facet is None else (3.6, 3.3))
    for panel, group in zip(axes, groups):
        part = screen if group is None else screen[screen[facet] == group]
        part = part[part["p_value"].notna()]
        sig = (part["q_value"] <= fdr) if "q_value" in part else part["significant"].astype(bool)
        y = -np.log10(part["p_value"].astype(float))
        panel.scatter(part["effect_size"][~sig], y[~sig], s=10, color="grey", alpha=0.5,
                      label="not significant")
        panel.scatter(part["effect_size"][sig], y[sig], s=14, color="C3",
                      label=f"q <= {fdr:g} (BH): {int(sig.sum())}")
        _label_discoveries(panel, part[sig].nsmallest(label_top, "p_value"), y)
        measure = part["effect_measure"].iloc[0] if len(part) else "effect size"
        panel.set(xlabel=measure, ylabel="-log10 p", title="" if group is None else str(group))
        # A volcano's lower corners are empty: large effects always have small p-values.
        panel.legend(fontsize="x-small", loc="lower right")
    if facet is None:
        return axes[0]
    axes[0].figure.tight_layout()
    return axes


def _label_discoveries(panel, rows: pd.DataFrame, y: pd.Series) -> None:
    """Feature names beside their points, written inwards (towards the empty top centre of
    the volcano: left of a positive effect, right of a negative one), from the top down, at
    least 7 % of the panel's height apart, so that labels from the two sides cannot collide
    either (a thin line joins a moved label to its point)."""
    low, high = panel.get_ylim()
    left, right = panel.get_xlim()
    gap, nudge = 0.07 * (high - low), 0.02 * (right - left)
    previous = np.inf
    for i in sorted(rows.index, key=lambda i: -y[i]):
        x_point, y_point = rows.at[i, "effect_size"], y[i]
        positive = x_point > 0
        y_label = min(y_point, previous - gap)
        panel.annotate(str(rows.at[i, "feature"]), (x_point, y_point),
                       xytext=(x_point - nudge if positive else x_point + nudge, y_label),
                       ha="right" if positive else "left", va="center", fontsize="xx-small",
                       arrowprops={"arrowstyle": "-", "lw": 0.4})
        previous = y_label


def _separation_text(sep) -> str:
    """``silhouette 0.21 (null 0.02), p = 0.010`` from a separation dict or table row."""
    stat_name = "silhouette" if "silhouette" in sep or sep.get("kind") == "categorical" \
        else "separation"
    statistic = sep["silhouette"] if "silhouette" in sep else sep["statistic"]
    text = f"{stat_name} {statistic:.2f}"
    if "null_mean" in sep:
        text += f" (null {sep['null_mean']:.2f})"
    return text + f", p = {sep['p_value']:.3f}"


def _class_order(values: np.ndarray) -> list[str]:
    """Class names in natural order: numerically when every class is a number (exon 2
    before exon 10), else as text."""
    classes = sorted(set(values.tolist()), key=str)
    try:
        classes = sorted(classes, key=float)
    except (TypeError, ValueError):
        pass
    return [str(c) for c in classes]


def _class_palette(n: int) -> str:
    """A qualitative palette with a distinct colour for each of ``n`` classes."""
    return "tab10" if n <= 10 else "tab20" if n <= 20 else "husl"


def plot_embedding(coords: pd.DataFrame, labels, *, separation=None, ax=None,
                   title: str | None = None):
    """2-D embedding coloured by one label, or one panel per label column.

    Parameters
    ----------
    coords : DataFrame
        Its first two columns are the map axes (``dim1, dim2`` from
        :func:`neurorad.modeling.embed`), one row per sample.
    labels : array-like (n,) or DataFrame
        The colouring: one panel; or a DataFrame with one column per label and one panel
        per column, titled by the column name. Float labels with more than 10 distinct
        values are continuous (viridis); the others are classes (missing ones shown as
        ``"missing"``).
    separation : dict or DataFrame, optional
        The separation test against its permutation null
        (:func:`neurorad.modeling.embedding_separation`'s dict for one panel; a table with a
        ``label`` column and ``silhouette``/``statistic``, ``null_mean``, ``p_value`` per
        label for panels), shown in the panel title.
    ax : Axes, or a sequence of one Axes per label column, optional
    title : str, optional
        Title of a single panel (before the separation test).

    Returns
    -------
    Axes, or an array of Axes (one per label column) when ``labels`` is a DataFrame.
    """
    table = labels if isinstance(labels, pd.DataFrame) else None
    columns = list(table.columns) if table is not None else [title or ""]
    axes = _panels(len(columns), ax, (3.6, 3.4) if table is not None else (5, 4.5))
    rows = separation.set_index("label") if isinstance(separation, pd.DataFrame) else None
    x, y = coords.iloc[:, 0].to_numpy(), coords.iloc[:, 1].to_numpy()
    for panel, name in zip(axes, columns):
        values = np.asarray(table[name] if table is not None else labels)
        if len(values) != len(x):
            raise ValueError(f"labels {name!r}: {len(values)} values for {len(x)} points")
        missing = pd.isna(values)
        continuous = values.dtype.kind == "f" and len(np.unique(values[~missing])) > 10
        if continuous:
            sns.scatterplot(x=x, y=y, hue=values, palette="viridis", s=22, ax=panel)
        else:
            order = _class_order(values[~missing]) + (["missing"] if missing.any() else [])
            text = np.where(missing, "missing", values.astype(str))
            sns.scatterplot(x=x, y=y, hue=text, hue_order=order, palette=_class_palette(len(order)),
                            s=22, ax=panel)
        panel.set(xlabel=coords.columns[0], ylabel=coords.columns[1])
        sep = rows.loc[name] if rows is not None and name in rows.index else \
            (separation if isinstance(separation, dict) else None)
        heading = name
        if sep is not None:
            heading += ("\n" if heading and table is not None else " \u2014 " if heading
                        else "") + _separation_text(sep)
        panel.set_title(heading, fontsize="small")
        panel.legend(fontsize="x-small", ncol=2 if len(set(values[~missing])) > 6 else 1)
    if table is None:
        return axes[0]
    axes[0].figure.tight_layout()
    return axes


def plot_performance_vs_discretisation(table: pd.DataFrame, *, metric: str = "roc_auc",
                                       level: str | None = None, chance="auto",
                                       title: str = "", ax=None):
    """Estimate and interval of ``metric`` per model across discretisation levels.

    Parameters
    ----------
    table : DataFrame
        Metric rows with a level column, ``model``, ``metric``, ``estimate``, ``ci_low``,
        ``ci_high`` (several metric tables stacked, e.g.
        :func:`neurorad.studies.validation.by_discretisation`). One-vs-rest rows (a
        non-missing ``class``) are left out.
    metric : str
    level : str, optional
        The level column: default ``discretisation`` when present (``"fbn8"``,
        ``"ep16"``, ...), else ``level`` (e.g. numbers of grey levels).
    chance : float, None or "auto"
        Dotted chance line; ``"auto"`` takes :data:`CHANCE_LEVELS` (balanced accuracy:
        pass 1/K).
    title : str
    ax : Axes, optional

    Returns
    -------
    Axes
        One point per level and model with the interval as whiskers; levels ordered by
        :func:`discretisation_sort_key` (method, then numeric level); models side by side.
    """
    ax = _axes(ax, (6, 4))
    if table.empty:
        ax.text(0.5, 0.5, "fewer than two discretisation levels: nothing to compare",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    if level is None:
        level = "discretisation" if "discretisation" in table else "level"
    rows = table[table["metric"] == metric]
    if "class" in rows:
        rows = rows[rows["class"].isna()]
    levels = sorted(rows[level].unique(), key=discretisation_sort_key)
    positions = {lv: i for i, lv in enumerate(levels)}
    models = list(dict.fromkeys(rows["model"]))
    width = 0.6 / max(len(models), 1)
    for k, model in enumerate(models):
        sub = rows[rows["model"] == model]
        sub = sub.iloc[np.argsort(sub[level].map(positions).to_numpy(), kind="stable")]
        x = sub[level].map(positions).to_numpy() + (k - (len(models) - 1) / 2) * width
        err = np.vstack([sub["estimate"] - sub["ci_low"], sub["ci_high"] - sub["estimate"]])
        ax.errorbar(x, sub["estimate"], yerr=np.nan_to_num(err), marker="o", capsize=3,
                    label=model)
    _draw_chance(ax, _chance(metric, chance))
    ax.set_xticks(range(len(levels)), [str(lv) for lv in levels])
    ax.set(xlabel=level, ylabel=_label(metric), title=title)
    ax.legend(fontsize="small")
    return ax


def plot_grouped_vs_leaky(metrics: pd.DataFrame, metric: str = "roc_auc", *, by: str = "model",
                          chance="auto", title: str = "", ax=None,
                          leaky_label: str = "leaky (ROI split)"):
    """Grouped (patient-level split) next to leaky (ROI-level split) estimates.

    One pair of bars per value of ``by`` (model, class or target): the estimate with its
    95 % interval as whiskers, for each ``split`` present (``grouped``, ``leaky``), as
    produced by :func:`neurorad.studies.validation.grouped_and_leaky`. The gap between the
    two bars is what patient-level leakage adds to a published estimate.

    Parameters
    ----------
    metrics : DataFrame
        Columns ``split``, ``metric``, ``by``, ``estimate``, ``ci_low``, ``ci_high``.
    chance : float, None or "auto"
        Dotted chance line (see :data:`CHANCE_LEVELS`).
    leaky_label : str
        Legend entry of the leaky bars (e.g. "leaky (slice split)" where slices are split).

    Returns
    -------
    Axes
    """
    m = metrics[metrics["metric"] == metric]
    keys = list(dict.fromkeys(m[by]))
    splits = [s for s in ("grouped", "leaky") if s in set(m["split"])]
    ax = _axes(ax, (max(4.5, 1.3 * len(keys) + 2), 3.4))
    width = 0.8 / max(len(splits), 1)
    colours = {"grouped": "#1f77b4", "leaky": "#d62728"}
    names = {"grouped": "grouped by patient", "leaky": leaky_label}
    for i, split in enumerate(splits):
        part = m[m["split"] == split].set_index(by).reindex(keys)
        x = np.arange(len(keys)) + (i - (len(splits) - 1) / 2) * width
        err = np.vstack([part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]])
        ax.bar(x, part["estimate"], width, yerr=np.nan_to_num(err), capsize=3,
               color=colours[split], alpha=0.85, label=names[split])
    _draw_chance(ax, _chance(metric, chance))
    crowded = len(keys) > 4 or max((len(str(k)) for k in keys), default=0) > 12
    ax.set_xticks(np.arange(len(keys)), [str(k) for k in keys], rotation=25 if crowded else 0,
                  ha="right" if crowded else "center")
    ax.set(ylabel=_label(metric), title=title)
    # Beside the axes: inside, it would hide the bars (which all start at 0).
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax


def plot_metric_over_splits(per_split: pd.DataFrame, metric: str = "spearman_rho", *,
                            published: float | None = None, published_ci=None,
                            bins=np.linspace(-1, 1, 41), chance="auto", ax=None):
    """Histogram of a metric computed on the test patients of each split, per model.

    Shows how much one split (as a single train/test study reports it) can vary, next to
    the published value (solid line) and its interval (shaded). ``per_split``: columns
    ``model`` and ``metric`` (e.g. the PET study's per-split Spearman rho).

    Returns
    -------
    Axes
    """
    ax = _axes(ax, (5.5, 3.4))
    for model, part in per_split.groupby("model", sort=False):
        ax.hist(part[metric].dropna(), bins=bins, alpha=0.45, label=model)
    if published is not None:
        ax.axvline(published, color="black", lw=1.5, label=f"published {published:g}")
    if published_ci is not None:
        ax.axvspan(*published_ci, color="black", alpha=0.08)
    chance = _chance(metric, chance)
    if chance is not None:
        ax.axvline(chance, color="grey", ls=":", lw=1, label=f"chance ({chance:g})")
    ax.set(xlabel=f"{_label(metric)} on the test patients of one split", ylabel="splits")
    ax.legend(fontsize="x-small")
    return ax


def plot_predicted_vs_observed(table: pd.DataFrame, *, label: str = "value", ax=None):
    """Out-of-split prediction against the observed value, with the identity line.

    ``table``: columns ``observed`` and ``predicted`` (e.g. the mean out-of-split prediction
    per patient of a regression). Points on the dashed line are predicted exactly.

    Returns
    -------
    Axes
    """
    ax = _axes(ax, (3.8, 3.6))
    ax.scatter(table["observed"], table["predicted"], s=20)
    lo = float(np.nanmin([table["observed"].min(), table["predicted"].min()]))
    hi = float(np.nanmax([table["observed"].max(), table["predicted"].max()]))
    ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1)
    ax.set(xlabel=f"observed {label}", ylabel=f"predicted {label}")
    return ax
