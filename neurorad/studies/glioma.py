"""Glioma histological type ("digital biopsy"): one-vs-rest per type and multiclass.

The published table reports, per type, the SVM's BACC and ROC AUC after choosing the best
model per class; ROIs of one patient were split between training and test sets. Here every
model (null included) is reported for every type with all seven metrics, grouped by patient
next to the leaky ROI-level split, and no model is chosen after the fact.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurorad.studies.common import ModelTable
from neurorad.studies.validation import feasible_folds, format_interval, grouped_and_leaky

#: The published table's columns, in its order, as our metric names.
PUBLISHED_COLUMNS = {"BACC": "bacc", "ACC": "acc", "SENS": "sens", "SPEC": "spec",
                     "F1": "f1", "ROC AUC": "roc_auc", "PR AUC": "pr_auc"}


def one_vs_rest(table: ModelTable, target: str, *, models, outer_folds, repeats, seed,
                n_permutations=0, **options):
    """Binary evaluation of each class against all others, grouped and leaky.

    Returns the stacked metrics (``class`` = the type tested, ``split``) and the results per
    type. Classes with fewer than 2 patients are skipped; the fold count adapts to the rarest
    class (``n_outer_folds``).
    """
    y_all = table.targets[target]
    keep = y_all.notna().to_numpy()
    y_all, X, groups = y_all[keep].astype(str), table.X[keep], table.groups[keep]
    frames, results = [], {}
    for cls in sorted(y_all.unique()):
        y = np.where(y_all == cls, cls, "rest")
        folds = feasible_folds(y, groups, outer_folds)
        if folds < 2:
            continue
        metrics, res = grouped_and_leaky(
            X, y, groups.to_numpy(), task="classification", models=models, outer_folds=folds,
            repeats=repeats, seed=seed, n_permutations=n_permutations, positive_class=cls,
            **options)
        metrics["class"] = metrics["class"].where(metrics["class"].notna(), cls)
        frames.append(metrics.assign(n_outer_folds=folds))
        results[cls] = res
    return pd.concat(frames, ignore_index=True), results


def published_layout(metrics: pd.DataFrame, split: str = "grouped") -> pd.DataFrame:
    """Rows (type, model), columns BACC ... PR AUC as ``estimate [CI]`` text: the layout of
    the published table, for one split."""
    m = metrics[(metrics.split == split) & metrics.metric.isin(PUBLISHED_COLUMNS.values())]
    m = m.assign(cell=[format_interval(e, lo, hi) for e, lo, hi in
                       zip(m.estimate, m.ci_low, m.ci_high)])
    table = m.pivot_table(index=["class", "model"], columns="metric", values="cell",
                          aggfunc="first", sort=False)
    inverse = {v: k for k, v in PUBLISHED_COLUMNS.items()}
    return table[[c for c in PUBLISHED_COLUMNS.values() if c in table.columns]].rename(
        columns=inverse)


#: The published headline class; the headline falls back to the most prevalent class when
#: a cohort has no such class.
DEFAULT_HEADLINE_CLASS = "glioblastoma"


def headline_class(y, groups, evaluated, requested=None) -> str:
    """The one-vs-rest class the headline reports.

    ``requested`` (the notebook's ``headline_class``) when given, which must be one of the
    ``evaluated`` classes; else :data:`DEFAULT_HEADLINE_CLASS` when evaluated; else the
    evaluated class with the most patients (ties: the first in sorted order).
    """
    from neurorad.studies.common import StudyInputError

    evaluated = sorted(map(str, evaluated))
    if not evaluated:
        raise StudyInputError("no class has enough patients for one-vs-rest validation")
    if requested is not None:
        if str(requested) not in evaluated:
            raise StudyInputError(f"headline_class {requested!r:.60} is not one of the "
                                  f"evaluated classes {evaluated}")
        return str(requested)
    if DEFAULT_HEADLINE_CLASS in evaluated:
        return DEFAULT_HEADLINE_CLASS
    patients = pd.Series(np.asarray(groups)).groupby(
        pd.Series(np.asarray(y).astype(str))).nunique()
    patients = patients[patients.index.isin(evaluated)]
    return str(patients.sort_index().idxmax())
