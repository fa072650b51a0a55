"""The batch runner's GPU path (``device="gpu"``: 16 cases per task, grouped extraction on the
device) gives the CPU path's table: on the CuPy emulator here, on a real GPU where one is
usable (``tests.gpu_emulation.fixtures.cupy_backend``)."""
from __future__ import annotations

import math

import neurorad
from neurorad.batch import extract_manifest
from neurorad.batch import runner as runner_module
from tests.gpu_emulation.fixtures import cupy_backend  # noqa: F401  (pytest fixture)

from batch_helpers import make_cohort

SETTINGS = neurorad.load_settings({
    "name": "batch-gpu-test", "resample": None, "families": "all",
    "discretisation": [{"method": "fbn", "n_bins": 8}, {"method": "fbs", "bin_width": 10.0}],
    "aggregations": ["2D", "2_5D", "3D"]})


def _values(features):
    return {tuple(r[:4]): r[4] for r in features[["subject", "roi", "image", "feature",
                                                  "value"]].itertuples(index=False)}


def test_gpu_batch_equals_cpu_batch(cupy_backend, tmp_path, monkeypatch):  # noqa: F811
    cohort = make_cohort(tmp_path / "data", n_subjects=3)
    groups = []
    real_compute = runner_module.compute_cases
    monkeypatch.setattr(runner_module, "compute_cases",
                        lambda tasks, *a, **k: groups.append(len(tasks)) or real_compute(tasks, *a, **k))
    gpu = extract_manifest(cohort.manifest, SETTINGS, tmp_path / "gpu", scheduler="synchronous",
                           progress=False, device="gpu")
    per_task = runner_module.GPU_CASES_PER_TASK
    assert groups == [min(per_task, 12)] + ([12 - per_task] if per_task < 12 else [])
    assert gpu.provenance["device"] == "gpu"
    cpu = extract_manifest(cohort.manifest, SETTINGS, tmp_path / "cpu", scheduler="synchronous",
                           progress=False, device="cpu")
    assert (gpu.n_cases, gpu.n_failed, cpu.n_failed) == (12, 0, 0)
    got, want = _values(gpu.features), _values(cpu.features)
    assert got.keys() == want.keys() and len(want) > 12 * 500
    bad = [k for k in want if not (math.isclose(got[k], want[k], rel_tol=1e-9, abs_tol=1e-12)
                                   or (math.isnan(got[k]) and math.isnan(want[k])))]
    assert bad == [], bad[:5]
