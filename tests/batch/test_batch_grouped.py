"""extract_manifest with several cases per task (``cases_per_task``): the features of a group
extracted together equal those of one case per task; failures stay per case."""
from __future__ import annotations

import math
import warnings

import cloudpickle
import dask
import pandas as pd
import pytest

from neurorad.batch import extract_manifest
from neurorad.batch import runner as runner_module

import neurorad

import batch_helpers
from batch_helpers import (always_crash_extractor, expected_stats, failing_extractor,
                           make_cohort, roi_stats_extractor)

# Worker processes must be able to unpickle the test extractors whatever their sys.path.
cloudpickle.register_pickle_by_value(batch_helpers)


# Real extraction on the cohort's noise images: two discretisations, every aggregation.
REAL = neurorad.load_settings({
    "name": "grouped-test", "resample": None, "families": "all",
    "discretisation": [{"method": "fbn", "n_bins": 8}, {"method": "ep", "n_bins": 4}],
    "aggregations": ["2D", "2_5D", "3D"], "device": "cpu"})


@pytest.fixture
def cohort(tmp_path):
    return make_cohort(tmp_path / "data", n_subjects=3)


def _values(features: pd.DataFrame) -> dict:
    return {tuple(r[:5]): r[5] for r in features[["subject", "roi", "image", "settings_id",
                                                  "feature", "value"]].itertuples(index=False)}


def _run(cohort, settings, out, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # undefined features on tiny ROIs
        return extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                                progress=False, device="cpu", **kwargs)


def test_grouped_real_extraction_equals_one_case_per_task(cohort, tmp_path):
    """12 cases in groups of 5 (5 + 5 + 2) through extract_features_batch, against one
    extract_features call per case."""
    single = _run(cohort, REAL, tmp_path / "single", cases_per_task=1)
    grouped = _run(cohort, REAL, tmp_path / "grouped", cases_per_task=5)
    assert (grouped.n_cases, grouped.n_computed, grouped.n_failed) == (12, 12, 0)
    a, b = _values(single.features), _values(grouped.features)
    assert a.keys() == b.keys() and len(a) > 12 * 100
    different = [k for k in a if not (a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])))]
    assert not different, different[:5]


def test_a_failing_group_is_redone_case_by_case(cohort, tmp_path, monkeypatch):
    """When the group's batch call raises, every case is extracted alone: all succeed here."""
    calls = []

    def broken_batch(readable):
        calls.append(len(readable))
        raise RuntimeError("batch failure")

    monkeypatch.setattr(runner_module, "_extract_group", broken_batch)
    res = _run(cohort, REAL, tmp_path / "out", cases_per_task=4)
    assert calls == [4, 4, 4]
    assert (res.n_computed, res.n_failed) == (12, 0)
    reference = _run(cohort, REAL, tmp_path / "ref", cases_per_task=1)
    assert _values(res.features) == pytest.approx(_values(reference.features), nan_ok=True)


def test_custom_extractor_failures_stay_per_case_in_groups(cohort, settings, tmp_path):
    """failing_extractor raises for label 2: those 6 cases fail, the 6 others are right."""
    res = _run(cohort, settings, tmp_path / "out", cases_per_task=5,
               extractor=failing_extractor)
    assert (res.n_cases, res.n_computed, res.n_failed) == (12, 6, 6)
    assert set(res.failures["roi"]) == {"lesion_2"}
    for (subject, roi, image), rows in res.features.groupby(["subject", "roi", "image"]):
        got = dict(zip(rows["feature"], rows["value"]))
        assert got == pytest.approx(expected_stats(cohort, subject, roi, image), rel=1e-12)


def test_unreadable_case_fails_alone_within_a_group(cohort, tmp_path):
    """A corrupt image (hashed fine, unreadable in the task) fails its two cases only."""
    (cohort.root / "s02" / "T1.nii.gz").write_bytes(b"not an image")
    res = _run(cohort, REAL, tmp_path / "out", cases_per_task=6)
    assert res.n_failed == 2  # s02's two ROIs on T1
    assert all("s02/T1.nii.gz" in m for m in res.failures["error_message"])
    assert set(zip(res.failures["subject"], res.failures["image"])) == {("s02", "T1")}
    assert res.n_computed == 10


def test_cases_per_task_must_be_a_positive_integer(cohort, settings, tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="cases_per_task"):
            _run(cohort, settings, tmp_path / "out", cases_per_task=bad)


@pytest.mark.timeout(120)
def test_groups_on_a_local_cluster(cohort, settings, tmp_path):
    res = extract_manifest(cohort.manifest, settings, tmp_path / "out", workers=1,
                           progress=False, extractor=roi_stats_extractor, device="cpu",
                           cases_per_task=5)
    assert (res.n_computed, res.n_failed) == (12, 0)
    for (subject, roi, image), rows in res.features.groupby(["subject", "roi", "image"]):
        got = dict(zip(rows["feature"], rows["value"]))
        assert got == pytest.approx(expected_stats(cohort, subject, roi, image), rel=1e-12)


@pytest.mark.timeout(180)
def test_a_group_whose_worker_dies_is_retried_case_by_case(settings, tmp_path):
    """One group of 4 cases holds the 2 label-2 cases, whose extractor kills the worker: the
    group fails (KilledWorker, no retries on this cluster), its cases are resubmitted alone,
    and only the 2 label-2 cases end up failed."""
    from distributed import LocalCluster

    cohort = make_cohort(tmp_path / "data", n_subjects=1)
    config = {"distributed.scheduler.allowed-failures": 0,
              "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config), LocalCluster(n_workers=2, threads_per_worker=1,
                                               host="127.0.0.1", dashboard_address=None) as cluster:
        res = extract_manifest(cohort.manifest, settings, tmp_path / "out",
                               scheduler=cluster.scheduler_address, progress=False,
                               extractor=always_crash_extractor, device="cpu", cases_per_task=4)
    assert (res.n_computed, res.n_failed) == (2, 2)
    assert set(res.failures["roi"]) == {"lesion_2"}
    assert set(res.failures["error_type"]) == {"KilledWorker"}
    assert set(res.features["roi"]) == {"lesion_1"}


def test_gpu_device_groups_cases_by_default(monkeypatch, cohort, settings, tmp_path):
    """With a GPU the default group size is GPU_CASES_PER_TASK; on the CPU it is None (one
    task per (subject, image), see the next test), checked without running features."""
    seen = []

    def fake_run_tasks(tasks, extractor, scheduler, workers, progress, on_result,
                       spread_gpus=0, cases_per_task=1, cache_dir=None, dashboard=False):
        seen.append(cases_per_task)

    monkeypatch.setattr(runner_module, "_run_tasks", fake_run_tasks)
    monkeypatch.setattr(runner_module, "resolve_device", lambda device: device)
    monkeypatch.setattr(runner_module, "gpu_names", lambda: ["test GPU"])
    extract_manifest(cohort.manifest, settings, tmp_path / "gpu", scheduler="synchronous",
                     progress=False, device="gpu")
    extract_manifest(cohort.manifest, settings, tmp_path / "cpu", scheduler="synchronous",
                     progress=False, device="cpu")
    assert seen == [runner_module.GPU_CASES_PER_TASK, None]


def test_cpu_default_is_one_task_per_subject_image_reading_each_file_once(cohort, tmp_path,
                                                                          monkeypatch):
    """3 subjects x 2 images -> 6 tasks, each holding the 2 ROIs of one (subject, image).
    Every image file is read once; each subject's label map once per image task (2 times);
    the results equal one case per task."""
    import neurorad.io.images as images_module

    groups, reads = [], []
    real_compute, real_read = runner_module.compute_cases, images_module.read_image

    def recording_compute(tasks, extractor=None):
        groups.append(sorted((t.subject, t.image_name, t.roi) for t in tasks))
        return real_compute(tasks, extractor)

    def counting_read(path, **kwargs):
        reads.append(str(path))
        return real_read(path, **kwargs)

    monkeypatch.setattr(runner_module, "compute_cases", recording_compute)
    monkeypatch.setattr(images_module, "read_image", counting_read)
    res = _run(cohort, REAL, tmp_path / "default")
    assert (res.n_cases, res.n_computed, res.n_failed) == (12, 12, 0)
    expected_groups = sorted([(s, image, roi) for roi in ("lesion_1", "lesion_2")]
                             for s in ("s01", "s02", "s03") for image in ("T1", "T2"))
    assert sorted(groups) == expected_groups
    counts = pd.Series([p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in reads])
    counts = counts.value_counts().to_dict()
    assert counts == {**{f"{s}/{i}.nii.gz": 1 for s in ("s01", "s02", "s03") for i in ("T1", "T2")},
                      **{f"{s}/mask.nii.gz": 2 for s in ("s01", "s02", "s03")}}
    monkeypatch.undo()
    single = _run(cohort, REAL, tmp_path / "single", cases_per_task=1)
    a, b = _values(single.features), _values(res.features)
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_an_unreadable_image_fails_only_its_cases_with_the_default_grouping(cohort, tmp_path):
    """The corrupt file is read once for its task; both of its ROIs fail with the file's name,
    the other 10 cases succeed."""
    (cohort.root / "s03" / "T2.nii.gz").write_bytes(b"not an image")
    res = _run(cohort, REAL, tmp_path / "out")
    assert (res.n_computed, res.n_failed) == (10, 2)
    assert set(zip(res.failures["subject"], res.failures["image"], res.failures["roi"])) == {
        ("s03", "T2", "lesion_1"), ("s03", "T2", "lesion_2")}
    assert all("s03/T2.nii.gz" in m for m in res.failures["error_message"])


def test_tidy_table_equals_the_per_case_frames_concatenated(cohort, settings, tmp_path):
    """The one-piece assembly against tables.tidy_case_frame + concat_tidy on the cache
    entries (a second method), both for freshly computed and for cached cases."""
    from neurorad.batch import tables

    first = _run(cohort, settings, tmp_path / "out", extractor=roi_stats_extractor)
    again = _run(cohort, settings, tmp_path / "out", extractor=roi_stats_extractor)
    assert (first.n_computed, again.n_cached) == (12, 12)
    cache = runner_module._cache.CaseCache(tmp_path / "out" / "cache")
    manifest = runner_module._load_manifest(cohort.manifest, None)
    frames = []
    for case in manifest.cases():
        ids = {"subject": case.subject, "group": case.group, "roi": case.roi,
               "image": case.image_name}
        match = [p for p in cache.cache_dir.glob("*.parquet")
                 if pd.read_parquet(p)["value"].tolist() == list(
                     expected_stats(cohort, case.subject, case.roi, case.image_name).values())]
        assert len(match) == 1
        frames.append(tables.tidy_case_frame(ids, first.provenance["settings_id"],
                                             cache.load(match[0].stem)))
    reference = tables.concat_tidy(frames)
    for result in (first, again):
        pd.testing.assert_frame_equal(result.features, reference)
        pd.testing.assert_frame_equal(pd.read_parquet(result.features_path), reference)
