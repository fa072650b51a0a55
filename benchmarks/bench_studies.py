"""Where the main job's time goes: each study notebook's stages at the published design.

    .venv/bin/python benchmarks/bench_studies.py [--studies pet nf2 dai glioma]
        [--work work] [--out work/bench_studies] [--permutation-sample P] [-p KEY VALUE ...]

For each study the real notebook runs (``neurorad run-study``, its default parameters: the
published design) on the synthetic cohort in ``WORK/cohorts/<study>`` (generated first if
missing; the generation is timed on its own and not counted), with a fresh feature cache, so
extraction is measured too. papermill records every cell's duration; the cells are summed
into stages:

extraction
    the cell that calls ``common.extract`` (Dask batch extraction of every case).
modelling
    every other cell (validation, tables, figures), permutations included.
permutations
    the label-permutation control inside the modelling cells: ``evaluate`` logs the wall time
    of each permutation test to ``$NEURORAD_TIMING_LOG`` (set here); with
    ``--permutation-sample P`` the notebook runs ``P`` permutations and their time is scaled
    to the design's count (permutations are independent, equally sized jobs); the output
    says which.
rendering
    ``render_html`` of the executed notebook (+ index page).

``--from-run REPORTS --timing-log FILE`` summarises a run that already happened instead -- e.g.
the main job itself, started with ``NEURORAD_TIMING_LOG=FILE python3 run.py main``: the
stages come from the executed notebooks in ``REPORTS/<study>/`` (papermill's per-cell
durations; each notebook's start and end time assign the timing records to it), so one run
gives both the main job's total and where its time went.

Printed per study and in total: wall seconds per stage, and the CPU seconds of this process
and the children it reaped (the notebook kernel; worker pools the kernel leaves running when
it exits are not counted, so this is a lower bound). The machine this was written on is
shared: report the load average printed at start and end, and read wall times as upper
bounds.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat

STUDIES = ("pet", "nf2", "glioma", "dai", "grading")


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def cell_stages(notebook_path: Path) -> dict[str, float]:
    """Seconds per stage (extraction, modelling) from papermill's per-cell durations."""
    nb = nbformat.read(notebook_path, as_version=4)
    out = {"extraction": 0.0, "modelling": 0.0}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        seconds = float(cell.metadata.get("papermill", {}).get("duration") or 0.0)
        out["extraction" if "common.extract(" in cell.source else "modelling"] += seconds
    return out


def bench_study(study: str, args, extra: dict) -> dict:
    from neurorad.reports.cli import ensure_cohort, render_reports
    from neurorad.reports.run import executed_path, run_study
    from neurorad.studies.notebooks import parameters

    work = Path(args.work)
    started = time.perf_counter()
    manifest = ensure_cohort(study, work / "cohorts", quiet=True)
    cohort_s = time.perf_counter() - started
    design = {**parameters(study), **extra}
    n_perm = int(design["n_permutations"])
    output = Path(args.out) / "reports"
    cache = Path(tempfile.mkdtemp(prefix=f"{study}-", dir=args.out))
    params = {"manifest": str(manifest), "work_dir": str(cache), **extra}
    sample = args.permutation_sample if study != "grading" else None  # its control is not `evaluate`
    if sample is not None:
        params["n_permutations"] = sample
    log = cache / "timing.jsonl"
    os.environ["NEURORAD_TIMING_LOG"] = str(log.resolve())
    wall, cpu = time.perf_counter(), cpu_seconds()
    run_study(study, params, output, progress=False)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    del os.environ["NEURORAD_TIMING_LOG"]
    stages = cell_stages(executed_path(study, output))
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    perm_wall = sum(r["wall_s"] for r in records if r["stage"] == "permutations")
    ran = sample if sample is not None else n_perm
    scale = n_perm / ran if ran else 0.0
    t = time.perf_counter()
    render_reports([study], output, quiet=True)
    render = time.perf_counter() - t
    row = {"study": study, "cohort_generation_s": round(cohort_s, 1),
           "extraction_s": round(stages["extraction"], 1),
           "modelling_without_permutations_s": round(stages["modelling"] - perm_wall, 1),
           "permutations_s": round(perm_wall * scale, 1),
           "permutations_measured": sample is None, "permutations_run": ran,
           "n_permutations": n_perm, "permutation_tests": len(records),
           "rendering_s": round(render, 1)}
    row["total_s"] = round(row["extraction_s"] + row["modelling_without_permutations_s"]
                           + row["permutations_s"] + row["rendering_s"], 1)
    row["run_wall_s"] = round(wall, 1)
    row["run_cpu_s_reaped"] = round(cpu, 1)
    return row


def _iso_seconds(stamp: str) -> float:
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))   # papermill: UTC, +00:00
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def summarise_run(reports: Path, timing_log: Path | None) -> list[dict]:
    """Stage table of a finished run from its executed notebooks (see the module docstring)."""
    from neurorad.reports.run import executed_path

    records = []
    if timing_log is not None and timing_log.exists():
        records = [json.loads(line) for line in timing_log.read_text().splitlines() if line]
    rows = []
    for study in STUDIES:
        path = executed_path(study, reports)
        if not path.exists():
            continue
        meta = nbformat.read(path, as_version=4).metadata.get("papermill", {})
        start, end = _iso_seconds(meta["start_time"]), _iso_seconds(meta["end_time"])
        stages = cell_stages(path)
        mine = [r for r in records if r["stage"] == "permutations" and start <= r["at"] <= end]
        perm = sum(r["wall_s"] for r in mine)
        row = {"study": study, "notebook_wall_s": round(end - start, 1),
               "extraction_s": round(stages["extraction"], 1),
               "modelling_without_permutations_s": round(stages["modelling"] - perm, 1),
               "permutations_s": round(perm, 1), "permutation_tests": len(mine)}
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", nargs="+", choices=STUDIES, default=list(STUDIES))
    parser.add_argument("--work", default="work", help="holds cohorts/ (default: work)")
    parser.add_argument("--out", default="work/bench_studies",
                        help="reports and feature caches of the benchmark runs")
    parser.add_argument("--permutation-sample", type=int, default=None, metavar="P",
                        help="run P permutations and extrapolate to the design's count "
                        "(default: run them all)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("KEY", "VALUE"), help="notebook parameter for every study")
    parser.add_argument("--from-run", type=Path, default=None, metavar="REPORTS",
                        help="summarise the executed notebooks of a finished run instead")
    parser.add_argument("--timing-log", type=Path, default=None,
                        help="with --from-run: the run's $NEURORAD_TIMING_LOG file")
    args = parser.parse_args(argv)
    if args.from_run is not None:
        rows = summarise_run(args.from_run, args.timing_log)
        for row in rows:
            print(json.dumps(row))
        total = sum(r["notebook_wall_s"] for r in rows)
        print(f"notebooks of {args.from_run}: {total:.0f} s wall in total")
        return 0 if rows else 1
    from neurorad.reports.cli import parse_parameter_value

    extra = {k: parse_parameter_value(v) for k, v in args.parameter}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()}; CPUs: {os.cpu_count()}", flush=True)
    rows = []
    for study in args.studies:
        row = bench_study(study, args, extra)
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = sum(r["total_s"] for r in rows)
    print(f"load average at end: {os.getloadavg()}")
    print(f"main job ({', '.join(args.studies)}), cohorts present: {total:.0f} s wall "
          f"(upper bound on a shared machine); "
          f"permutations {'measured' if args.permutation_sample is None else 'extrapolated'}")
    with open(Path(args.out) / "bench_studies.json", "w") as fh:
        json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
