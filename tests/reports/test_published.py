"""The published numbers stored as data must be the ones the studies reported
(checked against the text of shared/studies.md, the source they were typed from)."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from neurorad.studies import STUDIES
from neurorad.studies.published import headline_published, published_table, published_value

STUDIES_MD = Path(__file__).resolve().parents[3] / "shared" / "studies.md"


@pytest.fixture(scope="module")
def studies_text() -> str:
    if not STUDIES_MD.is_file():
        pytest.skip(f"{STUDIES_MD} not available (shared reference data)")
    return STUDIES_MD.read_text(encoding="utf-8")


def test_glioma_values_appear_as_percentages_in_source(studies_text):
    table = published_table("glioma")
    assert len(table) == 8  # 4 types x (BACC, ROC AUC)
    published = " ".join(studies_text.split("Published (SVM):", 1)[1][:400].split())
    for cls in table["class"].unique():
        rows = table[table["class"] == cls].set_index("metric").value
        # "...; <type> BACC 99.3 %, AUC 99.8 %" (the first type writes "ROC AUC").
        pattern = (rf"(?:^|[;:]\s)\s*{cls.replace('_', ' ')} BACC "
                   rf"{rows['bacc'] * 100:.1f} %, (?:ROC )?AUC "
                   rf"{rows['roc_auc'] * 100:.1f} %")
        assert re.search(pattern, published), (cls, published)


def test_dai_outcome_values_match_source(studies_text):
    line = studies_text.split("(b) SVM", 1)[1][:200]
    for metric, abbrev in [("acc", "ACC"), ("sens", "SENS"),
                           ("spec", "SPEC"), ("f1", "F1"), ("roc_auc", "ROC AUC"),
                           ("pr_auc", "PR AUC")]:
        value = published_value("dai", "outcome", "svm", metric).value
        assert f"{abbrev} {value:.3f}" in line
    assert "RF ACC 0.918" in studies_text and published_value(
        "dai", "outcome", "rf", "acc").value == 0.918
    assert "LR ACC 0.906, ROC AUC 0.971" in studies_text
    assert published_value("dai", "outcome", "lasso_lr", "roc_auc").value == 0.971


def test_dai_diagnosis_is_perfect_for_three_models(studies_text):
    assert "all 1.000 on every metric" in studies_text
    table = published_table("dai")
    diag = table[table.task == "diagnosis"]
    assert set(diag.model) == {"lasso_lr", "svm", "rf"}
    assert (diag.value == 1.0).all()


def test_pet_rho_with_interval(studies_text):
    value = headline_published("pet")
    assert f"{value.value:.2f} [{value.ci_low:.2f}; {value.ci_high:.2f}]" in studies_text
    assert value.ci_low < value.value < value.ci_high


def test_nf2_has_no_metric_and_headline_lookup_is_consistent():
    assert published_table("nf2").empty
    assert headline_published("nf2") is None
    for name, study in STUDIES.items():
        if study.headline is not None:
            assert headline_published(name) is not None, name
            assert study.published, name


def test_cohort_sizes_match_source(studies_text):
    assert "53 patients" in studies_text and STUDIES["nf2"].published_subjects == 53
    assert "40 patients" in studies_text and STUDIES["pet"].published_subjects == 40
    assert "31 patients" in studies_text and "12 healthy" in studies_text
    assert STUDIES["dai"].published_subjects == 43
    assert "83 patients" in studies_text and STUDIES["glioma"].published_subjects == 83


def test_unknown_study_is_an_error():
    with pytest.raises(ValueError, match="unknown study 'gbm'"):
        published_table("gbm")


def test_table_has_nan_interval_when_none_published():
    row = published_table("glioma").iloc[0]
    assert math.isnan(row.ci_low) and math.isnan(row.ci_high)


def test_grading_values_match_source(studies_text):
    # "... a 2-D slice model (ResNeSt-200e) reached ACC 50 % / AUC 0.72, a 3-D whole-study
    # model (DenseNet) ACC 83 % / AUC 0.95."
    text = " ".join(studies_text.split("Deep-learning WHO grading", 1)[1][:300].split())
    for model, words in (("resnest2d", "2-D slice model"), ("densenet3d", "3-D whole-study")):
        acc = published_value("grading", "who_grade", model, "acc").value
        auc = published_value("grading", "who_grade", model, "roc_auc").value
        assert re.search(rf"{words}[^A]*ACC {acc * 100:.0f} % / AUC {auc:.2f}", text), text
    assert "707 MRI" in text and STUDIES["grading"].published_subjects == 707
    # Per grade: precision, recall and F1 of grades I-IV for both networks (issue 17).
    per_grade = published_table("grading").query("`class` != ''")
    assert len(per_grade) == 2 * 4 * 3
    f1 = per_grade[per_grade.metric == "f1"].set_index(["model", "class"]).value
    precision = per_grade[per_grade.metric == "ppv"].set_index(["model", "class"]).value
    recall = per_grade[per_grade.metric == "sens"].set_index(["model", "class"]).value
    # F1 is the harmonic mean of the published precision and recall (to their rounding).
    harmonic = 2 * precision * recall / (precision + recall)
    assert (harmonic - f1).abs().max() < 0.02
