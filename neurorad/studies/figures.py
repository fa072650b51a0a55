"""The study reports' figures (matplotlib; each function returns its Figure).

Study-specific views of the tables the study modules produce: grouped vs leaky estimates,
performance per discretisation level, embeddings coloured by label, volcano plots of
univariate tests, the PET study's rho over splits and predicted vs observed index.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _plt():
    import matplotlib.pyplot as plt

    return plt


def grouped_vs_leaky(metrics: pd.DataFrame, metric: str = "roc_auc", *, chance=0.5,
                     title: str = "", by: str = "model"):
    """Estimate with 95 % CI per ``by`` value (model or class), grouped next to leaky."""
    plt = _plt()
    m = metrics[metrics.metric == metric]
    keys = list(dict.fromkeys(m[by]))
    splits = [s for s in ("grouped", "leaky") if s in set(m.split)]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(keys) + 2), 3.4))
    width = 0.8 / len(splits)
    colours = {"grouped": "#1f77b4", "leaky": "#d62728"}
    for i, split in enumerate(splits):
        part = m[m.split == split].set_index(by).reindex(keys)
        x = np.arange(len(keys)) + (i - (len(splits) - 1) / 2) * width
        err = np.vstack([part.estimate - part.ci_low, part.ci_high - part.estimate])
        ax.bar(x, part.estimate, width, yerr=np.nan_to_num(err), capsize=3,
               color=colours[split], alpha=0.85,
               label="grouped by patient" if split == "grouped" else "leaky (ROI split)")
    if chance is not None:
        ax.axhline(chance, color="grey", lw=1, ls="--", label="chance")
    crowded = len(keys) > 4 or max(len(str(k)) for k in keys) > 12
    ax.set_xticks(np.arange(len(keys)), keys, rotation=25 if crowded else 0,
                  ha="right" if crowded else "center")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def by_level(table: pd.DataFrame, metric: str = "roc_auc", *, chance=0.5, title: str = ""):
    """Metric with its interval against the discretisation level (FBN grey levels)."""
    plt = _plt()
    m = table[table.metric == metric]
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    x = np.arange(len(m))
    ax.errorbar(x, m.estimate, yerr=np.nan_to_num(np.vstack([m.estimate - m.ci_low,
                                                            m.ci_high - m.estimate])),
                marker="o", capsize=3)
    if chance is not None:
        ax.axhline(chance, color="grey", lw=1, ls="--")
    ax.set_xticks(x, list(m.discretisation))
    ax.set_xlabel("discretisation")
    ax.set_ylabel(metric)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def embedding(coords: pd.DataFrame, labels, separation: pd.DataFrame | None = None):
    """One scatter panel per label column, points coloured by class; the panel title gives
    the silhouette and its permutation p-value."""
    plt = _plt()
    labels = list(labels)
    fig, axes = plt.subplots(1, len(labels), figsize=(3.6 * len(labels), 3.4), squeeze=False)
    sep = None if separation is None else separation.set_index("label")
    for ax, name in zip(axes[0], labels):
        values = coords[name].astype(str)
        for cls in sorted(values.unique()):
            hit = values == cls
            ax.scatter(coords.loc[hit, "dim1"], coords.loc[hit, "dim2"], s=18, label=cls,
                       alpha=0.8)
        title = name
        if sep is not None and name in sep.index:
            title += (f"\nsilhouette {sep.loc[name, 'silhouette']:.2f}, "
                      f"p = {sep.loc[name, 'p_value']:.2f}")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=6, loc="best", ncol=2 if values.nunique() > 6 else 1)
    fig.tight_layout()
    return fig


def volcano(univariate: pd.DataFrame, *, facet: str | None = None, fdr: float = 0.05):
    """Effect size against -log10 p; features significant after BH-FDR in red."""
    plt = _plt()
    groups = [None] if facet is None else list(dict.fromkeys(univariate[facet]))
    fig, axes = plt.subplots(1, len(groups), figsize=(3.6 * len(groups), 3.2),
                             squeeze=False)
    for ax, g in zip(axes[0], groups):
        part = univariate if g is None else univariate[univariate[facet] == g]
        part = part[part.p_value.notna()]
        sig = part.significant.astype(bool)
        ax.scatter(part.effect_size[~sig], -np.log10(part.p_value[~sig]), s=6, c="grey",
                   alpha=0.5)
        ax.scatter(part.effect_size[sig], -np.log10(part.p_value[sig]), s=10, c="red",
                   label=f"q <= {fdr:g} ({int(sig.sum())})")
        ax.set_xlabel(part.effect_measure.iloc[0] if len(part) else "effect size")
        ax.set_ylabel("-log10 p")
        ax.set_title("" if g is None else str(g), fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def rho_over_splits(rho: pd.DataFrame, *, published=None, published_ci=None):
    """Histogram of the per-split Spearman rho of each model, with the published value."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    bins = np.linspace(-1, 1, 41)
    for model, part in rho.groupby("model", sort=False):
        ax.hist(part.spearman_rho.dropna(), bins=bins, alpha=0.45, label=model)
    if published is not None:
        ax.axvline(published, color="black", lw=1.5, label=f"published {published:g}")
    if published_ci is not None:
        ax.axvspan(*published_ci, color="black", alpha=0.08)
    ax.axvline(0, color="grey", ls="--", lw=1)
    ax.set_xlabel("Spearman rho on the test patients of one split")
    ax.set_ylabel("splits")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def predicted_vs_observed(table: pd.DataFrame, *, label: str = "uptake index"):
    """Mean out-of-split prediction against the observed value, with the identity line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    ax.scatter(table.observed, table.predicted, s=20)
    lo = float(np.nanmin([table.observed.min(), table.predicted.min()]))
    hi = float(np.nanmax([table.observed.max(), table.predicted.max()]))
    ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1)
    ax.set_xlabel(f"observed {label}")
    ax.set_ylabel(f"predicted {label}")
    fig.tight_layout()
    return fig
