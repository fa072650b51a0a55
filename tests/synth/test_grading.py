"""The glioma WHO-grading cohort (``neurorad demo-data grading``): design, --null, images."""
from __future__ import annotations

import json
from collections import Counter, defaultdict

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

from neurorad.synth import make_cohort
from neurorad.synth.grading import GRID, LABELS


def _manifest(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _patients(subjects):
    by_patient = defaultdict(list)
    for s in subjects:
        by_patient[s["group"]].append(s)
    return by_patient


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading-design")
    return _manifest(make_cohort("grading", root / "grading", write_images=False))


@pytest.fixture(scope="module")
def null_design(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading-null")
    path = make_cohort("grading", root / "grading", null=True, write_images=False)
    manifest = _manifest(path)
    manifest["truth"] = json.loads((path.parent / "truth.json").read_text(encoding="utf-8"))
    return manifest


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading-images")
    path = make_cohort("grading", root / "grading", seed=3, n_subjects=12, workers=1,
                       progress=False)
    return path, _manifest(path)


def test_default_design_grade_mix_and_studies_per_patient(design):
    subjects = design["subjects"]
    patients = _patients(subjects)
    grades = Counter(p[0]["targets"]["grade"] for p in patients.values())
    assert grades == {"I": 22, "II": 12, "III": 12, "IV": 54}
    # II and III are the rare grades, IV the majority.
    assert grades["II"] < grades["I"] < grades["IV"] and grades["III"] < grades["I"]
    sizes = Counter(len(p) for p in patients.values())
    assert set(sizes) <= {1, 2, 3} and sizes[1] > sizes.get(2, 0) + sizes.get(3, 0) > 10
    assert len(subjects) == sum(k * n for k, n in sizes.items())
    assert len({s["id"] for s in subjects}) == len(subjects)
    for studies in patients.values():
        assert len({s["targets"]["grade"] for s in studies}) == 1
        assert len({s["targets"]["random_label"] for s in studies}) == 1
        assert all(set(s["images"]) == {"T1", "T1c", "FLAIR"} for s in studies)
        assert all(s["rois"] == {"tumour": 1} for s in studies)


def test_null_design_permutes_grades_among_patients(design, null_design):
    real, null = _patients(design["subjects"]), _patients(null_design["subjects"])
    assert set(real) == set(null)
    grade = {p: s[0]["targets"]["grade"] for p, s in real.items()}
    null_grade = {}
    for p, studies in null.items():
        labels = {s["targets"]["grade"] for s in studies}
        assert len(labels) == 1, p              # a patient keeps one grade
        null_grade[p] = labels.pop()
    assert Counter(grade.values()) == Counter(null_grade.values())
    changed = sum(grade[p] != null_grade[p] for p in grade)
    assert changed > len(grade) // 3            # a permutation, not the identity
    assert null_design["truth"]["null"] is True
    assert not any(t["effect"] for t in null_design["truth"]["targets"].values())


def test_images_grid_and_tumour_label(small):
    path, manifest = small
    root = path.parent
    for s in manifest["subjects"]:
        for name in ("T1", "T1c", "FLAIR"):
            image = sitk.ReadImage(str(root / s["images"][name]))
            assert image.GetSize()[::-1] == GRID.shape
            assert image.GetSpacing() == GRID.spacing
        labels = sitk.GetArrayFromImage(sitk.ReadImage(str(root / s["mask"])))
        assert (labels == LABELS["tumour"]).sum() > 10


def _tumour_stats(root, subject):
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(root / subject["mask"])))
    images = {n: sitk.GetArrayFromImage(sitk.ReadImage(str(root / subject["images"][n])))
              .astype(float) for n in ("T1", "T1c")}
    tumour = labels == LABELS["tumour"]
    # Enhancement measured independently of the generator: T1c/T1 in the tumour over the
    # same ratio in the whole head (voxels above 20 % of the T1 maximum, outside tumour).
    head = (images["T1"] > 0.2 * images["T1"].max()) & (labels == 0)
    ratio = (images["T1c"][tumour].mean() / images["T1"][tumour].mean()) / (
        images["T1c"][head].mean() / images["T1"][head].mean())
    centroid = np.argwhere(tumour).mean(axis=0)
    return {"voxels": int(tumour.sum()), "enhancement": ratio, "centroid": centroid}


def test_planted_grade_effects_in_written_images(small):
    path, manifest = small
    root = path.parent
    stats = defaultdict(list)
    for s in manifest["subjects"]:
        stats[s["targets"]["grade"]].append(_tumour_stats(root, s))
    mean = {g: {k: np.mean([v[k] for v in vals]) for k in ("voxels", "enhancement")}
            for g, vals in stats.items()}
    # Planted: grade IV tumours are larger and enhance; grade II ones barely enhance.
    assert mean["IV"]["voxels"] > 1.5 * mean["II"]["voxels"]
    assert mean["IV"]["enhancement"] > mean["II"]["enhancement"] + 0.1
    assert abs(mean["II"]["enhancement"] - 1.0) < 0.1


def test_follow_up_studies_show_the_same_tumour(small):
    path, manifest = small
    root = path.parent
    repeated = [p for p in _patients(manifest["subjects"]).values() if len(p) > 1]
    assert repeated, "the small cohort should contain a patient with follow-up studies"
    for studies in repeated:
        centres = [_tumour_stats(root, s)["centroid"] for s in studies]
        # Same tumour, shifted by at most one voxel per axis between sessions (+ growth).
        assert np.max(np.abs(centres[0] - centres[1])) < 2.5


def test_same_seed_same_bytes(tmp_path):
    a = make_cohort("grading", tmp_path / "a", seed=5, n_subjects=8, workers=1, progress=False)
    b = make_cohort("grading", tmp_path / "b", seed=5, n_subjects=8, workers=1, progress=False)
    first = _manifest(a)["subjects"][0]
    for name in ("T1c", "mask"):
        rel = first["images"][name] if name != "mask" else first["mask"]
        assert (a.parent / rel).read_bytes() == (b.parent / rel).read_bytes()
    assert (a.parent / "truth.json").read_bytes() == (b.parent / "truth.json").read_bytes()
