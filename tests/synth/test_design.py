"""Full-size designs (manifest only, no images) and the --null label independence."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import yaml

from neurorad.synth import make_cohort
from neurorad.synth.cohort import study_module
from neurorad.synth.common import scaled_counts

PUBLISHED_SIZES = {"nf2": 53, "pet": 40, "dai": 43, "glioma": 83}
DKI = {"AK", "AWF", "AxEAD", "FA", "MD", "KA", "MK", "RadEAD", "RK", "TORT"}


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    root = tmp_path_factory.mktemp("designs")
    return {s: yaml.safe_load(make_cohort(s, root / s, write_images=False).read_text(encoding="utf-8"))
            for s in PUBLISHED_SIZES}


@pytest.mark.parametrize("study", list(PUBLISHED_SIZES))
def test_full_design_subject_count(designs, study):
    subjects = designs[study]["subjects"]
    assert len(subjects) == PUBLISHED_SIZES[study]
    assert len({s["id"] for s in subjects}) == len(subjects)


def test_nf2_design(designs):
    subjects = designs["nf2"]["subjects"]
    assert Counter(s["targets"]["variant_origin"] for s in subjects) == {"germline": 34,
                                                                         "mosaic": 19}
    for s in subjects:
        assert set(s["images"]) == {"T1", "T1c", "T2", "FLAIR"}
        k = len(s["rois"])
        assert 1 <= k <= 3 and s["rois"] == {f"lesion_{i}": i for i in range(1, k + 1)}
    assert {s["group"] for s in subjects}.__len__() == 53     # one subject per patient


def test_dai_design(designs):
    subjects = designs["dai"]["subjects"]
    assert Counter(s["targets"]["diagnosis"] for s in subjects) == {"patient": 31,
                                                                    "volunteer": 12}
    for s in subjects:
        assert set(s["images"]) == DKI
        assert len(s["rois"]) == 15 and sorted(s["rois"].values()) == list(range(1, 16))
        outcome = s["targets"]["outcome"]
        assert (outcome is None) == (s["targets"]["diagnosis"] == "volunteer")
    outcomes = Counter(s["targets"]["outcome"] for s in subjects if s["targets"]["outcome"])
    assert outcomes == {"unfavourable": 12, "favourable": 19}    # 40 % of 31, rounded


def test_glioma_design(designs):
    subjects = designs["glioma"]["subjects"]
    assert Counter(s["targets"]["histology"] for s in subjects) == {
        "oligodendroglioma": 15, "anaplastic_oligodendroglioma": 14,
        "anaplastic_astrocytoma": 16, "glioblastoma": 38}
    assert all(2 <= len(s["rois"]) <= 4 for s in subjects)


def test_pet_design_planned_uptake_distribution():
    plan = study_module("pet").plan_cohort(0, False, None)
    tbr = np.array([s.params["tbr_max_planned"] for s in plan.subjects])
    assert len(tbr) == 40
    assert tbr.min() >= 1.9 and tbr.max() <= 5.0
    # Published: median 3.26, IQR 2.74-4.17, range 1.94-5.03; a sample of 40 scatters.
    assert 2.9 <= np.median(tbr) <= 3.7
    q1, q3 = np.percentile(tbr, [25, 75])
    assert 2.4 <= q1 <= 3.1 and 3.6 <= q3 <= 4.5


def test_scaled_counts_keep_proportions_and_minimum():
    assert scaled_counts({"a": 38, "b": 15}, None) == {"a": 38, "b": 15}
    counts = scaled_counts({"a": 38, "b": 15, "c": 14, "d": 16}, 10)
    assert sum(counts.values()) == 10 and min(counts.values()) >= 2 and counts["a"] == 4
    with pytest.raises(ValueError, match="too small"):
        scaled_counts({"a": 3, "b": 3}, 3)


def _phi(x, y) -> float:
    return float(np.corrcoef(np.asarray(x, float), np.asarray(y, float))[0, 1])


@pytest.mark.parametrize("null, low, high", [(False, 0.99, 1.01), (True, -0.35, 0.35)])
def test_null_breaks_label_image_link(null, low, high):
    """Association of the diagnosis label with the latent injury: 1 planted, ~0 under --null.

    Averaged over 5 seeds; for 43 subjects one permutation's correlation has SD ~0.15.
    """
    module = study_module("dai")
    values = []
    for seed in range(5):
        plan = module.plan_cohort(seed, null, None)
        module.finalise(plan, None, seed)          # applies the --null permutation
        label = [s.targets["diagnosis"] == "patient" for s in plan.subjects]
        injured = [s.params["severity"] > 0 for s in plan.subjects]
        values.append(_phi(label, injured))
    assert low <= np.mean(values) <= high


def test_null_truth_declares_no_effect(tmp_path):
    for study in PUBLISHED_SIZES:
        manifest = make_cohort(study, tmp_path / study, null=True, write_images=False)
        truth = yaml.safe_load((manifest.parent / "truth.json").read_text(encoding="utf-8"))
        assert truth["null"] is True
        assert not any(t["effect"] for t in truth["targets"].values())
        planted = make_cohort(study, tmp_path / f"{study}-planted", write_images=False)
        truth = yaml.safe_load((planted.parent / "truth.json").read_text(encoding="utf-8"))
        assert any(t["effect"] for t in truth["targets"].values())
        assert any(not t["effect"] for t in truth["targets"].values())   # a null target


def test_demo_data_too_few_subjects_is_one_line_and_leaves_no_folder(tmp_path, capsys):
    """Issue 14, finding 11: no traceback, no empty folder, the fix named."""
    from neurorad.cli import main

    assert main(["demo-data", "glioma", "--n-subjects", "6", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "Traceback" not in err
    assert "n_subjects=6 is too small" in err and "--n-subjects 8 or more" in err
    assert not (tmp_path / "d" / "glioma").exists()
