"""The numbers the original studies published, as data.

Source: ``shared/studies.md`` (G. Danilov et al., 2022-2023, computed with R/RIA). Every value
is what the authors reported; none is derived here. The reproduction notebooks print these
next to their own estimates so a reader sees both in one table.

Model and metric names are those of ``neurorad.modeling``: ``lasso_lr`` (logistic regression
with LASSO penalty, the studies' "LR"), ``lasso`` (LASSO linear regression, the PET study),
``svm``, ``rf``, ``null``; metrics ``acc``, ``bacc``, ``sens``, ``spec``, ``f1``, ``roc_auc``,
``pr_auc``, ``spearman_rho``.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

STUDIES = ("nf2", "pet", "dai", "glioma")

#: Published abbreviation -> model name used by ``neurorad.modeling``.
MODEL_NAMES = {"LR": "lasso_lr", "SVM": "svm", "RF": "rf", "null": "null"}

#: Metric abbreviations of the studies -> metric names in our tables.
METRIC_NAMES = {
    "ACC": "acc",
    "BACC": "bacc",
    "SENS": "sens",
    "SPEC": "spec",
    "F1": "f1",
    "ROC AUC": "roc_auc",
    "PR AUC": "pr_auc",
    "rho": "spearman_rho",
}


@dataclass(frozen=True)
class PublishedValue:
    """One published number.

    ``task`` is the prediction task (e.g. ``diagnosis``), ``target_class`` the class of a
    one-vs-rest task (empty otherwise), ``ci_low``/``ci_high`` the published interval when one
    was given (NaN otherwise).
    """

    study: str
    task: str
    model: str
    metric: str
    value: float
    target_class: str = ""
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    source: str = ""


def _dai_diagnosis() -> list[PublishedValue]:
    # "LR, SVM and RF all 1.000 on every metric" (patients vs volunteers).
    metrics = ["ACC", "SENS", "SPEC", "F1", "ROC AUC", "PR AUC"]
    return [
        PublishedValue("dai", "diagnosis", MODEL_NAMES[m], METRIC_NAMES[k], 1.0,
                       source="journal")
        for m in ("LR", "SVM", "RF") for k in metrics
    ]


def _dai_outcome() -> list[PublishedValue]:
    values = {
        "SVM": {"ACC": 0.935, "SENS": 0.878, "SPEC": 0.964, "F1": 0.890, "ROC AUC": 0.997,
                "PR AUC": 0.994},
        "RF": {"ACC": 0.918, "ROC AUC": 0.989},
        "LR": {"ACC": 0.906, "ROC AUC": 0.971},
    }
    return [
        PublishedValue("dai", "outcome", MODEL_NAMES[m], METRIC_NAMES[k], v, source="journal")
        for m, row in values.items() for k, v in row.items()
    ]


def _glioma() -> list[PublishedValue]:
    # SVM was the best model for every type; only BACC and ROC AUC were given per type.
    values = {
        "oligodendroglioma": (0.993, 0.990),
        "anaplastic_oligodendroglioma": (0.971, 0.998),
        "anaplastic_astrocytoma": (0.966, 0.999),
        "glioblastoma": (0.940, 0.975),
    }
    out = []
    for cls, (bacc, auc) in values.items():
        out.append(PublishedValue("glioma", "one_vs_rest", "svm", "bacc", bacc,
                                  target_class=cls, source="journal"))
        out.append(PublishedValue("glioma", "one_vs_rest", "svm", "roc_auc", auc,
                                  target_class=cls, source="journal"))
    return out


def _pet() -> list[PublishedValue]:
    return [
        PublishedValue("pet", "uptake_index", "lasso", "spearman_rho", 0.58, ci_low=0.43,
                       ci_high=0.74, source="journal (300 random 70/30 splits)"),
        PublishedValue("pet", "uptake_index", "lasso", "spearman_rho", 0.73,
                       source="conference slide"),
    ]


_ALL = _dai_diagnosis() + _dai_outcome() + _glioma() + _pet()

#: Cohort sizes of the published studies (subjects; DAI: patients + volunteers).
COHORT_SIZE = {"nf2": 53, "pet": 40, "dai": 31 + 12, "glioma": 83}

#: What each study published in one sentence (for the index page and notebooks).
SUMMARY = {
    "nf2": "Exploratory: 2-D maps of the feature space coloured by genotype and exon; "
           "no predictive metrics were published.",
    "pet": "Spearman rho 0.58 [0.43; 0.74] between predicted and expert uptake index "
           "(LASSO, 300 random 70/30 splits); 0.73 on a conference slide.",
    "dai": "Patients vs volunteers: LR, SVM and RF 1.000 on every metric; outcome: SVM "
           "ROC AUC 0.997, ACC 0.935.",
    "glioma": "One-vs-rest SVM: BACC 0.940-0.993 and ROC AUC 0.975-0.999 for the four types.",
}

#: The single published number each study's headline is compared with (None: none published).
HEADLINE = {
    "nf2": None,
    "pet": ("uptake_index", "lasso", "spearman_rho", ""),
    "dai": ("outcome", "svm", "roc_auc", ""),
    "glioma": ("one_vs_rest", "svm", "roc_auc", "glioblastoma"),
}


def published_table(study: str | None = None) -> pd.DataFrame:
    """Published values as a tidy table.

    Parameters
    ----------
    study : str, optional
        One of :data:`STUDIES`; all studies when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``study, task, model, metric, class, value, ci_low, ci_high, source``.
        Empty (with those columns) for a study that published no metric (NF2).
    """
    if study is not None and study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; expected one of {', '.join(STUDIES)}")
    rows = [v for v in _ALL if study is None or v.study == study]
    columns = ["study", "task", "model", "metric", "class", "value", "ci_low", "ci_high",
               "source"]
    return pd.DataFrame(
        [[v.study, v.task, v.model, v.metric, v.target_class, v.value, v.ci_low, v.ci_high,
          v.source] for v in rows],
        columns=columns,
    )


def published_value(study: str, task: str, model: str, metric: str,
                    target_class: str = "") -> PublishedValue | None:
    """The first published value matching the keys (journal before slide), or None."""
    for v in _ALL:
        if (v.study, v.task, v.model, v.metric, v.target_class) == (
                study, task, model, metric, target_class):
            return v
    return None


def headline_published(study: str) -> PublishedValue | None:
    """The published number a study's headline metric is compared with (None for NF2)."""
    keys = HEADLINE[study]
    return None if keys is None else published_value(study, *keys)
