"""The GPU check script runs with only what the lent GPU machine has (NumPy, SciPy,
scikit-image, CuPy): no SimpleITK, Dask, pandas, PyYAML, ... — checked in a subprocess where
importing any of those fails, with the CuPy emulator standing in for the GPU."""
from __future__ import annotations

import json

from tests.gpu_emulation.device_script import ROOT, run_script


def test_gpu_script_needs_no_package_the_device_lacks(tmp_path):
    patch = """
        cases = script.parity_cases
        script.parity_cases = lambda inputs: {k: v for k, v in cases(inputs).items()
                                              if k == "small_5x12x9_anisotropic"}
        script.TIMING_SIZES = {"4k": 300, "30k": 600}
    """
    done = run_script(ROOT / "benchmarks" / "gpu_parity_and_timing.py",
                      ["--quick", "--repeats", "1", "--batch", "2", "--seed-batch", "2",
                       "--out", str(tmp_path)], tmp_path, patch)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_results.json").read_text(encoding="utf-8"))
    assert report["parity_ok"] and set(report["timing"]) == {"4k", "30k"}
