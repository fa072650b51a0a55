"""The GPU check script runs with only what the lent GPU machine has (NumPy, SciPy,
scikit-image, CuPy): no SimpleITK, Dask, pandas, PyYAML, ... — checked in a subprocess where
importing any of those fails, with the CuPy emulator standing in for the GPU."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABSENT_ON_DEVICE = ("SimpleITK", "dask", "distributed", "papermill", "nibabel", "pydicom",
                    "pyarrow", "tqdm", "matplotlib", "dipy", "sklearn", "pandas", "yaml")


def test_gpu_script_needs_no_package_the_device_lacks(tmp_path):
    code = textwrap.dedent(f"""
        import importlib.util, sys, warnings
        for name in {ABSENT_ON_DEVICE!r}:
            sys.modules[name] = None          # import fails, as on the device machine
        sys.path.insert(0, {str(ROOT)!r})
        from _pytest.monkeypatch import MonkeyPatch
        from tests.gpu_emulation.emulator import install
        install(MonkeyPatch())
        spec = importlib.util.spec_from_file_location(
            "script", {str(ROOT / "benchmarks" / "gpu_parity_and_timing.py")!r})
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        cases = script.parity_cases
        script.parity_cases = lambda inputs: {{k: v for k, v in cases(inputs).items()
                                              if k == "small_5x12x9_anisotropic"}}
        script.TIMING_SIZES = {{"4k": 300, "30k": 600}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sys.exit(script.main(["--quick", "--repeats", "1", "--batch", "2",
                                  "--seed-batch", "2", "--out", {str(tmp_path)!r}]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_results.json").read_text(encoding="utf-8"))
    assert report["parity_ok"] and set(report["timing"]) == {"4k", "30k"}
