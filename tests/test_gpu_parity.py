"""GPU (CuPy) = CPU (NumPy) within 1e-9 relative, and the parity harness itself.

The harness lives in ``benchmarks/gpu_parity_and_timing.py`` (one script for the GPU machine,
free of SimpleITK/Dask). Its comparison logic and its wiring of every feature family are
tested here on NumPy; the parity tests proper run on the CuPy emulator (``tests/gpu_emulation``:
strict about host/device mixing and CuPy's API, NumPy arithmetic underneath) and, marked
``gpu``, on a real GPU (skipped with the reason where none is usable).
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.features.ibsi_phantom_data import REFERENCE, mismatches, reference
from tests.gpu_emulation.fixtures import cupy_backend  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_parity_and_timing.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("gpu_parity_and_timing", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _load_script()


def test_compare_features_tolerance_nan_and_keys():
    ref = {"a": 1.0, "b": 0.0, "c": float("nan"), "d": -2.5e6}
    assert harness.compare_features(ref, {"a": 1.0 + 5e-10, "b": 3e-17, "c": float("nan"),
                                          "d": -2.5e6 * (1 + 9e-10)}) == []
    problems = harness.compare_features(ref, {"a": 1.0 + 2e-9, "b": 1e-9, "c": 0.0, "e": 1.0})
    text = "\n".join(problems)
    assert "a: " in text and "relative difference 2.0" in text
    assert "b: " in text                      # 1e-9 is above the 1e-12 floor for a zero
    assert "c: nan vs 0.0 (NaN in one only)" in text
    assert "d: only in reference" in text and "e: only in other" in text
    assert harness.compare_features({"x": math.inf}, {"x": -math.inf}) == ["x: inf vs -inf"]


def _digital_phantom_features():
    inputs = dict(np.load(harness.DEFAULT_INPUTS))
    image, mask, spacing, disc = harness.parity_cases(inputs)["ibsi_digital_phantom"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return harness.all_family_features(image, mask, spacing, disc)


@pytest.mark.skipif(not REFERENCE.exists(), reason=f"IBSI reference values not found at {REFERENCE}")
def test_harness_reproduces_ibsi_digital_phantom_references_on_numpy():
    """The harness wires every family as the engine does: on NumPy its phantom values match
    the IBSI reference table (so a GPU run compares the right computation)."""
    features = _digital_phantom_features()
    ref = {tag: v for tag, v in reference("").items() if tag in features}
    families = {tag.split("_")[0] for tag in features}
    assert families >= {"stat", "ih", "ivh", "morph", "loc", "cm", "rlm", "szm", "dzm", "ngt", "ngl"}
    assert len(ref) >= 300, len(ref)
    assert mismatches(features, ref) == []


def test_timing_rois_have_the_requested_size():
    rng = np.random.default_rng(0)
    for n in (4_000, 30_000):
        _, mask, _ = harness.roi_of_size(rng, n)
        assert abs(int(mask.sum()) - n) / n < 0.05


def test_every_family_on_gpu_equals_cpu_on_phantoms_and_random_rois(cupy_backend):
    cupy = cupy_backend
    inputs = dict(np.load(harness.DEFAULT_INPUTS))
    ct = harness.DEFAULT_INPUTS.parent / harness.CT_INPUTS
    if ct.exists():
        inputs.update(np.load(ct))
    problems = harness.check_parity(harness.parity_cases(inputs), cupy)
    assert {name: p for name, p in problems.items() if p} == {}


def test_extract_features_gpu_equals_cpu(cupy_backend):
    import SimpleITK as sitk

    import neurorad

    rng = np.random.default_rng(3)
    image, mask, _ = harness.random_roi(rng, (12, 20, 18))
    img = sitk.GetImageFromArray(image)
    img.SetSpacing((0.8, 0.8, 2.0))
    lab = sitk.GetImageFromArray(mask.astype(np.uint8))
    lab.CopyInformation(img)
    settings = neurorad.load_settings("seed-protocol")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = neurorad.extract_features(img, lab, settings, device="cpu")
        gpu = neurorad.extract_features(img, lab, settings, device="gpu")
    assert harness.compare_features(cpu, gpu) == []


def test_gpu_names_empty_when_the_gpu_is_not_used(monkeypatch):
    from neurorad import backend

    monkeypatch.setenv(backend.FORCE_CPU_ENV, "1")
    assert backend.gpu_names() == []


def test_gpu_names_and_device_selection(cupy_backend):
    cupy = cupy_backend

    from neurorad import backend

    names = backend.gpu_names()
    assert len(names) == cupy.cuda.runtime.getDeviceCount() and all(names)
    backend.use_gpu(len(names) - 1)
    assert cupy.cuda.Device().id == len(names) - 1
    backend.use_gpu(0)
