"""The studies: one registry entry per study, one module per study's analysis steps.

:data:`STUDIES` maps a study name to its :class:`Study` record: title, notebook, synthetic
cohort generator, headline metric and the numbers the original study published. Everything
that lists the studies (the command line, the index page, the demo cohorts, the published
values) reads it, so adding a study is its modules plus one entry here
(``docs/architecture.md``, "How to add a study").

The notebooks are jupytext percent scripts shipped inside the package
(``neurorad/notebooks/<notebook>.py``, see :mod:`neurorad.studies.notebooks`); they only
call the analysis functions of ``common`` (what all studies share: checked manifest,
settings at the chosen grey levels, cached extraction, the model table, table export),
``validation`` and the study's own module (``nf2``, ``pet``, ``dai``, ``glioma``), so the
logic is tested here, not in the notebooks.

This module is plain data (it imports nothing from neurorad but the errors), so every layer
may read the registry.

Published values: ``shared/studies.md`` (G. Danilov et al., 2022-2023, computed with R/RIA).
Every value is what the authors reported; none is derived here. Model and metric names are
those of ``neurorad.modeling``: ``lasso_lr`` (logistic regression with LASSO penalty, the
studies' "LR"), ``lasso`` (LASSO linear regression, the PET study), ``svm``, ``rf``,
``null``, and the grading study's networks ``densenet3d`` and ``resnest2d``; metrics ``acc``,
``bacc``, ``sens``, ``spec``, ``ppv`` (precision), ``f1``, ``roc_auc``, ``pr_auc``,
``spearman_rho``.
"""
from __future__ import annotations

from dataclasses import dataclass

from neurorad.errors import InputError

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


class UnknownStudyError(InputError):
    """A study name that is not in :data:`STUDIES`."""


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


@dataclass(frozen=True)
class HeadlineMetric:
    """The published number a study's headline is compared with: the keys of a
    :class:`PublishedValue` (task, model, metric, class)."""

    task: str
    model: str
    metric: str
    target_class: str = ""


@dataclass(frozen=True)
class Study:
    """One study of the registry.

    name
        What the command line takes (``neurorad run-study NAME``, ``neurorad demo-data NAME``).
    title
        Heads its report and index card.
    notebook
        Stem of its notebook source ``neurorad/notebooks/<notebook>.py`` (and of
        ``notebooks/<notebook>.ipynb``).
    synth
        Module generating its synthetic cohort (``plan_cohort``, ``render_subject``,
        ``finalise``; :mod:`neurorad.synth.cohort`).
    published_subjects
        Cohort size of the published study (subjects; DAI: patients + volunteers).
    headline
        Which published value the headline is compared with (None: none published).
    published
        Every number the study published.
    question
        The clinical question in one sentence (opens the report's summary and the index
        card).
    """

    name: str
    title: str
    notebook: str
    synth: str
    published_subjects: int
    headline: HeadlineMetric | None = None
    published: tuple[PublishedValue, ...] = ()
    question: str = ""


def _dai_published() -> tuple[PublishedValue, ...]:
    # Diagnosis: "LR, SVM and RF all 1.000 on every metric" (patients vs volunteers).
    diagnosis = [PublishedValue("dai", "diagnosis", MODEL_NAMES[m], METRIC_NAMES[k], 1.0,
                                source="journal")
                 for m in ("LR", "SVM", "RF")
                 for k in ("ACC", "SENS", "SPEC", "F1", "ROC AUC", "PR AUC")]
    outcome = {
        "SVM": {"ACC": 0.935, "SENS": 0.878, "SPEC": 0.964, "F1": 0.890, "ROC AUC": 0.997,
                "PR AUC": 0.994},
        "RF": {"ACC": 0.918, "ROC AUC": 0.989},
        "LR": {"ACC": 0.906, "ROC AUC": 0.971},
    }
    return tuple(diagnosis) + tuple(
        PublishedValue("dai", "outcome", MODEL_NAMES[m], METRIC_NAMES[k], v, source="journal")
        for m, row in outcome.items() for k, v in row.items())


def _glioma_published() -> tuple[PublishedValue, ...]:
    # SVM was the best model for every type; only BACC and ROC AUC were given per type.
    values = {
        "oligodendroglioma": (0.993, 0.990),
        "anaplastic_oligodendroglioma": (0.971, 0.998),
        "anaplastic_astrocytoma": (0.966, 0.999),
        "glioblastoma": (0.940, 0.975),
    }
    return tuple(
        PublishedValue("glioma", "one_vs_rest", "svm", metric, value, target_class=cls,
                       source="journal")
        for cls, (bacc, auc) in values.items()
        for metric, value in (("bacc", bacc), ("roc_auc", auc)))


_PET_PUBLISHED = (
    PublishedValue("pet", "uptake_index", "lasso", "spearman_rho", 0.58, ci_low=0.43,
                   ci_high=0.74, source="journal (300 random 70/30 splits)"),
    PublishedValue("pet", "uptake_index", "lasso", "spearman_rho", 0.73,
                   source="conference slide"),
)

def _grading_published() -> tuple[PublishedValue, ...]:
    # Danilov et al., Stud Health Technol Inform 2022;290:675-678 (707 MRI studies, 17,730
    # slices): 3-D DenseNet per MRI study, 2-D ResNeSt-200e per slice; per-grade precision,
    # recall and F1 as (precision, recall, F1).
    source = "Stud Health Technol Inform 2022"
    overall = {"densenet3d": {"acc": 0.83, "roc_auc": 0.95},
               "resnest2d": {"acc": 0.50, "roc_auc": 0.72}}
    per_grade = {
        "densenet3d": {"I": (0.79, 1.00, 0.88), "II": (0.97, 0.63, 0.76),
                       "III": (0.50, 1.00, 0.67), "IV": (0.95, 0.85, 0.90)},
        "resnest2d": {"I": (0.60, 0.56, 0.58), "II": (0.11, 0.45, 0.17),
                      "III": (0.02, 0.32, 0.04), "IV": (0.85, 0.47, 0.61)},
    }
    return tuple(
        PublishedValue("grading", "who_grade", model, metric, value, source=source)
        for model, row in overall.items() for metric, value in row.items()) + tuple(
        PublishedValue("grading", "who_grade", model, metric, value, target_class=grade,
                       source=source)
        for model, grades in per_grade.items() for grade, values in grades.items()
        for metric, value in zip(("ppv", "sens", "f1"), values))


#: Study name -> Study, in the order reports and the index list them.
STUDIES: dict[str, Study] = {s.name: s for s in (
    # Exploratory: 2-D maps of the feature space coloured by genotype; no metric published.
    Study("nf2", "NF2-associated schwannomatosis: radiogenomics", "01_nf2_radiogenomics",
          synth="neurorad.synth.nf2", published_subjects=53,
          question="Do MRI radiomic features of NF2-associated tumours carry information about "
                   "the patient's NF2 genotype (variant type and exon)?"),
    Study("pet", "Glioblastoma: 11C-methionine PET uptake index", "02_pet_uptake_index",
          synth="neurorad.synth.pet", published_subjects=40,
          headline=HeadlineMetric("uptake_index", "lasso", "spearman_rho"),
          published=_PET_PUBLISHED,
          question="Can radiomic features of the 11C-methionine PET predict a glioblastoma's "
                   "uptake index (tumour-to-normal-brain ratio) as an expert measures it?"),
    Study("dai", "Diffuse axonal injury: diffusion kurtosis MRI", "03_dai_dki",
          synth="neurorad.synth.dai", published_subjects=31 + 12,
          headline=HeadlineMetric("outcome", "svm", "roc_auc"), published=_dai_published(),
          question="Do diffusion-kurtosis radiomic features tell patients with diffuse axonal "
                   "injury from healthy volunteers, and predict an unfavourable outcome?"),
    Study("glioma", "Glioma histological type: digital biopsy", "04_glioma_histology",
          synth="neurorad.synth.glioma", published_subjects=83,
          headline=HeadlineMetric("one_vs_rest", "svm", "roc_auc", "glioblastoma"),
          published=_glioma_published(),
          question="Can MRI radiomics (a digital biopsy) tell the histological type of a "
                   "glioma before surgery?"),
    Study("grading", "Glioma WHO grade: 3-D DenseNet vs 2-D ResNeSt", "05_glioma_grading_dl",
          synth="neurorad.synth.grading", published_subjects=707,
          headline=HeadlineMetric("who_grade", "densenet3d", "roc_auc"),
          published=_grading_published(),
          question="Can a convolutional network tell a glioma's WHO grade (I-IV) from "
                   "pre-operative MRI, and does a 3-D model of the whole study beat a 2-D "
                   "model of single slices?"),
)}


def get_study(name: str) -> Study:
    """The registry entry of ``name``; ``UnknownStudyError`` (a ``ValueError``) names the
    registered studies otherwise."""
    try:
        return STUDIES[name]
    except (KeyError, TypeError):
        raise UnknownStudyError(
            f"unknown study {name!r}; choose one of {', '.join(STUDIES)}") from None


__all__ = ["METRIC_NAMES", "MODEL_NAMES", "STUDIES", "HeadlineMetric", "PublishedValue",
           "Study", "UnknownStudyError", "get_study"]
