"""Image filters on the GPU (CuPy) versus the CPU (NumPy/SciPy): parity and timing.

Needs only NumPy, SciPy, CuPy and the neurorad package (no SimpleITK): the IBSI-2 phase-1
phantoms and case specs come as a NumPy .npz (``benchmarks/data/ibsi2_phase1.npz``,
written by ``--prepare /work/shared``, which needs SimpleITK)::

    python benchmarks/gpu_filters.py --out "$OUT"                 # parity + bank at 256x256x180
    python benchmarks/gpu_filters.py --quick --out "$OUT"         # parity + bank at 96x96x64

1. **Parity**: every IBSI-2 phase-1 case (36 specs, those without a consensus map included:
   steered Riesz, Riesz-Simoncelli on the impulse) computed by ``apply_array`` from NumPy and
   from CuPy arrays. Pass: ``max |gpu - cpu| <= 1e-9 * max |cpu|`` for every map.
2. **Timing** of a filter bank of the kind papers use, on a synthetic MR-like volume
   (``--size``, default 256 x 256 x 180 at 1 mm): LoG at sigma 1, 2, 3 mm; 3-D
   rotation-invariant Laws L5E5E5 energy (delta 7); a Gabor bank (sigma 5 mm, lambda 2 mm,
   gamma 1.5, 16 orientations, average); level-1 coif1 wavelets, all 8 responses. CPU: NumPy
   /SciPy in this process (``OMP_NUM_THREADS=1`` recommended); GPU: after one warm-up run,
   median of ``--repeats``. Ratios are CPU / GPU time measured in the same run.

Prints, and writes ``gpu_filters_results.json`` to ``--out``. Exit status: 0 parity holds,
1 a parity failure, 2 no usable GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the neurorad package of this checkout
DEFAULT_INPUTS = HERE / "data" / "ibsi2_phase1.npz"
RTOL = 1e-9
BANK = {
    **{f"log_s{s}": {"filter": "log", "dimensions": "3d", "boundary": "mirror",
                     "sigma_mm": float(s), "cutoff_sigmas": 4.0} for s in (1, 2, 3)},
    "laws_L5E5E5_energy": {"filter": "laws", "dimensions": "3d", "boundary": "mirror",
                           "kernel": "L5E5E5", "rotation_invariant": True, "pooling": "max",
                           "response_energy": True, "energy_distance_voxels": 7},
    "gabor_bank": {"filter": "gabor", "dimensions": "2d", "boundary": "mirror", "sigma_mm": 5.0,
                   "wavelength_mm": 2.0, "spatial_aspect_ratio": 1.5, "orientation_deg": 0.0,
                   "rotation_invariant": True, "pooling": "average", "orthogonal_planes": False,
                   "response": "modulus", "orientation_step_deg": 22.5},
    **{f"wavelet_coif1_{r}": {"filter": "wavelet", "dimensions": "3d", "boundary": "mirror",
                              "kernel": "coif1", "wavelet_response": r, "decomposition_level": 1,
                              "rotation_invariant": False, "pooling": "none"}
       for r in ("LLL", "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH")},
}


def prepare_inputs(shared: Path, out: Path) -> Path:
    """Write the phase-1 phantoms (uint8 -> float64 on load) and the case specs to ``out``.

    Phantoms: A. Zwanenburg, IBSI, CC BY 4.0 (``shared/ibsi2/phase1/phantoms/LICENSE.md``);
    case specs from ``shared/ibsi2/phase1_cases.json``.
    """
    import SimpleITK as sitk

    root = shared / "ibsi2"
    doc = json.loads((root / "phase1_cases.json").read_text(encoding="utf-8"))
    arrays = {}
    for case in doc["cases"]:
        name = Path(case["phantom"]).name.split(".")[0]
        if name not in arrays:
            image = sitk.ReadImage(str(root / case["phantom"]))
            arrays[name] = sitk.GetArrayFromImage(image)
            arrays[f"{name}__spacing"] = np.array(image.GetSpacing()[::-1])
    cases = [{"id": c["id"], "phantom": Path(c["phantom"]).name.split(".")[0], "spec": c["spec"]}
             for c in doc["cases"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, cases=np.array(json.dumps(cases)), **arrays)
    return out


def load_cases(path: Path) -> list[tuple[str, np.ndarray, tuple, dict]]:
    data = np.load(path)
    out = []
    for case in json.loads(str(data["cases"])):
        image = data[case["phantom"]].astype(np.float64)
        spacing = tuple(float(s) for s in data[case["phantom"] + "__spacing"])
        out.append((case["id"], image, spacing, case["spec"]))
    return out


def check_parity(cases, xp) -> dict[str, str]:
    """case id -> problem ('' when CPU and GPU agree)."""
    from neurorad.filters import apply_array

    out = {}
    for case_id, image, spacing, spec in cases:
        cpu = apply_array(image, spacing, spec, xp=np)
        gpu = xp.asnumpy(apply_array(xp.asarray(image), spacing, spec))
        scale = float(np.abs(cpu).max())
        diff = float(np.abs(gpu - cpu).max())
        ok = gpu.shape == cpu.shape and np.isfinite(gpu).all() and diff <= RTOL * scale
        out[case_id] = "" if ok else f"max |gpu - cpu| = {diff:.3g}, max |cpu| = {scale:.3g}"
    return out


def synthetic_volume(shape, seed=0) -> np.ndarray:
    """Smooth 'anatomy' plus noise: blobs of different intensities, Rician-like noise."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    blobs = ndimage.gaussian_filter(rng.normal(size=shape), 6.0)
    image = 400.0 + 300.0 * blobs / (np.abs(blobs).max() + 1e-12)
    return np.abs(image + rng.normal(0.0, 20.0, shape))


def sync(xp) -> None:
    if xp is not np:
        xp.cuda.runtime.deviceSynchronize()


def time_bank(image, spacing, xp, repeats: int) -> dict[str, float]:
    """Seconds per filter of the bank (median of ``repeats`` after one warm-up on the GPU)."""
    from neurorad.filters import apply_array

    data = image if xp is np else xp.asarray(image)
    out = {}
    for name, spec in BANK.items():
        runs = []
        for i in range(repeats + (xp is not np)):
            sync(xp)
            t0 = time.perf_counter()
            apply_array(data, spacing, spec, xp=xp)
            sync(xp)
            if xp is np or i > 0:
                runs.append(time.perf_counter() - t0)
        out[name] = statistics.median(runs)
    return out


def gpu_pool_bytes(xp) -> int | None:
    try:
        return int(xp.get_default_memory_pool().total_bytes())
    except Exception:  # the CuPy emulator has no memory pool
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=Path, default=DEFAULT_INPUTS)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    ap.add_argument("--size", default="180,256,256", help="bank volume z,y,x (1 mm voxels)")
    ap.add_argument("--repeats", type=int, default=3, help="GPU repeats (CPU runs once)")
    ap.add_argument("--quick", action="store_true", help="bank volume 64,96,96")
    ap.add_argument("--cases", default="", help="comma-separated case ids (default: all)")
    ap.add_argument("--prepare", type=Path, metavar="SHARED",
                    help="write --inputs from SHARED/ibsi2 (needs SimpleITK)")
    args = ap.parse_args(argv)
    if args.prepare:
        print(f"wrote {prepare_inputs(args.prepare, args.inputs)}")
        return 0

    from neurorad.backend import gpu_available, gpu_unavailable_reason

    if not gpu_available():
        print(f"no usable GPU: {gpu_unavailable_reason()}", file=sys.stderr)
        return 2
    import cupy as xp

    report = {"cupy": xp.__version__, "numpy": np.__version__, "rtol": RTOL,
              "cpu": platform.processor() or platform.machine()}
    try:
        name = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)["name"]
        report["device"] = name.decode() if isinstance(name, bytes) else str(name)
    except Exception as exc:  # a description is nice to have, never essential
        report["device"] = f"unknown ({type(exc).__name__})"
    cases = load_cases(args.inputs)
    if args.cases:
        wanted = set(args.cases.split(","))
        cases = [c for c in cases if c[0] in wanted]
    t0 = time.perf_counter()
    parity = check_parity(cases, xp)
    report["parity"] = parity
    report["parity_ok"] = not any(parity.values())
    for case_id, problem in parity.items():
        print(f"parity {case_id:7s} {'OK' if not problem else 'FAIL ' + problem}")
    print(f"parity: {sum(not p for p in parity.values())}/{len(parity)} maps within "
          f"{RTOL:g} of max|cpu| ({time.perf_counter() - t0:.1f} s)")

    shape = (64, 96, 96) if args.quick else tuple(int(s) for s in args.size.split(","))
    image = synthetic_volume(shape)
    spacing = (1.0, 1.0, 1.0)
    cpu = time_bank(image, spacing, np, 1)
    gpu = time_bank(image, spacing, xp, args.repeats)
    report["bank"] = {"shape_zyx": list(shape), "voxels": int(np.prod(shape)),
                      "cpu_s": cpu, "gpu_s": gpu,
                      "cpu_total_s": sum(cpu.values()), "gpu_total_s": sum(gpu.values()),
                      "gpu_memory_pool_bytes": gpu_pool_bytes(xp)}
    for name in BANK:
        print(f"{name:22s} CPU {cpu[name]:8.3f} s  GPU {gpu[name]:8.4f} s  "
              f"x{cpu[name] / max(gpu[name], 1e-12):.1f}")
    total_c, total_g = sum(cpu.values()), sum(gpu.values())
    print(f"bank of {len(BANK)} maps on {shape}: CPU {total_c:.2f} s, GPU {total_g:.3f} s, "
          f"x{total_c / max(total_g, 1e-12):.1f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_filters_results.json").write_text(json.dumps(report, indent=2),
                                                       encoding="utf-8")
    return 0 if report["parity_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
