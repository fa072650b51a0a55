"""Diffuse axonal injury on diffusion-kurtosis maps: 15 ROIs x 10 maps per subject.

Two tasks: diagnosis (patients vs volunteers) and outcome (among patients). The published
perfect scores come from splitting ROIs, not subjects: with 15 ROIs per subject a subject's
ROIs sit on both sides of every split. We therefore model one row per (subject, ROI) with
the ROI name as a feature-free grouping, validate grouped by subject next to the leaky
ROI-level split, and test features univariately on subject-level values (one value per
subject and ROI), so that no subject counts fifteen times.
"""
from __future__ import annotations

import pandas as pd

from neurorad.studies.common import ModelTable, StudyInputError, columns_for_discretisation


def task_rows(table: ModelTable, target: str) -> ModelTable:
    """Rows with a value for ``target`` (outcome exists for patients only)."""
    if target not in table.targets:
        raise StudyInputError(f"target {target!r} is not in the manifest "
                              f"(targets: {list(table.targets.columns)})")
    keep = table.targets[target].notna().to_numpy()
    return ModelTable(X=table.X[keep], targets=table.targets[keep], groups=table.groups[keep])


def subject_by_roi(table: ModelTable) -> pd.DataFrame:
    """One row per subject, one column per ``<roi>:<image>__<feature>``.

    Tests on this table count every subject once per ROI-feature, the unit at which the
    published "top differentiating features" were reported.
    """
    X = table.X.copy()
    rois = X.index.get_level_values("roi")
    X.index = X.index.droplevel("roi")
    wide = pd.concat({roi: X[rois == roi] for roi in pd.unique(rois)}, axis=1)
    wide.columns = [f"{roi}:{feature}" for roi, feature in wide.columns]
    return wide


def top_features(table: ModelTable, target: str, *, fdr: float = 0.05,
                 p_threshold: float = 1e-4, discretisation: str | None = None) -> pd.DataFrame:
    """Univariate tests of every ROI-feature against ``target`` at the subject level,
    Benjamini-Hochberg adjusted; ``published_threshold`` marks p < 1e-4 (the study's cut).

    ``discretisation`` (e.g. ``"fbn8"``) limits the texture features to one level (plus the
    level-free ones): 15 ROIs x maps x features is thousands of tests per level.
    """
    from neurorad.modeling.univariate import univariate_screen

    if discretisation is not None:
        table = ModelTable(X=table.X[columns_for_discretisation(table.X.columns,
                                                                discretisation)],
                           targets=table.targets, groups=table.groups)
    rows = task_rows(table, target)
    wide = subject_by_roi(rows)
    y = rows.targets[target].groupby(rows.X.index.get_level_values("subject")).first()
    y = y.loc[wide.index.get_level_values("subject")].astype(str).to_numpy()
    result = univariate_screen(wide, y, task="classification", fdr=fdr)
    result["published_threshold"] = result["p_value"] < p_threshold
    return result
