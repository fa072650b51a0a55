"""The methods paragraph states the parameters it was given."""
from __future__ import annotations

import pytest

from neurorad.reports.methods import (ValidationDesign, describe_discretisation,
                                      describe_preprocessing, methods_paragraph)

SETTINGS = {
    "resample": None,
    "resegment": {"range": [None, None], "outliers_sd": None},
    "discretisation": [{"method": "fbn", "n_bins": 8}, {"method": "fbn", "n_bins": 32},
                       {"method": "ep", "n_bins": 16}],
    "families": ["morphology", "glcm"],
    "aggregations": ["3D"],
}


def test_discretisation_lists_levels_per_method():
    assert describe_discretisation(SETTINGS["discretisation"]) == (
        "fixed bin number (FBN) with 8 and 32 grey levels; "
        "equal-probability (quantile) with 16 grey levels")


def test_preprocessing_with_resampling_and_resegmentation():
    text = describe_preprocessing({
        "resample": {"spacing_xyz": [1.0, 1.0, 2.5], "in_plane": False,
                     "interpolator": "cubic", "mask_interpolator": "linear",
                     "mask_threshold": 0.5},
        "resegment": {"range": [-1000, 400], "outliers_sd": 3.0},
        "discretisation": [{"method": "fbs", "bin_width": 25}],
    })
    assert "resampled to 1 x 1 x 2.5 mm (3-D cubic interpolation" in text
    assert "re-segmented to [-1000, 400]" in text and "mean +/- 3 SD" in text
    assert "fixed bin size (FBS) with 25 units bin width" in text


def test_paragraph_states_the_run_parameters():
    text = methods_paragraph(
        study_sentence="Forty patients were studied.", n_subjects=40, n_groups=40, n_rois=40,
        images=["PET"], settings=SETTINGS, settings_id="0123abcd",
        validation=ValidationDesign(scheme="random_splits", repeats=300, test_fraction=0.3,
                                    models=("null", "lasso"), permutations=20),
        packages={"neurorad": "9.9", "scikit-learn": "1.2.3", "statsmodels": "0.1"},
        seed=7, fdr_alpha=0.05)
    assert text.startswith("Forty patients were studied.")
    assert "neurorad 9.9" in text and "settings id 0123abcd" in text
    assert "40 ROIs of 40 subjects from 40 patients" in text
    assert "300 random train/test splits by patient (70/30)" in text
    assert "a model without predictors (null model) and linear regression with LASSO" in text
    assert "20 label permutations" in text and "FDR 0.05" in text and "seed 7" in text
    assert "morphology and glcm" in text and "scikit-learn 1.2.3" in text


def test_permutation_sentence_says_whether_partitions_were_shared():
    def paragraph(splits):
        return methods_paragraph(
            study_sentence="S.", n_subjects=10, n_groups=10, n_rois=10, images=["T1"],
            settings=SETTINGS, settings_id="x", packages={}, seed=0,
            validation=ValidationDesign(scheme="grouped_cv", models=("svm",), permutations=99,
                                        permutation_splits=splits))
    shared, resplit = paragraph("shared"), paragraph("resplit")
    assert "within the same cross-validation partitions" in shared
    assert "whole procedure" not in shared
    assert "whole procedure, partitions included" in resplit
    assert "same cross-validation partitions" not in resplit


def test_grouped_cv_wording_and_no_optional_sentences():
    text = methods_paragraph(
        study_sentence="S.", n_subjects=43, n_groups=43, n_rois=645, images=["FA", "MD"],
        settings=SETTINGS, settings_id="x",
        validation=ValidationDesign(scheme="grouped_cv", outer_folds=5, repeats=3,
                                    models=("svm",)),
        packages={}, seed=0)
    assert "3 repeat(s) of 5-fold cross-validation with folds grouped by patient" in text
    assert "permutation" not in text and "Benjamini" not in text


def test_unknown_scheme_is_an_error():
    with pytest.raises(ValueError, match="unknown validation scheme 'loo'"):
        methods_paragraph(study_sentence="", n_subjects=1, n_groups=1, n_rois=1, images=[],
                          settings=SETTINGS, settings_id="", packages={}, seed=0,
                          validation=ValidationDesign(scheme="loo"))


def test_paragraph_names_the_filters_and_their_parameters():
    settings = {**SETTINGS, "families": ["morphology", "statistics", "glcm"], "filters": {
        "keep_original": True,
        "specs": [{"filter": "log", "dimensions": "3d", "boundary": "mirror",
                   "sigma_mm": 1.5, "cutoff_sigmas": 4.0},
                  {"filter": "wavelet", "dimensions": "3d", "boundary": "periodic",
                   "kernel": "db3", "wavelet_response": "LLH", "decomposition_level": 1,
                   "rotation_invariant": True, "pooling": "average"}]}}
    text = methods_paragraph(
        study_sentence="S.", n_subjects=4, n_groups=4, n_rois=4, images=["T1"],
        settings=settings, settings_id="x",
        validation=ValidationDesign(scheme="grouped_cv", models=("svm",)),
        packages={}, seed=1)
    assert ("Laplacian of Gaussian (LoG) (3-D; sigma 1.5 mm, cut-off 4 sigma; mirror "
            "boundary)") in text
    assert ("separable (undecimated) wavelet (3-D; kernel db3, response LLH, level 1, "
            "rotation invariant (average pooling); periodic boundary)") in text
    assert "2 filter response map(s)" in text
    assert "Families on response maps: statistics and glcm." in text
    assert "re-segmented on the unfiltered intensities" in text
    # Without filters there is no filter sentence.
    plain = methods_paragraph(
        study_sentence="S.", n_subjects=4, n_groups=4, n_rois=4, images=["T1"],
        settings=SETTINGS, settings_id="x",
        validation=ValidationDesign(scheme="grouped_cv", models=("svm",)),
        packages={}, seed=1)
    assert "response map" not in plain
