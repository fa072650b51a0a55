"""extract_manifest on a real local `distributed` cluster (2 worker processes, localhost).

Each test starts its own small cluster (a few seconds) and carries a timeout.
"""
from __future__ import annotations

import functools
import os

import cloudpickle
import dask
import pandas as pd
import pytest

import neurorad
from neurorad.batch import extract_manifest

import batch_helpers
from batch_helpers import (always_crash_extractor, crash_once_extractor, expected_stats,
                           make_cohort, stats_and_thread_probe_extractor)

# Worker processes must be able to unpickle the test extractors whatever their sys.path.
cloudpickle.register_pickle_by_value(batch_helpers)


@pytest.fixture
def cohort(tmp_path):
    return make_cohort(tmp_path / "data", n_subjects=2)


@pytest.mark.timeout(120)
def test_local_cluster_matches_synchronous_and_pins_threads(cohort, settings, tmp_path):
    res = extract_manifest(cohort.manifest, settings, tmp_path / "out", workers=2,
                           progress=False, extractor=stats_and_thread_probe_extractor, device="cpu")
    assert (res.n_cases, res.n_failed) == (8, 0)
    assert res.provenance["scheduler"] == "local"
    values = res.features.pivot_table(index=["subject", "roi", "image"], columns="feature", values="value")
    for (subject, roi, image), row in values.iterrows():
        for feature, want in expected_stats(cohort, subject, roi, image).items():
            assert row[feature] == pytest.approx(want, rel=1e-12)
    assert (values["sitk_threads"] == 1).all()
    assert (values["omp_env"] == 1).all()
    assert (values["max_blas_threads"] == 1).all()
    assert os.getpid() not in set(values["pid"])  # ran in worker processes, not here


@pytest.mark.timeout(180)
def test_worker_killed_mid_task_does_not_lose_the_batch(cohort, settings, tmp_path):
    marker = tmp_path / "crashed-once"
    extractor = functools.partial(crash_once_extractor, marker=str(marker))
    res = extract_manifest(cohort.manifest, settings, tmp_path / "out", workers=2,
                           progress=False, extractor=extractor, device="cpu")
    assert marker.exists()                 # one worker really died with os._exit
    assert (res.n_cases, res.n_computed, res.n_failed) == (8, 8, 0)
    assert res.features.groupby(["subject", "roi", "image"]).ngroups == 8


@pytest.mark.timeout(180)
def test_a_case_that_always_kills_its_worker_becomes_a_failure_on_an_existing_cluster(
        cohort, settings, tmp_path):
    from distributed import LocalCluster

    # An existing cluster reached by its address (the --scheduler ADDRESS path). Settings are
    # read when its scheduler starts: no retries keeps the test short; saturation 1.0 keeps
    # innocent tasks off a worker that is about to die.
    config = {"distributed.scheduler.allowed-failures": 0,
              "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config), LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                               dashboard_address=None) as cluster:
        res = extract_manifest(cohort.manifest, settings, tmp_path / "out",
                               scheduler=cluster.scheduler_address, progress=False,
                               extractor=always_crash_extractor, device="cpu")
    assert res.provenance["scheduler"] == "distributed"
    assert cluster.scheduler_address not in (tmp_path / "out" / "provenance.json").read_text(encoding="utf-8")
    fails = pd.read_parquet(tmp_path / "out" / "failures.parquet")
    assert set(fails["roi"]) == {"lesion_2"} and len(fails) == 4
    assert set(fails["error_type"]) == {"KilledWorker"}
    assert res.n_computed == 4
    assert set(res.features["roi"]) == {"lesion_1"}


@pytest.mark.timeout(120)
def test_workers_store_their_cases_so_the_driver_writes_no_cache_entry(cohort, settings, tmp_path,
                                                                      monkeypatch):
    from neurorad.batch import cache as cache_module

    driver_stores = []
    real_store = cache_module.CaseCache.store
    monkeypatch.setattr(cache_module.CaseCache, "store",
                        lambda self, key, features: driver_stores.append(key) or real_store(self, key, features))
    res = extract_manifest(cohort.manifest, settings, tmp_path / "out", workers=2,
                           progress=False, extractor=stats_and_thread_probe_extractor, device="cpu")
    assert (res.n_cases, res.n_failed) == (8, 0)
    assert driver_stores == []        # the patch lives in this (driver) process only
    entries = sorted((tmp_path / "out" / "cache").glob("*.parquet"))
    assert len(entries) == 8
    # what the workers stored is what the table holds
    rerun = extract_manifest(cohort.manifest, settings, tmp_path / "out", scheduler="synchronous",
                             progress=False, extractor=stats_and_thread_probe_extractor, device="cpu")
    assert (rerun.n_cached, rerun.n_computed) == (8, 0)
    key = ["subject", "roi", "image", "feature"]
    pd.testing.assert_frame_equal(rerun.features.sort_values(key).reset_index(drop=True),
                                  res.features.sort_values(key).reset_index(drop=True))
