"""Batch extraction with filters: response-map features in the table, the cache key follows
the filter settings, provenance records them."""
from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

import neurorad
from neurorad.batch import extract_manifest

from batch_helpers import make_cohort

LOG = {"filter": "log", "dimensions": "3d", "boundary": "mirror", "sigma_mm": 1.0,
       "cutoff_sigmas": 4.0}


def _settings(sigma):
    return neurorad.load_settings({
        "name": "filters-test", "resample": None, "families": ["statistics", "histogram"],
        "discretisation": {"method": "fbn", "n_bins": 8}, "device": "cpu",
        "filters": {"specs": [{**LOG, "sigma_mm": sigma}]}})


def _run(cohort, settings, out, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                                progress=False, device="cpu", **kwargs)


def test_a_different_filter_recomputes_and_the_same_one_is_cached(tmp_path):
    cohort = make_cohort(tmp_path / "data", n_subjects=2)
    out = tmp_path / "out"
    first = _run(cohort, _settings(1.0), out)
    assert first.n_failed == 0 and first.n_computed == first.n_cases > 0
    again = _run(cohort, _settings(1.0), out)
    assert (again.n_cached, again.n_computed) == (first.n_cases, 0)
    other = _run(cohort, _settings(2.0), out)
    assert (other.n_cached, other.n_computed) == (0, first.n_cases)
    feats = set(other.features["feature"])
    assert {"stat_mean", "stat_mean__log_s2", "ih_mean__log_s2"} <= feats
    assert not any(f.endswith("__log_s1") for f in feats)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["settings"]["filters"]["specs"] == [{**LOG, "sigma_mm": 2.0}]
    assert prov["settings_id"] == _settings(2.0).settings_id != _settings(1.0).settings_id


def test_grouped_tasks_equal_one_case_per_task_with_filters(tmp_path):
    """Groups go through extract_features_batch, single cases through extract_features:
    the response-map features agree exactly."""
    cohort = make_cohort(tmp_path / "data", n_subjects=2)
    settings = _settings(1.0)
    single = _run(cohort, settings, tmp_path / "single", cases_per_task=1)
    grouped = _run(cohort, settings, tmp_path / "grouped", cases_per_task=5)
    key = ["subject", "roi", "image", "feature"]
    a = single.features.set_index(key)["value"]
    b = grouped.features.set_index(key)["value"].reindex(a.index)
    assert any(t.endswith("__log_s1") for t in a.index.get_level_values("feature"))
    same = (a == b) | (a.isna() & b.isna())
    assert same.all(), a[~same].head()
