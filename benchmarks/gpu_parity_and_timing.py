"""GPU (CuPy) versus CPU (NumPy): feature parity and timing, in one script for the GPU machine.

Run on a machine with a CUDA GPU and CuPy (needs NumPy, SciPy, scikit-image, CuPy and the
neurorad package; NOT SimpleITK, Dask or papermill — the IBSI phantoms come as a NumPy .npz)::

    python benchmarks/gpu_parity_and_timing.py --out "$OUT"            # ~2-4 min on an H100
    python benchmarks/gpu_parity_and_timing.py --quick --out "$OUT"    # parity + 4k/30k only

It prints and writes ``gpu_results.json``:

1. **Parity**: every feature family (statistics, histogram, IVH, morphology, local intensity,
   fractal, GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM with all aggregations) on the IBSI digital
   phantom, an IBSI CT phantom ROI and random ROIs of several shapes and sizes, computed from
   NumPy arrays and from the same arrays on the GPU. Pass: equal keys, equal NaN pattern and
   ``|gpu - cpu| <= 1e-9 * max(|cpu|, |gpu|) + 1e-12`` for every value (the ``1e-12`` floor
   admits float rounding around features whose exact value is 0).
   The batched texture path (``texture_features_batch``: every ROI x the seed protocol's 14
   discretisations in chunked launches) is checked the same way: GPU batched against CPU,
   one item at a time through the public ``*_features`` functions.
2. **Timing** of the six texture families (one FBN-32 discretisation, 3D aggregations) per
   ROI at ~4k, ~30k and ~250k voxels: CPU (NumPy, this process, one thread recommended:
   ``OMP_NUM_THREADS=1``), GPU one ROI per call, and GPU *batched*: the matrix builders
   (``glcm_matrices`` etc.) called once for a batch of ``--batch`` ROIs.
3. **Timing of the seed protocol's texture** (14 discretisations: FBN and equal-probability
   x 2..128 levels, six families, 3D) per ROI: CPU through ``texture_features_batch`` (what
   ``extract_features`` runs), GPU for one ROI, and GPU for ``--seed-batch`` ROIs in one
   ``texture_features_batch`` call (what ``extract_features_batch`` and the batch runner's
   ``cases_per_task`` run), matrices *and* features.

Without ``--inputs`` it reads ``benchmarks/data/gpu_inputs.npz`` (IBSI digital phantom,
committed) and, when present, ``benchmarks/data/ibsi_ct_roi.npz`` (IBSI CT phantom ROI; CC BY-NC,
so not committed): ``--prepare /work/shared`` (needs SimpleITK) writes both.
Exit status: 0 parity holds, 1 a parity failure, 2 no usable GPU.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_INPUTS = HERE / "data" / "gpu_inputs.npz"
CT_INPUTS = "ibsi_ct_roi.npz"  # beside --inputs; optional (not committed: CC BY-NC)
RTOL, ATOL = 1e-9, 1e-12
DIRECTIONAL = ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb", "3D_avg", "3D_comb")
SEED_LEVELS = (2, 4, 8, 16, 32, 64, 128)  # the seed protocol: FBN and EP at each
PLAIN = ("2D", "2_5D", "3D")
TIMING_SIZES = {"4k": 4_000, "30k": 30_000, "250k": 250_000}


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def prepare_inputs(shared: Path, out: Path) -> list[Path]:
    """Write the IBSI digital phantom to ``out`` and the CT phantom's ROI box (+2 voxels) to
    ``CT_INPUTS`` beside it.

    The CT phantom is licensed CC BY-NC 3.0, so its crop is not committed to this BSD project
    (``benchmarks/data/.gitignore``): prepare it where /work/shared is, then carry it to the
    GPU machine. The digital phantom is CC BY 4.0 (Zwanenburg et al., IBSI).
    """
    import SimpleITK as sitk

    def read(p):
        img = sitk.ReadImage(str(p))
        return sitk.GetArrayFromImage(img), tuple(reversed(img.GetSpacing()))

    digital, dspacing = read(shared / "ibsi" / "digital_phantom" / "image" / "phantom.nii.gz")
    dmask, _ = read(shared / "ibsi" / "digital_phantom" / "mask" / "mask.nii.gz")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, digital_image=digital.astype(np.float64), digital_mask=dmask > 0,
                        digital_spacing=np.array(dspacing))
    ct, cspacing = read(shared / "ibsi_ct" / "image" / "phantom.nii.gz")
    cmask, _ = read(shared / "ibsi_ct" / "mask" / "mask.nii.gz")
    box = tuple(slice(max(int(i.min()) - 2, 0), int(i.max()) + 3) for i in np.nonzero(cmask))
    ct_out = out.parent / CT_INPUTS
    np.savez_compressed(ct_out, ct_image=ct[box].astype(np.float64), ct_mask=cmask[box] > 0,
                        ct_spacing=np.array(cspacing))
    return [out, ct_out]


def random_roi(rng, shape, fill=0.6, spacing=(1.0, 1.0, 1.0)):
    """A lumpy ellipsoid ROI of about ``fill`` x the box volume in a noisy image."""
    grids = np.meshgrid(*[np.linspace(-1, 1, n) if n > 1 else np.zeros(1) for n in shape],
                        indexing="ij")
    radius = sum(g ** 2 for g in grids)
    lumps = rng.normal(0.0, 0.15, shape)
    mask = radius + lumps <= np.quantile(radius + lumps, fill)
    image = rng.normal(100.0, 20.0, shape) + 30.0 * np.cos(3 * grids[-1])
    return image, mask, tuple(float(s) for s in spacing)


def roi_of_size(rng, n_voxels: int):
    """A random ROI with about ``n_voxels`` voxels (cubic box, 60 % filled)."""
    side = max(2, round((n_voxels / 0.6) ** (1 / 3)))
    return random_roi(rng, (side, side, side), fill=n_voxels / side ** 3)


def parity_cases(inputs: dict, seed: int = 0) -> dict:
    """name -> (image, mask, spacing, discretisation) for the parity check."""
    rng = np.random.default_rng(seed)
    cases = {"ibsi_digital_phantom": (inputs["digital_image"], inputs["digital_mask"],
                                      tuple(inputs["digital_spacing"]), ("none", 6))}
    if "ct_image" in inputs:
        cases["ibsi_ct_phantom_roi"] = (inputs["ct_image"], inputs["ct_mask"],
                                        tuple(inputs["ct_spacing"]), ("fbn", 32))
    for name, shape, spacing, bins in (
            ("single_slice_24x24", (1, 24, 24), (3.0, 0.8, 0.8), 16),
            ("small_5x12x9_anisotropic", (5, 12, 9), (2.5, 1.0, 0.7), 8),
            ("medium_16x20x18", (16, 20, 18), (1.0, 1.0, 1.0), 32),
            ("large_34x36x32", (34, 36, 32), (1.2, 1.0, 1.0), 64)):
        image, mask, sp = random_roi(rng, shape, spacing=spacing)
        cases[name] = (image, mask, sp, ("fbn", bins))
    return cases


# --------------------------------------------------------------------------------------------
# Features on one array module
# --------------------------------------------------------------------------------------------

def discretised(image, mask, discretisation):
    """(levels inside the mask, N_g, binned volume) on the arrays' module."""
    from neurorad.backend import get_xp
    from neurorad.preprocess.discretise import as_grey_levels, fixed_bin_number

    xp = get_xp(image)
    values = image[mask]
    method, n = discretisation
    levels, n_levels = (as_grey_levels(values)[0], n) if method == "none" else fixed_bin_number(values, n)
    binned = xp.zeros(image.shape, dtype=xp.int64)
    binned[mask] = levels
    return values, levels, int(n_levels), binned


def all_family_features(image, mask, spacing, discretisation) -> dict[str, float]:
    """Every feature family on (image, mask) in the arrays' own module (NumPy or CuPy)."""
    from neurorad.features import (fractal, glcm, gldzm, glrlm, glszm, histogram, ivh,
                                   local_intensity, morphology, ngldm, ngtdm, statistics)
    from neurorad.backend import to_numpy

    values, levels, n_levels, binned = discretised(image, mask, discretisation)
    parts = [
        statistics.statistics_features(values),
        histogram.histogram_features(levels, n_levels),
        ivh.ivh_features(levels.astype(values.dtype), value_range=(1.0, float(n_levels))),
        morphology.morphology_features(mask, mask, image, spacing),
        local_intensity.local_intensity_features(image, mask, spacing),
        fractal.fractal_features(mask, spacing),
        glcm.glcm_features(binned, n_levels, aggregations=DIRECTIONAL),
        glrlm.glrlm_features(binned, n_levels, aggregations=DIRECTIONAL),
        glszm.glszm_features(binned, n_levels, aggregations=PLAIN),
        gldzm.gldzm_features(binned, n_levels, mask, aggregations=PLAIN),
        ngtdm.ngtdm_features(binned, n_levels, aggregations=PLAIN),
        ngldm.ngldm_features(binned, n_levels, aggregations=PLAIN),
    ]
    return {k: float(to_numpy(v)) for part in parts for k, v in part.items()}


def texture_features(binned, n_levels: int, mask) -> dict[str, float]:
    """The six texture families, 3D aggregations (the timed workload)."""
    from neurorad.features import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
    from neurorad.backend import to_numpy

    parts = [glcm.glcm_features(binned, n_levels, aggregations=("3D_avg", "3D_comb")),
             glrlm.glrlm_features(binned, n_levels, aggregations=("3D_avg", "3D_comb")),
             glszm.glszm_features(binned, n_levels, aggregations=("3D",)),
             gldzm.gldzm_features(binned, n_levels, mask, aggregations=("3D",)),
             ngtdm.ngtdm_features(binned, n_levels, aggregations=("3D",)),
             ngldm.ngldm_features(binned, n_levels, aggregations=("3D",))]
    return {k: float(to_numpy(v)) for part in parts for k, v in part.items()}


def texture_matrices_batched(batch, masks) -> None:
    """Build the 3D matrices of all six texture families for a batch of ROIs: one builder
    call per family for the whole batch."""
    from neurorad.features import glcm, gldzm, glrlm, glszm, ngldm, ngtdm

    glcm.glcm_matrices(batch)
    glrlm.glrlm_matrices(batch)
    glszm.glszm_matrices(batch, in_plane=False)
    gldzm.gldzm_matrices([(b, n, m) for (b, n), m in zip(batch, masks)], in_plane=False)
    ngtdm.ngtdm_matrices(batch, in_plane=False)
    ngldm.ngldm_matrices(batch, in_plane=False)


def seed_items(image, mask, roi_key):
    """The seed protocol's 14 discretisations of one ROI as texture items (arrays' module)."""
    from neurorad.features.texture_batch import TextureItem
    from neurorad.preprocess.discretise import equal_probability, fbn_nested_levels

    values = image[mask]
    fbn = fbn_nested_levels(values, SEED_LEVELS)
    pairs = [fbn[n] for n in SEED_LEVELS] + [equal_probability(values, n) for n in SEED_LEVELS]
    return [TextureItem(levels.astype("uint8"), n, mask, mask, roi_key=roi_key)
            for levels, n in pairs]


def seed_texture_params():
    from neurorad.features.texture_batch import TEXTURE_FAMILIES, TextureParams

    return TextureParams(TEXTURE_FAMILIES, ("3D_avg", "3D_comb"), ("3D",))


def seed_texture_batched(rois) -> list[dict]:
    """``texture_features_batch`` over every (ROI, seed discretisation) of ``rois``."""
    from neurorad.features.texture_batch import texture_features_batch

    items = [item for k, (image, mask) in enumerate(rois) for item in seed_items(image, mask, k)]
    return texture_features_batch(items, seed_texture_params())


def seed_texture_one_by_one(image, mask) -> list[dict]:
    """The same features item by item through the public ``*_features`` functions."""
    from neurorad.backend import get_xp

    xp = get_xp(image)
    out = []
    for item in seed_items(image, mask, 0):
        binned = xp.zeros(mask.shape, dtype=xp.int64)
        binned[mask] = item.levels
        out.append(texture_features(binned, item.n_levels, mask))
    return out


def check_batched_parity(cases: dict, xp) -> dict[str, list[str]]:
    """GPU ``texture_features_batch`` over all cases at once against CPU item by item."""
    names = list(cases)
    rois = [(image, mask) for image, mask, _, _ in cases.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gpu = seed_texture_batched([on_device(xp, image, mask) for image, mask in rois])
        out = {}
        for k, (name, (image, mask)) in enumerate(zip(names, rois)):
            cpu = seed_texture_one_by_one(image, mask)
            problems = []
            for level, (a, b) in enumerate(zip(cpu, gpu[14 * k:14 * (k + 1)])):
                problems += [f"item {level}: {p}" for p in compare_features(a, b)]
            out[f"batched:{name}"] = problems
    return out


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------

def compare_features(reference: dict, other: dict, rtol: float = RTOL, atol: float = ATOL) -> list[str]:
    """Differences between two feature dicts (empty list when they agree).

    Agreement: same keys; NaN exactly where the reference is NaN; otherwise
    ``|a - b| <= rtol * max(|a|, |b|) + atol``.
    """
    problems = []
    for key in sorted(set(reference) ^ set(other)):
        problems.append(f"{key}: only in {'reference' if key in reference else 'other'}")
    for key in sorted(set(reference) & set(other)):
        a, b = reference[key], other[key]
        if math.isnan(a) or math.isnan(b):
            if not (math.isnan(a) and math.isnan(b)):
                problems.append(f"{key}: {a!r} vs {b!r} (NaN in one only)")
        elif math.isinf(a) or math.isinf(b):
            if a != b:
                problems.append(f"{key}: {a!r} vs {b!r}")
        elif abs(a - b) > rtol * max(abs(a), abs(b)) + atol:
            rel = abs(a - b) / max(abs(a), abs(b))
            problems.append(f"{key}: {a!r} vs {b!r} (relative difference {rel:.2e})")
    return problems


def on_device(xp, image, mask):
    return xp.asarray(image), xp.asarray(mask)


def check_parity(cases: dict, xp) -> dict[str, list[str]]:
    """Per case: problems of features computed on ``xp`` arrays against NumPy ones."""
    out = {}
    for name, (image, mask, spacing, disc) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined features warn; NaN patterns are compared
            cpu = all_family_features(image, mask, spacing, disc)
            gpu = all_family_features(*on_device(xp, image, mask), spacing, disc)
        out[name] = compare_features(cpu, gpu)
    return out


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------

def synchronize(xp) -> None:
    if xp.__name__ == "cupy":
        xp.cuda.runtime.deviceSynchronize()


def best_time(fn, xp, repeats: int) -> float:
    """Best of ``repeats`` wall times (after one warm-up call, which compiles GPU kernels)."""
    fn()
    synchronize(xp)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        synchronize(xp)
        times.append(time.perf_counter() - t0)
    return min(times)


def time_size(n_voxels: int, xp, batch: int, repeats: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    rois = [roi_of_size(rng, n_voxels) for _ in range(batch)]
    prepared_cpu = [(discretised(im, m, ("fbn", 32))[3], m) for im, m, _ in rois]
    prepared_gpu = [(xp.asarray(b), xp.asarray(m)) for b, m in prepared_cpu]
    binned0, mask0 = prepared_cpu[0]
    g_binned0, g_mask0 = prepared_gpu[0]
    batch_gpu = [(b, 32) for b, _ in prepared_gpu]
    masks_gpu = [m for _, m in prepared_gpu]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = best_time(lambda: texture_features(binned0, 32, mask0), np, repeats)
        gpu_one = best_time(lambda: texture_features(g_binned0, 32, g_mask0), xp, repeats)
        gpu_matrices_one = best_time(lambda: texture_matrices_batched(batch_gpu[:1], masks_gpu[:1]), xp, repeats)
        gpu_matrices_batch = best_time(lambda: texture_matrices_batched(batch_gpu, masks_gpu), xp, repeats) / batch
        cpu_matrices_one = best_time(lambda: texture_matrices_batched([(binned0, 32)], [mask0]), np, repeats)
    return {
        "voxels": int(mask0.sum()), "batch": batch,
        "cpu_features_s": cpu, "gpu_features_one_roi_s": gpu_one,
        "cpu_matrices_one_roi_s": cpu_matrices_one,
        "gpu_matrices_one_roi_s": gpu_matrices_one,
        "gpu_matrices_batched_per_roi_s": gpu_matrices_batch,
        "speedup_features_one_roi": cpu / gpu_one,
        "speedup_matrices_one_roi": cpu_matrices_one / gpu_matrices_one,
        "speedup_matrices_batched_per_roi": cpu_matrices_one / gpu_matrices_batch,
    }


def time_seed_protocol(n_voxels: int, xp, batch: int, repeats: int, seed: int = 2) -> dict:
    """Seed-protocol texture (14 discretisations, six families, 3D) per ROI: CPU, GPU one
    ROI, GPU ``batch`` ROIs per ``texture_features_batch`` call."""
    rng = np.random.default_rng(seed)
    rois = [roi_of_size(rng, n_voxels)[:2] for _ in range(batch)]
    on_gpu = [on_device(xp, image, mask) for image, mask in rois]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = best_time(lambda: seed_texture_batched(rois[:1]), np, repeats)
        gpu_one = best_time(lambda: seed_texture_batched(on_gpu[:1]), xp, repeats)
        gpu_batch = best_time(lambda: seed_texture_batched(on_gpu), xp, repeats) / batch
    return {"voxels": int(rois[0][1].sum()), "batch": batch, "cpu_per_roi_s": cpu,
            "gpu_one_roi_s": gpu_one, "gpu_batched_per_roi_s": gpu_batch,
            "speedup_one_roi": cpu / gpu_one, "speedup_batched_per_roi": cpu / gpu_batch}


# --------------------------------------------------------------------------------------------

def device_description(xp) -> str:
    props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=Path, default=DEFAULT_INPUTS)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    ap.add_argument("--batch", type=int, default=64, help="ROIs per batched builder call")
    ap.add_argument("--seed-batch", type=int, default=32,
                    help="ROIs per texture_features_batch call in the seed-protocol timing")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="parity, then timing at 4k and 30k only")
    ap.add_argument("--prepare", type=Path, metavar="SHARED",
                    help="write --inputs from the IBSI phantoms in SHARED (needs SimpleITK)")
    args = ap.parse_args(argv)
    if args.prepare:
        for path in prepare_inputs(args.prepare, args.inputs):
            print(f"wrote {path}")
        return 0

    from neurorad.backend import gpu_available, gpu_unavailable_reason

    if not gpu_available():
        print(f"no usable GPU: {gpu_unavailable_reason()}", file=sys.stderr)
        return 2
    import cupy as xp

    inputs = dict(np.load(args.inputs))
    ct = args.inputs.parent / CT_INPUTS
    if ct.exists():
        inputs.update(np.load(ct))
    else:
        print(f"note: {ct} absent (run --prepare): parity without the IBSI CT phantom ROI")
    report = {"device": device_description(xp), "cpu": platform.processor() or platform.machine(),
              "cupy": xp.__version__, "numpy": np.__version__, "rtol": RTOL, "atol": ATOL}
    t0 = time.perf_counter()
    cases = parity_cases(inputs)
    parity = check_parity(cases, xp)
    parity.update(check_batched_parity(cases, xp))
    report["parity"] = parity
    report["parity_ok"] = not any(parity.values())
    for name, problems in parity.items():
        print(f"parity {name:28s} {'OK' if not problems else f'{len(problems)} mismatches'}")
        for p in problems[:10]:
            print(f"    {p}")
    print(f"parity took {time.perf_counter() - t0:.1f} s")

    report["timing"] = {}
    sizes = {k: v for k, v in TIMING_SIZES.items() if not (args.quick and k == "250k")}
    for label, n in sizes.items():
        batch = args.batch if n <= 30_000 else max(1, min(args.batch, 64))
        res = time_size(n, xp, batch, args.repeats)
        report["timing"][label] = res
        print(f"{label:>5s} voxels={res['voxels']:7d}  CPU {res['cpu_features_s'] * 1e3:8.1f} ms  "
              f"GPU one ROI {res['gpu_features_one_roi_s'] * 1e3:7.1f} ms "
              f"(x{res['speedup_features_one_roi']:.1f})  matrices: GPU one x{res['speedup_matrices_one_roi']:.1f}, "
              f"batched({batch}) x{res['speedup_matrices_batched_per_roi']:.1f} per ROI")
    report["seed_protocol_timing"] = {}
    for label, n in sizes.items():
        batch = args.seed_batch if n <= 30_000 else max(1, min(args.seed_batch, 16))
        res = time_seed_protocol(n, xp, batch, max(1, args.repeats - 1))
        report["seed_protocol_timing"][label] = res
        print(f"seed {label:>5s} voxels={res['voxels']:7d}  CPU {res['cpu_per_roi_s']:7.2f} s/ROI  "
              f"GPU one ROI x{res['speedup_one_roi']:.1f}  batched({batch}) "
              f"x{res['speedup_batched_per_roi']:.1f} per ROI")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_results.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out / 'gpu_results.json'}")
    return 0 if report["parity_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
