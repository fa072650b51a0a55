"""neurorad versus MIRP: a filter bank plus the full IBSI feature set on every response map.

    .venv/bin/pip install -e .[bench]          # MIRP (and PyRadiomics for the other benchmark)
    .venv/bin/python benchmarks/bench_filters_vs_mirp.py [--shape 256 256 180] [--voxels 30000]
        [--only neurorad|mirp] [--json results.json]

One synthetic MR volume (x, y, z = 256 x 256 x 180 voxels of 1 mm, MR-like intensities:
smooth structure plus noise) with one lumpy ellipsoid "brain ROI" of about 30 000 voxels,
written as NIfTI; each tool reads the files (timed), applies the same filter bank to the
whole image and computes the IBSI features of the ROI on the original image and on every
response map:

* LoG at 3 scales (sigma 1, 2, 3 mm, cut-off 4 sigma);
* 3-D rotation-invariant Laws energy (L5E5E5, max pooling over the 24 rotations, energy
  delta 7);
* a Gabor bank (sigma 3 mm, wavelength 4 and 8 mm, gamma 1, orientations every 45 degrees
  averaged, in the three orthogonal planes: MIRP's 3-D rotation-invariant Gabor);
* level-1 undecimated coif1 wavelets, all 8 responses (LLL ... HHH, not rotation invariant);

mirror boundary everywhere; features: every IBSI family (morphology on the original only),
fixed bin number 16, 3-D aggregations (averaged and merged). Each tool runs in its own
process, one thread (``OMP_NUM_THREADS=1``), and reports CPU time (process time, the measure
that a shared machine disturbs least), wall time and peak resident memory (``ru_maxrss`` of
that process: input volume included for both). Printed: each tool's numbers and the ratio
**neurorad / MIRP** (lower is better). ``--only`` runs one tool.

The two tools do not compute identical numbers (MIRP's defaults for what the bank leaves
open, e.g. its response-map intensity handling, are MIRP's); the benchmark compares the work,
not the values. It does check that both produced features for all 14 response maps.
Results: ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads: single-thread comparison

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

N_BINS = 16
LOG_SIGMAS = (1.0, 2.0, 3.0)
GABOR = {"sigma_mm": 3.0, "wavelengths_mm": (4.0, 8.0), "gamma": 1.0, "step_deg": 45.0}
WAVELET = "coif1"
WAVELET_RESPONSES = tuple(a + b + c for a in "LH" for b in "LH" for c in "LH")
N_RESPONSE_MAPS = len(LOG_SIGMAS) + 1 + len(GABOR["wavelengths_mm"]) + len(WAVELET_RESPONSES)


def write_case(folder: Path, shape_xyz=(256, 256, 180), n_voxels=30_000, seed=0):
    """image.nii.gz / mask.nii.gz in ``folder``: the volume and its ROI (see module doc)."""
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    nx, ny, nz = shape_xyz
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij",
                          sparse=True)
    image = (500 + 150 * np.sin(x / 7.0) * np.cos(y / 9.0) + 80 * np.sin(z / 5.0)
             + rng.normal(0, 60, (nz, ny, nx))).astype(np.float32)
    # Lumpy ellipsoid in the middle of the volume, ~n_voxels.
    side = round((n_voxels / 0.5) ** (1 / 3))
    box = (side, side, side)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in box], indexing="ij")
    score = sum(g ** 2 for g in grids) + rng.normal(0, 0.1, box)
    inside = score <= np.sort(score.ravel())[n_voxels - 1]
    mask = np.zeros((nz, ny, nx), dtype=np.uint8)
    start = [(n - s) // 2 for n, s in zip((nz, ny, nx), box)]
    mask[tuple(slice(s, s + b) for s, b in zip(start, box))] = inside
    img = sitk.GetImageFromArray(image)
    img.SetSpacing((1.0, 1.0, 1.0))
    lab = sitk.GetImageFromArray(mask)
    lab.CopyInformation(img)
    sitk.WriteImage(img, str(folder / "image.nii.gz"))
    sitk.WriteImage(lab, str(folder / "mask.nii.gz"))
    return int(mask.sum())


def neurorad_settings() -> dict:
    """The bank in neurorad settings (specs as in neurorad.filters)."""
    specs = [{"filter": "log", "dimensions": "3d", "boundary": "mirror", "sigma_mm": s,
              "cutoff_sigmas": 4.0} for s in LOG_SIGMAS]
    specs.append({"filter": "laws", "dimensions": "3d", "boundary": "mirror",
                  "kernel": "L5E5E5", "rotation_invariant": True, "pooling": "max",
                  "response_energy": True, "energy_distance_voxels": 7})
    specs += [{"filter": "gabor", "dimensions": "2d", "boundary": "mirror",
               "sigma_mm": GABOR["sigma_mm"], "wavelength_mm": w,
               "spatial_aspect_ratio": GABOR["gamma"], "orientation_deg": 0.0,
               "orientation_step_deg": GABOR["step_deg"], "rotation_invariant": True,
               "pooling": "average", "orthogonal_planes": True, "response": "modulus"}
              for w in GABOR["wavelengths_mm"]]
    specs += [{"filter": "wavelet", "dimensions": "3d", "boundary": "mirror",
               "kernel": WAVELET, "wavelet_response": r, "decomposition_level": 1,
               "rotation_invariant": False, "pooling": "none"} for r in WAVELET_RESPONSES]
    return {"name": "bench-filter-bank", "resample": None, "families": [
        "morphology", "local_intensity", "statistics", "histogram", "ivh", "glcm", "glrlm",
        "glszm", "gldzm", "ngtdm", "ngldm"],
        "discretisation": {"method": "fbn", "n_bins": N_BINS},
        "ivh_discretisation": {"method": "fbn", "n_bins": 1000},
        "aggregations": ["3D"], "device": "cpu",
        "filters": {"keep_original": True, "specs": specs}}


def run_neurorad(folder: Path) -> dict:
    import neurorad

    settings = neurorad.load_settings(neurorad_settings())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        features = neurorad.extract_features(str(folder / "image.nii.gz"),
                                             str(folder / "mask.nii.gz"), settings)
    maps = {t.split("__", 1)[1] for t in features if "__" in t}
    return {"n_features": len(features), "n_response_maps": len(maps)}


def run_mirp(folder: Path) -> dict:
    import mirp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        common = {"boundary_condition": "mirror", "by_slice": False}
        tables = []
        kernels = [
            ("laplacian_of_gaussian", {"laplacian_of_gaussian_sigma": list(LOG_SIGMAS),
                                       "laplacian_of_gaussian_kernel_truncate": 4.0}),
            ("laws", {"laws_kernel": "L5E5E5", "laws_compute_energy": True, "laws_delta": 7,
                      "laws_rotation_invariance": True, "laws_pooling_method": "max"}),
            ("gabor", {"gabor_sigma": GABOR["sigma_mm"],
                       "gabor_lambda": list(GABOR["wavelengths_mm"]),
                       "gabor_gamma": GABOR["gamma"], "gabor_theta": 0.0,
                       "gabor_theta_step": GABOR["step_deg"], "gabor_rotation_invariance": True,
                       "gabor_pooling_method": "mean", "gabor_response": "modulus"}),
            ("separable_wavelet", {"separable_wavelet_families": WAVELET,
                                   "separable_wavelet_set": [r.lower() for r in
                                                             WAVELET_RESPONSES],
                                   "separable_wavelet_decomposition_level": 1,
                                   "separable_wavelet_rotation_invariance": False}),
        ]
        filter_kwargs: dict = {}
        for _, kw in kernels:
            filter_kwargs.update(kw)
        tables = mirp.extract_features(
            image=str(folder / "image.nii.gz"), mask=str(folder / "mask.nii.gz"),
            image_modality="mr", base_feature_families="all",
            base_discretisation_method="fixed_bin_number", base_discretisation_n_bins=N_BINS,
            ivh_discretisation_method="fixed_bin_number", ivh_discretisation_n_bins=1000,
            glcm_spatial_method=["3d_average", "3d_volume_merge"],
            glrlm_spatial_method=["3d_average", "3d_volume_merge"],
            glszm_spatial_method="3d", gldzm_spatial_method="3d", ngtdm_spatial_method="3d",
            ngldm_spatial_method="3d",
            filter_kernels=[k for k, _ in kernels], response_map_feature_families="all",
            response_map_discretisation_method="fixed_bin_number",
            response_map_discretisation_n_bins=N_BINS, **common, **filter_kwargs)
    table = tables[0]
    columns = [c for c in table.columns if c not in ("sample_name", "image_file_name")]
    # MIRP names response-map features <filter description>_<IBSI tag>: one stat_mean each.
    maps = [c for c in columns if c.endswith("_stat_mean")]
    return {"n_features": len(columns), "n_response_maps": len(maps)}


def child(tool: str, folder: Path) -> dict:
    """Run one tool in this process; CPU and wall time, peak RSS."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    out = (run_neurorad if tool == "neurorad" else run_mirp)(folder)
    out.update(tool=tool, cpu_s=time.process_time() - cpu, wall_s=time.perf_counter() - wall,
               peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               rss_before_mib=rss_before / 1024)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", type=int, nargs=3, default=(256, 256, 180), metavar=("X", "Y", "Z"))
    ap.add_argument("--voxels", type=int, default=30_000)
    ap.add_argument("--only", choices=("neurorad", "mirp"))
    ap.add_argument("--json")
    ap.add_argument("--child", choices=("neurorad", "mirp"), help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, Path(args.folder))))
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n = write_case(folder, tuple(args.shape), args.voxels)
        print(f"volume {args.shape[0]} x {args.shape[1]} x {args.shape[2]} voxels (1 mm), ROI "
              f"{n} voxels; {N_RESPONSE_MAPS} response maps + the original; "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} (machine shared)")
        for tool in ("neurorad", "mirp"):
            if args.only and tool != args.only:
                continue
            proc = subprocess.run([sys.executable, __file__, "--child", tool, "--folder",
                                   str(folder)], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{tool}: failed\n{proc.stderr[-3000:]}")
                return 1
            results[tool] = json.loads(proc.stdout.strip().splitlines()[-1])
            r = results[tool]
            print(f"{tool:9s} CPU {r['cpu_s']:8.1f} s  wall {r['wall_s']:8.1f} s  peak RSS "
                  f"{r['peak_rss_mib']:7.0f} MiB  features {r['n_features']}")
    for tool, r in results.items():
        if r["n_response_maps"] != N_RESPONSE_MAPS:
            print(f"{tool}: features of {r['n_response_maps']} response maps, expected "
                  f"{N_RESPONSE_MAPS}")
            return 1
    if len(results) == 2:
        a, b = results["neurorad"], results["mirp"]
        print(f"ratio neurorad / MIRP: CPU {a['cpu_s'] / b['cpu_s']:.3f}, wall "
              f"{a['wall_s'] / b['wall_s']:.3f}, peak RSS "
              f"{a['peak_rss_mib'] / b['peak_rss_mib']:.2f}")
    results["machine"] = {"cpus": os.cpu_count(), "load_1min": os.getloadavg()[0],
                          "python": platform.python_version()}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
