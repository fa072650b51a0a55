"""NF2-associated schwannomatosis radiogenomics: per-lesion features grouped by patient.

The published study was exploratory (2-D maps coloured by genotype and exon). Several
lesions of one patient are not independent, and tumour size can separate genotypes on its
own; so besides the maps we report, per genotype target, a grouped predictive check with
all features, the same check with tumour volume alone, and univariate tests with FDR.
"""
from __future__ import annotations

import pandas as pd

from neurorad.studies.common import ModelTable, StudyInputError
from neurorad.studies.validation import feasible_folds, grouped_and_leaky

#: Feature tag of the ROI volume (IBSI morphology, 3.1.1 "volume (mesh)", code RNU0).
VOLUME_TAG = "morph_volume"


def genotype_targets(manifest) -> list[str]:
    """Binary targets of the manifest with role ``target`` (the genotypes to test)."""
    return [name for name, spec in manifest.targets.items()
            if spec.type == "binary" and getattr(spec, "role", "target") == "target"]


def annotation_targets(manifest) -> list[str]:
    """Targets with role ``annotation`` (e.g. exon: used to colour maps, never modelled)."""
    return [name for name, spec in manifest.targets.items()
            if getattr(spec, "role", "target") == "annotation"]


def size_columns(columns) -> list[str]:
    """The volume column of one image (the mask, hence the volume, is shared by all images)."""
    volume = [c for c in columns if c.split("__", 1)[-1] == VOLUME_TAG]
    if not volume:
        raise StudyInputError(
            f"no '{VOLUME_TAG}' feature among the extracted columns; the size control "
            "needs the morphology family")
    return volume[:1]


def predictive_checks(table: ModelTable, targets, *, models, outer_folds, repeats, seed,
                      n_permutations=0, **options):
    """Grouped (and leaky) evaluation of every genotype target with all features and with
    tumour volume alone.

    A target that all features predict but volume alone predicts as well is a size effect,
    not a radiomic signature. A target whose rarest class has fewer patients than
    ``outer_folds`` is validated with fewer folds (``n_outer_folds`` column); one with
    fewer than 2 patients in a class is skipped.

    Returns
    -------
    metrics : DataFrame
        ``evaluate`` metrics + ``split``, ``target``, ``feature_set`` (``all`` / ``volume``).
    results : dict
        ``{(target, feature_set): {"grouped": ..., "leaky": ...}}``.
    """
    frames, results = [], {}
    volume = size_columns(table.X.columns)
    for target in targets:
        y = table.targets[target]
        keep = y.notna().to_numpy()
        folds = feasible_folds(y[keep].astype(str), table.groups[keep], outer_folds)
        if folds < 2:
            continue
        for feature_set, X in (("all", table.X), ("volume", table.X[volume])):
            set_models = models if feature_set == "all" else \
                tuple(m for m in models if m in ("null", "lasso_lr")) or models
            metrics, res = grouped_and_leaky(
                X[keep], y[keep].astype(str).to_numpy(), table.groups[keep].to_numpy(),
                task="classification", models=set_models, outer_folds=folds,
                repeats=repeats, seed=seed,
                n_permutations=n_permutations if feature_set == "all" else 0,
                leaky=feature_set == "all", **options)
            frames.append(metrics.assign(target=target, feature_set=feature_set,
                                         n_outer_folds=folds))
            results[(target, feature_set)] = res
    return pd.concat(frames, ignore_index=True), results


def summary_table(metrics: pd.DataFrame, metric: str = "roc_auc") -> pd.DataFrame:
    """One row per target and model: grouped estimate with CI for all features and for
    volume alone, and the leaky estimate."""
    from neurorad.studies.validation import format_interval

    m = metrics[(metrics.metric == metric) & metrics["class"].isna()]
    rows = []
    for (target, model), part in m.groupby(["target", "model"], sort=False):
        def cell(fs, split):
            hit = part[(part.feature_set == fs) & (part.split == split)]
            return "–" if hit.empty else format_interval(
                *hit.iloc[0][["estimate", "ci_low", "ci_high"]])
        rows.append({"target": target, "model": model,
                     f"{metric} all features (grouped)": cell("all", "grouped"),
                     f"{metric} volume only (grouped)": cell("volume", "grouped"),
                     f"{metric} all features (leaky)": cell("all", "leaky")})
    return pd.DataFrame(rows)


def embedding_with_null(table: ModelTable, labels: pd.DataFrame, *, method: str = "pca",
                        n_permutations: int = 999, seed: int = 0):
    """Embed the lesions once (without any label) and test how well each label column
    separates in it against a patient-level permutation null.

    Returns
    -------
    coords : DataFrame
        ``dim1, dim2`` per lesion plus the label columns (for colouring).
    separation : DataFrame
        One row per label: silhouette statistic, permutation null mean/SD and p-value.
    """
    from neurorad.modeling.embedding import embed, embedding_separation

    coords = embed(table.X, method=method, seed=seed)
    coords.index = table.X.index
    rows = []
    for name in labels.columns:
        sep = embedding_separation(coords[["dim1", "dim2"]].to_numpy(),
                                   labels[name].astype(object).to_numpy(),
                                   groups=table.groups.to_numpy(), kind="categorical",
                                   n_permutations=n_permutations, seed=seed)
        rows.append({"label": name, "silhouette": sep["statistic"],
                     "null_mean": sep["null_mean"], "null_sd": sep["null_sd"],
                     "p_value": sep["p_value"], "n_permutations": n_permutations})
    return coords.join(labels), pd.DataFrame(rows)


def univariate_by_target(table: ModelTable, targets, *, fdr: float = 0.05) -> pd.DataFrame:
    """Per-feature tests of every genotype target on patient means (lesions of a patient
    averaged, so each patient counts once), Benjamini-Hochberg adjusted per target."""
    from neurorad.modeling.univariate import univariate_screen

    frames = []
    for target in targets:
        y = table.targets[target]
        keep = y.notna().to_numpy()
        result = univariate_screen(table.X[keep], y[keep].astype(str).to_numpy(),
                                   groups=table.groups[keep].to_numpy(),
                                   task="classification", fdr=fdr)
        frames.append(result.assign(target=target))
    return pd.concat(frames, ignore_index=True)


def comparison_table(targets, separation: pd.DataFrame, univariate: pd.DataFrame,
                     checks: pd.DataFrame) -> pd.DataFrame:
    """Per genotype: what the study published (maps only) next to our map-separation test,
    features surviving FDR and grouped AUC with all features / volume alone."""
    from neurorad.studies.validation import format_interval

    auc = checks[(checks.metric == "roc_auc") & checks["class"].isna()
                 & (checks.split == "grouped")]
    sep = separation.set_index("label")
    rows = []
    for t in targets:
        part = auc[auc.target == t]
        full = part[part.feature_set == "all"].sort_values("estimate").tail(1)
        vol = part[(part.feature_set == "volume") & (part.model == "lasso_lr")]
        rows.append({
            "target": t, "published": "maps only, no metric",
            "map separation p": sep.loc[t, "p_value"] if t in sep.index else float("nan"),
            "features at FDR": int(univariate[univariate.target == t].significant.sum()),
            "best model (all features)": full.model.iloc[0] if len(full) else "not run",
            "grouped AUC (all features)": format_interval(
                *full.iloc[0][["estimate", "ci_low", "ci_high"]]) if len(full) else
            "too few patients per class",
            "grouped AUC (volume only)": format_interval(
                *vol.iloc[0][["estimate", "ci_low", "ci_high"]]) if len(vol) else "–",
        })
    return pd.DataFrame(rows)
