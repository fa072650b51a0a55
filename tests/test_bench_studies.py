"""benchmarks/bench_studies.py --from-run: the stage table of a finished run, read from the
executed notebooks (papermill cell durations, start/end times) and the timing log."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from neurorad.reports.run import executed_path

ROOT = Path(__file__).resolve().parents[1]


def _executed(path: Path, start: str, end: str, cells: list[tuple[str, float]]) -> None:
    nb = new_notebook(cells=[new_code_cell(src, metadata={"papermill": {"duration": d}})
                             for src, d in cells])
    nb.metadata["papermill"] = {"start_time": start, "end_time": end}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_from_run_assigns_cells_and_permutation_records_to_each_study(tmp_path):
    reports = tmp_path / "reports"
    # 12:00:00-12:01:40 UTC = 1764849600-1764849700 (2025-12-04), 100 s of notebook.
    _executed(executed_path("pet", reports), "2025-12-04T12:00:00.000000Z",
              "2025-12-04T12:01:40.000000Z",
              [("batch = common.extract(manifest)", 30.0), ("evaluate(...)", 50.0),
               ("plot()", 5.0)])
    _executed(executed_path("dai", reports), "2025-12-04T12:02:00.000000+00:00",
              "2025-12-04T12:03:00",
              [("batch = common.extract(m)", 10.0), ("fit()", 45.0)])
    log = tmp_path / "timing.jsonl"
    records = [{"stage": "permutations", "at": 1764849650.0, "wall_s": 20.0},   # pet
               {"stage": "permutations", "at": 1764849750.0, "wall_s": 15.0},   # dai
               {"stage": "permutations", "at": 1764849690.0, "wall_s": 7.0},    # pet
               {"stage": "permutations", "at": 1764849710.0, "wall_s": 99.0}]   # between runs
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_studies.py"),
                           "--from-run", str(reports), "--timing-log", str(log)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["study"]: r for r in map(json.loads, proc.stdout.splitlines()[:-1])}
    assert rows["pet"] == {"study": "pet", "notebook_wall_s": 100.0, "extraction_s": 30.0,
                           "modelling_without_permutations_s": 55.0 - 27.0,
                           "permutations_s": 27.0, "permutation_tests": 2}
    assert rows["dai"]["notebook_wall_s"] == 60.0
    assert rows["dai"]["permutations_s"] == 15.0
    assert rows["dai"]["modelling_without_permutations_s"] == 30.0
    assert proc.stdout.splitlines()[-1].endswith("160 s wall in total")
