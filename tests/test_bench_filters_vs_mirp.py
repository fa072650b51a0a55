"""benchmarks/bench_filters_vs_mirp.py runs through (neurorad side, small volume): all 14
response maps of the bank are computed and reported."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_script_neurorad_side_on_a_small_volume(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_filters_vs_mirp.py"),
                           "--only", "neurorad", "--shape", "40", "36", "30", "--voxels", "800",
                           "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())["neurorad"]
    assert result["n_response_maps"] == 14
    assert result["cpu_s"] > 0 and result["peak_rss_mib"] > 0
    assert "neurorad  CPU" in proc.stdout
