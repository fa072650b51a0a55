"""neurorad's GPU path end to end on the CuPy emulator (and on a real GPU where one is usable).

On the emulator the arithmetic is NumPy's, so ``device="gpu"`` must give the CPU values to
~1e-12 (any larger difference is a bug of the device path, not rounding); on a real GPU the
benchmark tolerance (1e-9 relative) applies. The CPU run is the second method.
"""
from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

import neurorad
from tests.gpu_emulation.fixtures import cupy_backend  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
PHANTOM = Path("/work/shared/ibsi/digital_phantom")
for _candidate in (ROOT.parent / "shared" / "ibsi" / "digital_phantom", PHANTOM):
    if _candidate.is_dir():
        PHANTOM = _candidate
        break


def _harness():
    spec = importlib.util.spec_from_file_location(
        "gpu_parity_and_timing", ROOT / "benchmarks" / "gpu_parity_and_timing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _harness()


def _tolerance(cupy):
    emulated = cupy.__version__.endswith("+numpy-emulator")
    return (1e-12, 1e-12) if emulated else (harness.RTOL, harness.ATOL)


def _image(array, spacing=(0.8, 0.8, 2.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def _label(mask, image):
    label = sitk.GetImageFromArray(mask.astype(np.uint8))
    label.CopyInformation(image)
    return label


def _rois():
    """Random ROIs of several shapes, plus the edge cases IBSI leaves undefined."""
    rng = np.random.default_rng(5)
    rois = {}
    for shape in [(1, 24, 24), (5, 12, 9), (14, 17, 15), (3, 3, 3)]:
        image, mask, _ = harness.random_roi(rng, shape)
        img = _image(np.round(image))
        rois[f"random {shape}"] = (img, _label(mask, img))
    one = np.zeros((6, 7, 8), bool)
    one[2, 3, 4] = True
    img = _image(np.round(rng.normal(size=one.shape) * 10))
    rois["one voxel"] = (img, _label(one, img))
    img = _image(np.full((6, 7, 8), 5.0))
    rois["constant"] = (img, _label(np.ones((6, 7, 8), bool), img))
    return rois


def _recorded(function):
    """(result, neurorad's warnings as a set of (category, message))."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function()
    return result, {(w.category.__name__, str(w.message)) for w in caught
                    if "neurorad" in w.filename}


@pytest.mark.skipif(not PHANTOM.is_dir(), reason=f"IBSI digital phantom not found at {PHANTOM}")
@pytest.mark.parametrize("preset", ["ibsi-phantom", "seed-protocol"])
def test_extract_features_on_the_ibsi_phantom(preset, cupy_backend):
    paths = (str(PHANTOM / "image" / "phantom.nii.gz"), str(PHANTOM / "mask" / "mask.nii.gz"))
    cpu, cpu_warnings = _recorded(lambda: neurorad.extract_features(*paths, preset, device="cpu"))
    gpu, gpu_warnings = _recorded(lambda: neurorad.extract_features(*paths, preset, device="gpu"))
    assert len(cpu) > 400
    assert harness.compare_features(cpu, gpu, *_tolerance(cupy_backend)) == []
    assert gpu_warnings == cpu_warnings


@pytest.mark.parametrize("preset", ["seed-protocol", "ibsi-ct-e"])
def test_extract_features_on_random_and_degenerate_rois(preset, cupy_backend):
    """Several shapes (a single-slice image, 3 x 3 x 3), one voxel, constant intensity; the
    GPU gives the CPU's values, NaN pattern and warnings (CuPy emits no floating-point
    warnings, so the package must warn by itself)."""
    checked = 0
    for name, (image, label) in _rois().items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                neurorad.extract_features(image, label, preset, device="cpu")
        except ValueError:
            continue  # e.g. a one-voxel ROI vanishing at 2 mm: not extractable on any device
        cpu, cpu_warnings = _recorded(
            lambda: neurorad.extract_features(image, label, preset, device="cpu"))
        gpu, gpu_warnings = _recorded(
            lambda: neurorad.extract_features(image, label, preset, device="gpu"))
        assert harness.compare_features(cpu, gpu, *_tolerance(cupy_backend)) == [], name
        assert gpu_warnings == cpu_warnings, name
        checked += 1
    assert checked >= 5


def test_extract_features_batch_equals_cpu_one_by_one(cupy_backend):
    """Batched GPU extraction, chunked small so chunks split ROIs' discretisations."""
    rois = list(_rois().values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = [neurorad.extract_features(image, label, "seed-protocol", device="cpu")
               for image, label in rois]
        gpu = neurorad.extract_features_batch(rois, "seed-protocol", device="gpu",
                                              max_voxels=3_000)
    assert len(gpu) == len(rois)
    for a, b in zip(cpu, gpu):
        assert harness.compare_features(a, b, *_tolerance(cupy_backend)) == []


def test_benchmark_batched_parity(cupy_backend):
    inputs = dict(np.load(harness.DEFAULT_INPUTS))
    cases = harness.parity_cases(inputs)
    small = {k: cases[k] for k in ("ibsi_digital_phantom", "single_slice_24x24",
                                   "small_5x12x9_anisotropic")}
    problems = harness.check_batched_parity(small, cupy_backend)
    assert set(problems) == {f"batched:{k}" for k in small}
    assert {k: p for k, p in problems.items() if p} == {}


def test_benchmark_script_runs_through(cupy_backend, monkeypatch, tmp_path):
    """The GPU script's whole flow (parity, both timings, JSON) on tiny inputs, so a GPU
    session does not spend its time on a crash."""
    if not cupy_backend.__version__.endswith("+numpy-emulator"):
        pytest.skip("the real GPU runs the full script instead")
    cases = harness.parity_cases
    monkeypatch.setattr(harness, "parity_cases", lambda inputs: {
        k: v for k, v in cases(inputs).items() if k == "small_5x12x9_anisotropic"})
    monkeypatch.setattr(harness, "TIMING_SIZES", {"4k": 300, "30k": 600})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = harness.main(["--quick", "--repeats", "1", "--batch", "2", "--seed-batch", "2",
                               "--out", str(tmp_path)])
    report = json.loads((tmp_path / "gpu_results.json").read_text(encoding="utf-8"))
    assert status == 0 and report["parity_ok"]
    assert set(report["timing"]) == {"4k", "30k"} == set(report["seed_protocol_timing"])
    assert all(v > 0 for v in report["timing"]["4k"].values())


FILTER_BANK = {"families": ["statistics", "histogram", "glcm", "ngtdm"],
               "discretisation": {"method": "fbn", "n_bins": 16},
               "resample": {"spacing_xyz": [1.0, 1.0, 1.0], "interpolator": "cubic"},
               "round_intensities": True,
               "filters": {"specs": [
                   {"filter": "mean", "dimensions": "3d", "boundary": "mirror",
                    "support_voxels": 3},
                   {"filter": "log", "dimensions": "2d", "boundary": "zero", "sigma_mm": 1.5,
                    "cutoff_sigmas": 4.0}]}}


def test_features_of_filtered_images_on_the_gpu_path(cupy_backend):
    """Response maps computed on the device and their features, single and batched, equal
    the CPU's (filters: the 3-D mean and a 2-D LoG, after cubic interpolation)."""
    rois = [v for k, v in _rois().items() if k.startswith("random")][1:3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = [neurorad.extract_features(image, label, FILTER_BANK, device="cpu")
               for image, label in rois]
        gpu = [neurorad.extract_features(image, label, FILTER_BANK, device="gpu")
               for image, label in rois]
        batch = neurorad.extract_features_batch(rois, FILTER_BANK, device="gpu")
    assert any(t.endswith("__log_s1p5_2d_zero") for t in cpu[0])
    for a, b, c in zip(cpu, gpu, batch):
        assert harness.compare_features(a, b, *_tolerance(cupy_backend)) == []
        assert harness.compare_features(a, c, *_tolerance(cupy_backend)) == []
