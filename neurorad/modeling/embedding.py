r"""Low-dimensional embeddings of the feature space, with a permutation null for separation.

An embedding of thousands of features of 50 patients always shows *some* structure; whether a
label separates better than chance needs a null. The embedding is computed without the label,
so the null keeps it fixed and permutes the labels **at the patient level** (ROIs of one
patient cluster together and share a label; permuting ROIs would make any label look
separated).

Separation statistics:

- categorical label: mean silhouette width of the label classes in the embedding
  (Rousseeuw 1987), :math:`s_i = (b_i - a_i) / \max(a_i, b_i)`;
- continuous label: Spearman correlation between pairwise embedding distances and pairwise
  absolute label differences (a Mantel-type statistic; Mantel 1967).

p-value: :math:`(1 + \#\{T_\pi \ge T\}) / (1 + N)`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import pdist
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.manifold import MDS, TSNE, Isomap
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from neurorad.modeling.inputs import check_features, check_groups
from neurorad.modeling.splits import permuted_labels

METHODS = ("pca", "tsne", "mds", "isomap")


def standardised(values: np.ndarray) -> np.ndarray:
    """Median-impute, drop constant columns and z-score (the scale every method sees)."""
    filled = SimpleImputer(strategy="median").fit_transform(values)
    filled = filled[:, np.ptp(filled, axis=0) > 0]
    if filled.shape[1] == 0:
        raise ValueError("every feature is constant; nothing to embed.")
    return StandardScaler().fit_transform(filled)


def embed(X, method: str = "pca", *, n_components: int = 2, seed: int = 0,
          perplexity: float | None = None, source: str | None = None) -> pd.DataFrame:
    """Embed the (standardised) feature table.

    Parameters
    ----------
    method : "pca", "tsne" (perplexity default ``min(30, (n - 1) / 3)``), "mds" (metric
        MDS on Euclidean distances) or "isomap"
    Returns
    -------
    DataFrame (index: the rows of ``X``) with columns ``dim1 .. dim<n_components>``; for
    PCA, ``attrs["explained_variance_ratio"]``.
    """
    values, _, sample_ids = check_features(X, source)
    Z = standardised(values)
    n = len(Z)
    if method == "pca":
        model = PCA(n_components=n_components, random_state=seed)
    elif method == "tsne":
        perp = perplexity or max(2.0, min(30.0, (n - 1) / 3))
        model = TSNE(n_components=n_components, perplexity=perp, random_state=seed,
                     init="pca")
    elif method == "mds":
        model = MDS(n_components=n_components, random_state=seed, n_init=1)
    elif method == "isomap":
        model = Isomap(n_components=n_components, n_neighbors=min(10, n - 1))
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    coords = model.fit_transform(Z)
    out = pd.DataFrame(coords, index=sample_ids,
                       columns=[f"dim{i + 1}" for i in range(n_components)])
    if method == "pca":
        out.attrs["explained_variance_ratio"] = model.explained_variance_ratio_.tolist()
    return out


def separation_statistic(coords, labels, kind: str) -> float:
    """Silhouette (categorical) or distance--label Mantel correlation (continuous)."""
    coords = np.asarray(coords, float)
    if kind == "categorical":
        if len(np.unique(labels)) < 2:
            return np.nan
        return float(silhouette_score(coords, np.asarray(labels)))
    rho = stats.spearmanr(pdist(coords), pdist(np.asarray(labels, float)[:, None])).statistic
    return float(rho)


def embedding_separation(coords, labels, *, groups=None, kind: str | None = None,
                         n_permutations: int = 999, seed: int = 0) -> dict:
    """How well ``labels`` separate in a fixed embedding, against a patient-level null.

    Parameters
    ----------
    coords : array or DataFrame (n, d) -- e.g. from :func:`embed`
    labels : array (n,) -- the label (NaN rows are dropped)
    groups : array (n,) or None -- patient of each row; permutations keep patients together
    kind : "categorical" or "continuous" (default: continuous for float labels with more
        than 10 distinct values)
    Returns
    -------
    dict with ``statistic, p_value, null_mean, null_sd, null`` (the permuted statistics),
    ``kind``.
    """
    coords = np.asarray(coords, float)
    labels = np.asarray(labels)
    groups, _ = check_groups(groups, len(labels))
    keep = ~pd.isna(labels)
    coords, labels, groups = coords[keep], labels[keep], groups[keep]
    if kind is None:
        numeric = pd.api.types.is_float_dtype(labels) and len(np.unique(labels)) > 10
        kind = "continuous" if numeric else "categorical"
    if kind not in ("categorical", "continuous"):
        raise ValueError(f"kind must be 'categorical' or 'continuous', got {kind!r}.")
    observed = separation_statistic(coords, labels, kind)
    rng = np.random.default_rng(seed)
    null = np.array([separation_statistic(coords, permuted_labels(labels, groups, rng), kind)
                     for _ in range(n_permutations)])
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_permutations)
    return {"statistic": observed, "p_value": float(p), "null_mean": float(np.nanmean(null)),
            "null_sd": float(np.nanstd(null)), "null": null, "kind": kind}
