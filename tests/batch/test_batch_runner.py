"""extract_manifest in synchronous mode: values, outputs, failures, reruns, privacy."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

import neurorad
from neurorad.batch import extract_manifest, wide_table
from neurorad.backend import gpu_available

from batch_helpers import (IMAGES, ROIS, expected_stats, failing_extractor, make_cohort,
                           roi_stats_extractor)


@pytest.fixture
def cohort(tmp_path):
    return make_cohort(tmp_path / "data", n_subjects=3)


class CountingExtractor:
    """Counts calls (synchronous mode runs in this process)."""

    def __init__(self, inner=roi_stats_extractor):
        self.inner, self.calls = inner, []

    def __call__(self, image, mask, settings, *, label, device):
        self.calls.append(label)
        return self.inner(image, mask, settings, label=label, device=device)


def test_values_match_the_written_arrays_and_outputs_exist(cohort, settings, tmp_path):
    out = tmp_path / "out"
    res = extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                           progress=False, extractor=roi_stats_extractor, device="cpu")
    assert (res.n_cases, res.n_computed, res.n_cached, res.n_failed) == (12, 12, 0, 0)
    on_disk = pd.read_parquet(out / "features.parquet")
    pd.testing.assert_frame_equal(on_disk, res.features)
    assert list(on_disk.columns) == ["subject", "group", "roi", "image", "settings_id", "feature", "value"]
    assert set(on_disk["settings_id"]) == {settings.settings_id}
    assert len(pd.read_parquet(out / "failures.parquet")) == 0
    for (subject, group, roi, image), rows in on_disk.groupby(["subject", "group", "roi", "image"]):
        got = dict(zip(rows["feature"], rows["value"]))
        want = expected_stats(cohort, subject, roi, image)
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == pytest.approx(want[k], rel=1e-12), (subject, roi, image, k)
    # groups come from the manifest: subjects 1, 2 -> P1; 3 -> P2
    assert dict(on_disk.groupby("subject")["group"].first()) == {"s01": "P1", "s02": "P1", "s03": "P2"}

    wide = wide_table(res.features)
    assert wide.shape == (3 * len(ROIS), len(IMAGES) * 3)
    want = expected_stats(cohort, "s02", "lesion_2", "T2")["mean"]
    assert wide.loc[("s02", "P1", "lesion_2"), "T2__mean"] == pytest.approx(want, rel=1e-12)


def test_provenance_records_inputs_and_software_without_absolute_paths(cohort, settings, tmp_path):
    out = tmp_path / "out"
    extract_manifest(cohort.manifest, settings, out, scheduler="synchronous", progress=False,
                     extractor=roi_stats_extractor, device="cpu")
    text = (out / "provenance.json").read_text(encoding="utf-8")
    prov = json.loads(text)
    assert prov["neurorad_version"] == neurorad.__version__
    assert prov["settings_id"] == settings.settings_id
    assert prov["settings"] == json.loads(json.dumps(settings.to_dict(), default=str))
    assert prov["counts"] == {"cases": 12, "computed": 12, "cached": 0, "failed": 0}
    import hashlib

    want = {f"s01/T1.nii.gz": hashlib.sha256((cohort.root / "s01/T1.nii.gz").read_bytes()).hexdigest(),
            f"s03/mask.nii.gz": hashlib.sha256((cohort.root / "s03/mask.nii.gz").read_bytes()).hexdigest()}
    for k, v in want.items():
        assert prov["inputs_sha256"][k] == v
    assert len(prov["inputs_sha256"]) == 3 * (len(IMAGES) + 1)
    assert prov["started_utc"] <= prov["finished_utc"]
    assert {"numpy", "pandas", "SimpleITK", "dask"} <= set(prov["packages"])
    assert prov["host"]["cpu_count"] >= 1
    assert str(cohort.root.resolve()) not in text and str(tmp_path) not in text


def test_failures_are_recorded_and_the_rest_finishes(cohort, settings, tmp_path):
    (cohort.root / "s02" / "T2.nii.gz").unlink()                  # missing file
    (cohort.root / "s03" / "T1.nii.gz").write_bytes(b"not nifti")  # corrupt file
    empty = cohort.masks["s01"].copy()
    empty[empty == 2] = 0                                          # ROI 2 of s01 is empty
    img = sitk.GetImageFromArray(empty)
    img.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(img, str(cohort.root / "s01" / "mask.nii.gz"))

    res = extract_manifest(cohort.manifest, settings, tmp_path / "out", scheduler="synchronous",
                           progress=False, extractor=roi_stats_extractor, device="cpu")
    fails = pd.read_parquet(tmp_path / "out" / "failures.parquet")
    by_case = {(r.subject, r.roi, r.image): r for r in fails.itertuples()}
    assert set(by_case) == {("s02", "lesion_1", "T2"), ("s02", "lesion_2", "T2"),
                            ("s03", "lesion_1", "T1"), ("s03", "lesion_2", "T1"),
                            ("s01", "lesion_2", "T1"), ("s01", "lesion_2", "T2")}
    assert by_case[("s02", "lesion_1", "T2")].error_type == "FileNotFoundError"
    assert "s02/T2.nii.gz" in by_case[("s02", "lesion_1", "T2")].error_message
    assert by_case[("s03", "lesion_1", "T1")].error_type == "ImageReadError"
    assert "s03/T1.nii.gz" in by_case[("s03", "lesion_1", "T1")].error_message
    assert by_case[("s01", "lesion_2", "T1")].error_type == "EmptyROIError"
    assert "lesion_2" in by_case[("s01", "lesion_2", "T1")].error_message
    for r in fails.itertuples():
        assert str(cohort.root.resolve()) not in r.error_message
    assert res.n_failed == 6 and res.n_computed == 6
    done = set(map(tuple, res.features[["subject", "roi", "image"]].drop_duplicates().to_numpy()))
    assert len(done) == 6 and not (done & set(by_case))


def test_rerun_skips_done_cases_and_retries_failures(cohort, settings, tmp_path):
    out = tmp_path / "out"
    first = CountingExtractor(failing_extractor)  # label 2 fails
    r1 = extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                          progress=False, extractor=first, device="cpu")
    assert (r1.n_computed, r1.n_failed) == (6, 6)
    assert set(pd.read_parquet(out / "failures.parquet")["error_type"]) == {"ArithmeticError"}

    second = CountingExtractor()
    r2 = extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                          progress=False, extractor=second, device="cpu")
    assert second.calls == [2] * 6                     # only the failed cases ran again
    assert (r2.n_cached, r2.n_computed, r2.n_failed) == (6, 6, 0)
    assert len(pd.read_parquet(out / "failures.parquet")) == 0
    assert len(r2.features) == 12 * 3

    third = CountingExtractor()
    r3 = extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                          progress=False, extractor=third, device="cpu")
    assert third.calls == [] and r3.n_cached == 12
    pd.testing.assert_frame_equal(r3.features, r2.features)


def test_changed_input_or_settings_recomputes_only_what_changed(cohort, settings, tmp_path):
    out = tmp_path / "out"
    extract_manifest(cohort.manifest, settings, out, scheduler="synchronous", progress=False,
                     extractor=roi_stats_extractor, device="cpu")
    # new content for one image: its 2 ROIs recompute, nothing else
    new = np.full(cohort.arrays[("s02", "T1")].shape, 7.0)
    new[cohort.masks["s02"] == 1] = 3.0
    img = sitk.GetImageFromArray(new)
    img.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(img, str(cohort.root / "s02" / "T1.nii.gz"))
    counter = CountingExtractor()
    res = extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                           progress=False, extractor=counter, device="cpu")
    assert sorted(counter.calls) == [1, 2] and res.n_cached == 10
    got = res.features.set_index(["subject", "roi", "image", "feature"])["value"]
    assert got[("s02", "lesion_1", "T1", "mean")] == 3.0
    assert got[("s02", "lesion_2", "T1", "mean")] == 7.0

    # content-addressed: an image identical to one already done is not computed again
    shutil.copy(cohort.root / "s01" / "T2.nii.gz", cohort.root / "s03" / "T2.nii.gz")
    counter = CountingExtractor()
    res = extract_manifest(cohort.manifest, settings, out, scheduler="synchronous",
                           progress=False, extractor=counter, device="cpu")
    assert counter.calls == [] and res.n_cached == 12
    got = res.features.set_index(["subject", "roi", "image", "feature"])["value"]
    want = expected_stats(cohort, "s01", "lesion_1", "T2")["mean"]
    assert got[("s03", "lesion_1", "T2", "mean")] == pytest.approx(want, rel=1e-12)

    other = neurorad.load_settings("pyradiomics-default")
    assert other.settings_id != settings.settings_id
    counter = CountingExtractor()
    res = extract_manifest(cohort.manifest, other, out, scheduler="synchronous", progress=False,
                           extractor=counter, device="cpu")
    # 12 cases, 10 distinct contents (s03/T2 is a copy of s01/T2)
    assert len(counter.calls) == 10 and res.n_cached == 0 and len(res.features) == 12 * 3
    assert set(res.features["settings_id"]) == {other.settings_id}


def test_progress_bar_on_stderr(cohort, settings, tmp_path, capsys):
    extract_manifest(cohort.manifest, settings, tmp_path / "out", scheduler="synchronous",
                     progress=True, extractor=roi_stats_extractor, device="cpu")
    captured = capsys.readouterr()
    assert "12/12" in captured.err and "12/12" not in captured.out


def test_bad_device_and_missing_gpu_are_clear_errors(cohort, settings, tmp_path):
    with pytest.raises(ValueError, match="device must be one of"):
        extract_manifest(cohort.manifest, settings, tmp_path / "o", scheduler="synchronous",
                         device="tpu", extractor=roi_stats_extractor)
    if gpu_available():
        pytest.skip("a GPU is usable here: device='gpu' is valid")
    with pytest.raises(RuntimeError, match="no GPU is usable"):
        extract_manifest(cohort.manifest, settings, tmp_path / "o", scheduler="synchronous",
                         device="gpu", extractor=roi_stats_extractor)


def test_extractor_receives_the_resolved_device(cohort, settings, tmp_path, monkeypatch):
    seen = []

    def probe(image, mask, s, *, label, device):
        seen.append(device)
        return {"one": 1.0}

    monkeypatch.setenv("NEURORAD_FORCE_CPU", "1")
    extract_manifest(cohort.manifest, settings, tmp_path / "o", scheduler="synchronous",
                     progress=False, extractor=probe, device="auto")
    assert set(seen) == {"cpu"}


def test_local_gpu_workers_are_spread_over_the_gpus(monkeypatch):
    from types import SimpleNamespace

    from neurorad.batch import runner

    monkeypatch.setattr(runner, "pin_threads_to_one", lambda: None)  # keep this process as is
    monkeypatch.setenv(runner.GPU_INDEX_ENV, "unset")
    plugin = runner._worker_plugin(spread_gpus=2)
    got = []
    for name in (0, 1, 2, 3, "tcp-named-worker"):
        monkeypatch.setenv(runner.GPU_INDEX_ENV, "unset")
        plugin.setup(SimpleNamespace(name=name))
        got.append(os.environ[runner.GPU_INDEX_ENV])
    assert got == ["0", "1", "0", "1", "unset"]
    runner._worker_plugin(spread_gpus=0).setup(SimpleNamespace(name=5))
    assert os.environ[runner.GPU_INDEX_ENV] == "unset"   # CPU runs leave the device alone


def test_rtstruct_masks_are_rasterised_on_the_case_image(cohort, monkeypatch):
    """The runner hands the structure name and the case's image to the io converter and
    extracts the returned 0/1 mask with label 1 (the converter itself is tested in tests/io)."""
    from neurorad.batch import runner
    from neurorad.io import dicom_rt

    calls = []

    def fake_rtstruct_to_masks(path, reference_image, roi_names):
        calls.append((path, reference_image.GetSize(), list(roi_names)))
        labels = cohort.masks["s01"]
        img = sitk.GetImageFromArray((labels == 2).astype(np.uint8))
        img.CopyInformation(reference_image)
        return {roi_names[0]: img}

    monkeypatch.setattr(dicom_rt, "rtstruct_to_masks", fake_rtstruct_to_masks)
    task = runner.CaseTask(
        key="k", subject="s01", roi="tumour", label="GTV", image_name="T1",
        image_path=str(cohort.root / "s01" / "T1.nii.gz"), mask_path="/data/s01/rs.dcm",
        settings=None, device="cpu", image_display="s01/T1.nii.gz", mask_display="s01/rs.dcm",
        mask_format="rtstruct")
    result = runner.compute_case(task, roi_stats_extractor)
    assert result["ok"], result
    assert calls == [("/data/s01/rs.dcm", (7, 6, 4), ["GTV"])]
    want = expected_stats(cohort, "s01", "lesion_2", "T1")
    assert result["features"]["mean"] == pytest.approx(want["mean"], rel=1e-12)
    assert result["features"]["n_voxels"] == want["n_voxels"]


def test_compute_cases_stores_on_the_worker_or_leaves_it_to_the_driver(tmp_path, monkeypatch):
    """With a writable cache_dir the finished cases are stored and marked; where the worker
    cannot write (OSError) they are returned unmarked, for the driver to store."""
    from neurorad.batch import cache as cache_module
    from neurorad.batch.runner import CaseTask, compute_cases

    def extractor(image, mask, settings, *, label, device):
        return {"n_voxels": float((sitk.GetArrayFromImage(mask) == label).sum())}

    image = sitk.GetImageFromArray(np.arange(27, dtype=np.float32).reshape(3, 3, 3))
    mask = sitk.GetImageFromArray((np.arange(27).reshape(3, 3, 3) % 2).astype(np.uint8))
    mask.CopyInformation(image)
    sitk.WriteImage(image, str(tmp_path / "img.nrrd"))
    sitk.WriteImage(mask, str(tmp_path / "mask.nrrd"))
    tasks = [CaseTask(key=f"k{label}", subject="s1", roi=f"r{label}", label=label, image_name="T1",
                      image_path=str(tmp_path / "img.nrrd"), mask_path=str(tmp_path / "mask.nrrd"),
                      settings=None, device="cpu", image_display="img.nrrd",
                      mask_display="mask.nrrd") for label in (1, 0, 7)]
    results = compute_cases(tasks, extractor, cache_dir=str(tmp_path / "cache"))
    assert [r["ok"] for r in results] == [True, True, False]        # label 7 is empty
    assert [r.get("stored", False) for r in results] == [True, True, False]
    stored = cache_module.CaseCache(tmp_path / "cache")
    assert stored.load("k1")["value"].tolist() == [13.0] and stored.load("k0")["value"].tolist() == [14.0]

    def refuse(self, key, features):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache_module.CaseCache, "store", refuse)
    results = compute_cases(tasks[:2], extractor, cache_dir=str(tmp_path / "cache2"))
    assert [r["ok"] for r in results] == [True, True]
    assert not any(r.get("stored") for r in results)


def test_nan_in_a_nifti_image_fails_only_the_roi_that_covers_it(tmp_path):
    """ITK reads NIfTI NaN as 0; read_image puts it back, so a NaN outside the ROIs changes
    nothing and a NaN inside lesion_2 fails that case (not the batch, not lesion_1)."""
    from batch_helpers import _write

    cohort = make_cohort(tmp_path / "data", n_subjects=1)
    arr = cohort.arrays[("s01", "T1")].copy()
    arr[0, 0, 0] = np.nan                      # outside both ROIs
    arr[2, 3, 4] = np.nan                      # inside lesion_2 only
    assert cohort.masks["s01"][0, 0, 0] == 0 and cohort.masks["s01"][2, 3, 4] == 2
    _write(arr, tmp_path / "data" / "s01" / "T1.nii.gz")
    settings = neurorad.load_settings({"name": "nan-test", "resample": None, "families": ["statistics"],
                                       "discretisation": {"method": "fbn", "n_bins": 8}})
    res = extract_manifest(cohort.manifest, settings, tmp_path / "out",
                           scheduler="synchronous", progress=False, device="cpu")
    assert res.failures[["roi", "image"]].values.tolist() == [["lesion_2", "T1"]]
    assert "NaN or infinite intensities inside ROI label 2" in res.failures["error_message"][0]
    assert res.n_computed == 3
