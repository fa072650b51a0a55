"""Dask scaling of batch extraction: the same cases on 1 worker and on N workers.

    .venv/bin/python benchmarks/bench_dask.py [--cases 40] [--workers 2] [--voxels 16000]
        [--repeats 1] [--manifest work/cohorts/glioma/manifest.yaml]

Writes a cohort of ``--cases`` cases (``cases / 2`` subjects x 2 ROIs, one image each;
synthetic ROIs of ~``--voxels`` voxels) to a temporary folder, then runs
``extract_manifest`` with settings ``--settings`` (default: PyRadiomics-like full IBSI set,
one discretisation) on a local cluster of 1 worker and of ``--workers`` workers, each into a
fresh output folder (no cache). The clusters are started before the clock starts, so the
times compare extraction, not process start-up. Prints the speed-up t(1) / t(N); target
>= 1.7 for 40 cases on 2 workers, which needs 2 otherwise idle cores (the load average is
printed: on a shared machine it explains a miss). ``--repeats R`` alternates the two
configurations R times and keeps the best of each. ``--manifest`` times the first subjects of
an existing manifest instead (e.g. a built-in synthetic cohort: whole-head images read from
NIfTI, several images and ROIs per subject), which is closer to a study than the small
synthetic ROIs.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_pyradiomics import synthetic_case  # noqa: E402  (same synthetic ROIs)


def write_cohort(root: Path, n_cases: int, n_voxels: int) -> Path:
    """``n_cases / 2`` subjects, each one image and a label map with ROIs 1 and 2."""
    subjects = []
    for i in range(n_cases // 2):
        img, lab = synthetic_case(n_voxels, seed=i)
        labels = sitk.GetArrayFromImage(lab)
        # two lesions: the ROI's right half (in x) becomes label 2
        right = labels[:, :, int(np.median(np.nonzero(labels)[2])):]
        right[right == 1] = 2
        two = sitk.GetImageFromArray(labels)
        two.CopyInformation(lab)
        sid = f"b{i:03d}"
        (root / sid).mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(img, str(root / sid / "T1.nrrd"))
        sitk.WriteImage(two, str(root / sid / "mask.nrrd"))
        subjects.append({"id": sid, "images": {"T1": f"{sid}/T1.nrrd"}, "mask": f"{sid}/mask.nrrd",
                         "rois": {"a": 1, "b": 2}})
    manifest = root / "bench.yaml"
    manifest.write_text(yaml.safe_dump({"neurorad_manifest": 1, "study": "bench-dask",
                                        "subjects": subjects}, sort_keys=False))
    return manifest


def first_cases(manifest_path: Path, n_cases: int, dest: Path) -> tuple[Path, int]:
    """A copy of a manifest holding its first subjects up to ``n_cases`` (subject x image x
    ROI) cases, its data root made absolute so the copy can live elsewhere."""
    source = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    root = (manifest_path.parent / source.get("data_root", ".")).resolve()
    kept, count = [], 0
    for subject in source["subjects"]:
        if count >= n_cases:
            break
        kept.append(subject)
        count += len(subject["images"]) * len(subject["rois"])
    dest.mkdir(parents=True, exist_ok=True)
    copy = dest / "bench.yaml"
    copy.write_text(yaml.safe_dump({**source, "data_root": str(root), "subjects": kept},
                                   sort_keys=False), encoding="utf-8")
    return copy, count


def _warm_up(settings) -> None:
    """Run in each worker before the clock starts: one small two-ROI case through the runner's
    own task function (file reading, grouped extraction, cache write), so that imports and
    first calls are not what we time."""
    import warnings

    from neurorad.batch.runner import CaseTask, compute_cases

    with tempfile.TemporaryDirectory(prefix="neurorad-warm-up-") as tmp:
        manifest = write_cohort(Path(tmp), 2, 600)
        subject = yaml.safe_load(manifest.read_text())["subjects"][0]
        paths = {role: str(Path(tmp) / rel) for role, rel in
                 (("image", subject["images"]["T1"]), ("mask", subject["mask"]))}
        tasks = [CaseTask(key=f"warm-up-{label}", subject="warm-up", roi=roi, label=label,
                          image_name="T1", image_path=paths["image"], mask_path=paths["mask"],
                          settings=settings, device="cpu", image_display="T1",
                          mask_display="mask") for roi, label in subject["rois"].items()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = compute_cases(tasks, cache_dir=str(Path(tmp) / "cache"))
    if not all(r["ok"] for r in results):
        raise RuntimeError(f"warm-up case failed: {results}")


DRIVER_CPU: list[float] = []  # CPU seconds of this process (driver + local scheduler) per run


def timed_run(manifest: Path, settings, out: Path, workers: int) -> tuple[float, float]:
    """(wall seconds, summed seconds the workers spent computing tasks)."""
    from distributed import Client, LocalCluster, get_task_stream

    from neurorad.batch import extract_manifest
    from neurorad.batch.runner import SINGLE_THREAD_ENV

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, env=dict(SINGLE_THREAD_ENV)) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers)
        client.run(_warm_up, settings)  # imports and first calls are not what we time
        t0, cpu0 = time.perf_counter(), time.process_time()
        with get_task_stream(client) as stream:
            result = extract_manifest(manifest, settings, out, scheduler=client, progress=False,
                                      device="cpu")
        elapsed = time.perf_counter() - t0
        DRIVER_CPU.append(time.process_time() - cpu0)
    compute = sum(p["stop"] - p["start"] for task in stream.data for p in task["startstops"]
                  if p["action"] == "compute")
    if result.n_failed:
        raise RuntimeError(f"{result.n_failed} cases failed: {result.failures.head()}")
    return elapsed, compute


def _extract_repeatedly(settings, n: int, start_at: float) -> float:
    """Seconds for ``n`` extractions of one synthetic ROI in this process, after a warm-up;
    starts at wall-clock time ``start_at`` so that concurrent processes overlap fully."""
    import warnings

    import neurorad

    img, lab = synthetic_case(8000, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        neurorad.extract_features(img, lab, settings, label=1, device="cpu")
        time.sleep(max(0.0, start_at - time.time()))
        t0 = time.perf_counter()
        for _ in range(n):
            neurorad.extract_features(img, lab, settings, label=1, device="cpu")
    return time.perf_counter() - t0


def machine_ceiling(settings, workers: int, n: int = 20) -> float:
    """Speed-up of ``workers`` plain processes over one on the same extraction work, without
    Dask: what this machine allows at best (below ``workers`` when cores are shared, clocked
    down under load, or SMT siblings)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from neurorad.batch.runner import SINGLE_THREAD_ENV

    os.environ.update(SINGLE_THREAD_ENV)  # inherited by the spawned processes, as by workers
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        start = time.time() + 8.0  # after every process has imported and warmed up
        one = pool.submit(_extract_repeatedly, settings, n * workers, start).result()
        start = time.time() + 3.0
        parallel = [pool.submit(_extract_repeatedly, settings, n, start) for _ in range(workers)]
        slowest = max(f.result() for f in parallel)
    return one / slowest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Dask scaling of neurorad batch extraction")
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--voxels", type=int, default=16000, help="voxels per subject (2 ROIs)")
    ap.add_argument("--settings", default=None, help="preset/file (default: full IBSI, fbs 25, 3D)")
    ap.add_argument("--manifest", type=Path, default=None,
                    help="time the first subjects of this manifest (up to --cases cases), e.g. a "
                         "cohort of `neurorad demo-data`, instead of synthetic ROIs")
    ap.add_argument("--repeats", type=int, default=1,
                    help="alternate 1 and N workers this many times; best time of each")
    args = ap.parse_args(argv)

    import neurorad

    settings = neurorad.load_settings(args.settings or {
        "name": "bench-dask", "discretisation": {"method": "fbs_aligned", "bin_width": 25},
        "aggregations": ["3D"], "device": "cpu"})
    with tempfile.TemporaryDirectory(prefix="neurorad-bench-dask-") as tmp:
        tmp = Path(tmp)
        if args.manifest is None:
            manifest, n_cases = write_cohort(tmp / "data", args.cases, args.voxels), args.cases
            what = f"{n_cases} cases (~{args.voxels // 2} voxels each)"
        else:
            manifest, n_cases = first_cases(args.manifest, args.cases, tmp / "data")
            what = f"{n_cases} cases of {args.manifest}"
        load_before = os.getloadavg()[0]
        runs = {1: [], args.workers: []}
        for repeat in range(args.repeats):
            for workers in runs:
                runs[workers].append(timed_run(manifest, settings, tmp / f"out{workers}_{repeat}", workers))
        (t1, c1), (tn, cn) = (min(runs[w]) for w in runs)
        ceiling = machine_ceiling(settings, args.workers)
        load_after = os.getloadavg()[0]
    if args.repeats > 1:
        print("all runs (wall s): " + "; ".join(
            f"{w} worker(s) " + ", ".join(f"{t:.1f}" for t, _ in runs[w]) for w in runs))
    print(f"{what}, settings {settings.name}: "
          f"1 worker {t1:.1f} s, {args.workers} workers {tn:.1f} s, speed-up {t1 / tn:.2f}x "
          f"(usable CPUs {len(os.sched_getaffinity(0))}, load average {load_before:.1f} -> {load_after:.1f})")
    # Summed task compute time grows with the workers only when they compete for cores
    # (other load on the machine); runner overhead is wall time outside the tasks.
    print("driver + scheduler CPU per run (s): " + ", ".join(f"{c:.2f}" for c in DRIVER_CPU))
    print(f"machine ceiling: {args.workers} plain processes (no Dask) {ceiling:.2f}x one process on "
          f"the same extraction; Dask reached {t1 / tn / ceiling:.0%} of it")
    print(f"summed task compute: 1 worker {c1:.1f} s, {args.workers} workers {cn:.1f} s "
          f"(x{cn / c1:.2f}); runner overhead with 1 worker {max(t1 - c1, 0) / n_cases * 1e3:.0f} ms/case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
