"""benchmarks/gpu_filters.py runs with only what the lent GPU machine has (NumPy, SciPy,
CuPy): no SimpleITK, Dask, pandas, PyYAML ... — in a subprocess where importing those
fails, with the CuPy emulator standing in for the GPU (a few phase-1 cases, a tiny bank)."""
from __future__ import annotations

import json

from tests.gpu_emulation.device_script import ROOT, run_script


def test_gpu_filters_script_on_the_emulator(tmp_path):
    done = run_script(ROOT / "benchmarks" / "gpu_filters.py",
                      ["--size", "6,12,10", "--repeats", "1",
                       "--cases", "1.a.3,3.b.2,9.b.2,10.b.1", "--out", str(tmp_path)], tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_filters_results.json").read_text(encoding="utf-8"))
    assert report["parity_ok"] and set(report["parity"]) == {"1.a.3", "3.b.2", "9.b.2", "10.b.1"}
    assert len(report["bank"]["gpu_s"]) == 13 and report["bank"]["voxels"] == 720


def test_committed_inputs_hold_every_phase1_case():
    import numpy as np

    from tests.filters.ibsi2_data import phase1_cases

    data = np.load(ROOT / "benchmarks" / "data" / "ibsi2_phase1.npz")
    cases = json.loads(str(data["cases"]))
    expected = phase1_cases(with_reference=False)
    if expected:  # the reference data are there to compare with
        assert [c["spec"] for c in cases] == [c["spec"] for c in expected]
    for c in cases:
        assert data[c["phantom"]].shape == (64, 64, 64)
