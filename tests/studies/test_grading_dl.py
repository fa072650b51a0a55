"""The deep-learning grading study's steps: loading, folds, aggregation, scoring, control."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurorad.modeling.deep import TrainingConfig
from neurorad.modeling.splits import Split
from neurorad.studies import grading_dl as g
from neurorad.studies.common import StudyInputError
from neurorad.synth import make_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    return make_cohort("grading", root / "grading", seed=2, n_subjects=12, workers=1,
                       progress=False)


@pytest.fixture(scope="module")
def data(cohort):
    return g.load_cohort(cohort, n_slices=3, downsample=2)


def test_block_mean_and_slices_by_hand():
    v = np.arange(8, dtype=float).reshape(2, 2, 2)
    assert g.block_mean(v, 2).item() == pytest.approx(3.5)
    odd = np.ones((3, 2, 2))
    odd[2] = 5.0                      # edge-padded: the last block is (5 + 5) / 2
    np.testing.assert_allclose(g.block_mean(odd, 2)[:, 0, 0], [1.0, 5.0])
    mask = np.zeros((10, 4, 4), bool)
    mask[2:9, 1, 1] = True            # tumour on slices 2..8
    assert g.tumour_slices(mask, 3).tolist() == [2, 5, 8]
    assert g.tumour_slices(mask, 20).tolist() == list(range(2, 9))
    assert g.tumour_slices(np.zeros((3, 2, 2), bool), 2).tolist() == []


def test_normalise_removes_scanner_gain():
    rng = np.random.default_rng(0)
    v = rng.uniform(100, 900, (6, 6, 6))
    np.testing.assert_allclose(g.normalise(3.7 * v), g.normalise(v), atol=1e-5)  # float32
    with pytest.raises(ValueError, match="no positive"):
        g.normalise(np.zeros((3, 3, 3)))


def test_load_cohort_shapes_and_patients(data, cohort):
    n = len(data.studies)
    assert data.volumes.shape == (n, 3, 16, 24, 20)        # 32 x 48 x 40 block-averaged by 2
    assert data.slices.shape[1:] == (3, 24, 20)
    assert len(data.slice_study) == len(data.slices) == data.studies["n_slices"].sum()
    assert data.classes == ("I", "II", "III", "IV")
    assert data.studies["patient"].nunique() == 12 < n      # follow-up studies exist
    summary = data.summary()
    assert summary.loc["patients"].sum() == 12 and summary.loc["studies"].sum() == n


def test_load_cohort_reports_every_bad_study(cohort, tmp_path):
    import shutil

    import yaml

    copy = tmp_path / "grading"
    shutil.copytree(cohort.parent, copy)
    doc = yaml.safe_load((copy / "manifest.yaml").read_text(encoding="utf-8"))
    first = doc["subjects"][0]["id"]
    del doc["subjects"][0]["images"]["FLAIR"]
    (copy / "manifest.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(StudyInputError, match=f"subject {first}: missing FLAIR"):
        g.load_cohort(copy / "manifest.yaml")
    with pytest.raises(StudyInputError, match="no target 'histology'"):
        g.load_cohort(cohort, target="histology")


def test_grouped_folds_keep_patients_together_and_leaky_ones_do_not(data):
    folds = g.grouped_folds(data, 2, seed=0)
    patients = data.patients
    for f in folds:
        assert not set(patients[f.train]) & set(patients[f.test])
        # Stratified: every grade in every test fold (2 patients per rare grade, 2 folds).
        assert set(data.studies[data.target].iloc[f.test]) == set(data.classes)
    for f in g.slice_folds(data, folds):
        assert not set(data.slice_study[f.train]) & set(data.slice_study[f.test])
    leaky = g.leaky_slice_folds(data, 2, seed=0)
    shared = [set(data.slice_study[f.train]) & set(data.slice_study[f.test]) for f in leaky]
    assert any(shared)                  # slices of one study on both sides: the leak
    with pytest.raises(StudyInputError, match="at least 5 patients per class"):
        g.grouped_folds(data, 5, seed=0)


def test_permuted_grades_keep_patients_and_counts(data):
    permuted = g.permuted_grades(data, seed=0)
    frame = pd.DataFrame({"patient": data.patients, "grade": permuted})
    assert (frame.groupby("patient")["grade"].nunique() == 1).all()
    original = data.studies.groupby("patient")[data.target].first().astype(str)
    assert sorted(frame.groupby("patient")["grade"].first()) == sorted(original)


def _fake_run(data, proba_of_slice):
    folds = g.slice_folds(data, g.grouped_folds(data, 2, seed=0))
    run = g.ArmRun("resnest2d", "grouped", "true", "slice")
    for f in folds:
        run.folds.append((f, proba_of_slice[f.test], np.full(4, 0.25)))
    return run


def test_slices_average_to_their_study(data):
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(4), len(data.slices))
    run = _fake_run(data, proba)
    study_units = g.unit_folds(run, data, "study", include_null=False)
    slice_units = g.unit_folds(run, data, "slice", include_null=False)
    assert sum(len(u.y) for u in slice_units) == len(data.slices)
    assert sum(len(u.y) for u in study_units) == len(data.studies)
    unit = study_units[0]
    split = run.folds[0][0]
    first_study = np.unique(data.slice_study[split.test])[0]
    expected = proba[data.slice_study == first_study].mean(axis=0)   # by hand
    np.testing.assert_allclose(unit.proba[0], expected)
    assert unit.predicted[0] == data.classes[int(np.argmax(expected))]
    # Every unit carries its patient's code: the bootstrap resamples patients.
    patient_ids = np.unique(data.patients)
    assert patient_ids[unit.patients[0]] == data.patients[first_study]


def test_scores_of_perfect_and_null_predictions(data):
    codes = data.codes()[data.slice_study]
    perfect = np.eye(4)[codes] * 0.9 + 0.025
    result = g.score(g.unit_folds(_fake_run(data, perfect), data, "slice"), data,
                     n_bootstrap=50)
    m = result.metrics[result.metrics["class"].isna()].set_index(["model", "metric"])
    assert m.loc[("resnest2d", "acc"), "estimate"] == pytest.approx(1.0)
    assert m.loc[("resnest2d", "roc_auc"), "estimate"] == pytest.approx(1.0)
    assert m.loc[("null", "roc_auc"), "estimate"] == pytest.approx(0.5)
    per_class = result.metrics[result.metrics["class"].notna()]
    assert set(per_class.metric) >= {"ppv", "sens", "f1"}
    assert np.allclose(per_class[per_class.model == "resnest2d"].query(
        "metric in ['ppv', 'sens', 'f1']").estimate, 1.0)
    table = g.confusion(result, "resnest2d", data.classes)
    assert np.trace(table.to_numpy()) == table.to_numpy().sum() == len(data.slices)
    calibration, ece = g.confidence_calibration(result, "resnest2d")
    assert ece == pytest.approx(1.0 - 0.925)   # always right, at confidence 0.9 + 0.025


def test_one_training_run_end_to_end(data):
    design = g.StudyDesign("small", TrainingConfig(epochs=1, batch_size=8),
                           TrainingConfig(epochs=1, batch_size=16), n_folds=2,
                           n_permutations=1)
    out = g.run_grading(data, design, seed=0, device="cpu", workers=1, n_bootstrap=50,
                        progress=False)
    keys = set(out.results)
    assert ("densenet3d", "study", "grouped", "true") in keys
    assert ("resnest2d", "slice", "leaky", "true") in keys
    assert ("resnest2d", "study", "grouped", "permuted") in keys
    assert len(out.training) == 2 * 5                       # 5 runs x 2 folds
    head = g.headline(out.metrics)
    assert head.study == "grading" and head.published == 0.95 and head.chance == 0.5
    assert head.ci_low <= head.estimate <= head.ci_high
    assert head.n_permutations == 1 and head.permutation_p in (0.5, 1.0)
    comparison = g.published_comparison(out.metrics)
    assert len(comparison) == 4 + 24 + 2 + 12               # 2-D numbers at two units
    assert (comparison["ours_grouped"] != "not run").all()
    assert set(g.per_grade(out.metrics, "densenet3d", "study").columns) == {
        "precision", "recall", "F1"}
