"""Run a benchmark script as on the lent GPU machine: in a subprocess where the packages
that machine lacks cannot be imported, with the CuPy emulator standing in for the GPU."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABSENT_ON_DEVICE = ("SimpleITK", "dask", "distributed", "papermill", "nibabel", "pydicom",
                    "pyarrow", "tqdm", "matplotlib", "dipy", "sklearn", "pandas", "yaml")


def run_script(script: Path, argv: list[str], cwd: Path, patch: str = "",
               timeout: int = 300) -> subprocess.CompletedProcess:
    """``script.main(argv)`` in a fresh interpreter; ``patch`` is code run on the loaded
    module (named ``script``) before ``main``."""
    code = textwrap.dedent(f"""
        import importlib.util, sys, warnings
        for name in {ABSENT_ON_DEVICE!r}:
            sys.modules[name] = None          # import fails, as on the device machine
        sys.path.insert(0, {str(ROOT)!r})
        from _pytest.monkeypatch import MonkeyPatch
        from tests.gpu_emulation.emulator import install
        install(MonkeyPatch())
        spec = importlib.util.spec_from_file_location("script", {str(script)!r})
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
    """) + textwrap.dedent(patch) + textwrap.dedent(f"""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sys.exit(script.main({argv!r}))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
