"""neurorad versus PyRadiomics, timed in the same run on the same images (one CPU thread).

    .venv/bin/pip install -e .[bench]          # PyRadiomics (published as pyradiomics-bhklab)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_vs_pyradiomics.py [--sizes 4k 30k 250k]
        [--shapes lumpy sphere lobulated] [--repeats 3] [--profile 250k] [--json results.json]

For each ROI size and shape (``--shapes``: lumpy ellipsoid, smooth sphere, lobulated ball;
MR-like intensities, in an image box 8 voxels larger on every side: local-intensity peaks
look outside the ROI) it times

* ``pyradiomics``: PyRadiomics' 7 feature classes (firstorder, shape, glcm, glrlm, glszm,
  gldm, ngtdm), its default settings (bin width 25, 3D, directions averaged): the baseline;
* ``nr_7fam``: neurorad, the same 7 families (statistics, morphology, GLCM, GLRLM, GLSZM,
  NGLDM, NGTDM), the same discretisation (``fbs_aligned`` width 25 = PyRadiomics' bin edges),
  ``3D_avg`` / ``3D``;
* ``nr_ibsi_3d``: neurorad's full IBSI set (all 11 IBSI families, 3D aggregations averaged
  and merged), one discretisation;
* ``nr_ibsi_all``: the same with every aggregation (2D, 2.5D, 3D);
* ``nr_seed``: the seed protocol (FBN and equal-probability binning at 2..128 grey levels =
  14 discretisations, all families incl. fractal dimensions and RIA extras, 3D);

and prints each as a ratio **neurorad time / PyRadiomics time** (lower is better; targets:
``nr_ibsi_3d`` <= 0.5 at 4k and 250k voxels, ``nr_seed`` <= 1.0 at 250k). Times are the best
of ``--repeats`` runs; the inputs are SimpleITK images for both tools (reading files is not
timed). ``--profile SIZE`` times each neurorad family alone (and each PyRadiomics class) to
show where the time goes.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads: single-thread comparison

import argparse
import json
import logging
import platform
import sys
import time
import warnings

import numpy as np
import SimpleITK as sitk

SIZES = {"4k": 4_000, "30k": 30_000, "250k": 250_000}
PYRADIOMICS_CLASSES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
SEVEN_FAMILIES = ("statistics", "morphology", "glcm", "glrlm", "glszm", "ngldm", "ngtdm")
IBSI_FAMILIES = ("morphology", "local_intensity", "statistics", "histogram", "ivh", "glcm",
                 "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")
ONE_DISCRETISATION = {"method": "fbs_aligned", "bin_width": 25}


#: ROI shapes of the synthetic cases (see :func:`synthetic_case`).
SHAPES = ("lumpy", "sphere", "lobulated")


def synthetic_case(n_voxels: int, seed: int = 0, margin: int = 8, shape_kind: str = "lumpy"):
    r"""(image, mask) SimpleITK images: a ROI of ~n_voxels, MR-like values (mean ~500, range
    ~1000, so bin width 25 gives ~40 grey levels), 1 x 1 x 1.5 mm voxels.

    ``shape_kind``: ``lumpy`` -- an ellipsoid with a noisy surface (the original case);
    ``sphere`` -- a smooth ball (the same radius in mm on every axis); ``lobulated`` -- a
    smooth ball whose radius varies with direction, :math:`r(\theta, \varphi) \propto
    1 + 0.3 \sin^2\theta \cos 3\varphi + 0.25 \cos 2\theta` (five bulges, concave
    between them: a lobulated tumour).
    """
    if shape_kind not in SHAPES:
        raise ValueError(f"shape_kind must be one of {SHAPES}, got {shape_kind!r}")
    rng = np.random.default_rng(seed)
    side = max(4, round((n_voxels / 0.5) ** (1 / 3)))
    if shape_kind == "lobulated":
        side = round(side * 1.25)      # the lobes reach further than the ball's radius
    shape = (max(2, round(side / 1.5)), side, side)  # fewer slices: 1.5 mm slice spacing
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    if shape_kind == "lumpy":
        score = sum(g ** 2 for g in grids) + rng.normal(0, 0.1, shape)
    else:
        z, y, x = grids
        rho = np.sqrt(x ** 2 + y ** 2 + z ** 2)
        score = rho
        if shape_kind == "lobulated":
            cos_theta = np.divide(z, rho, out=np.zeros_like(z), where=rho > 0)
            phi = np.arctan2(y, x)
            lobes = (1 + 0.3 * (1 - cos_theta ** 2) * np.cos(3 * phi)
                     + 0.25 * (2 * cos_theta ** 2 - 1))
            score = rho / lobes
    inside = score <= np.sort(score.ravel())[min(n_voxels, score.size) - 1]
    full = tuple(n + 2 * margin for n in shape)
    mask = np.zeros(full, dtype=np.uint8)
    mask[margin:-margin, margin:-margin, margin:-margin] = inside
    z, y, x = np.meshgrid(*[np.arange(n) for n in full], indexing="ij")
    image = (500 + 150 * np.sin(x / 7.0) * np.cos(y / 9.0) + 80 * np.sin(z / 3.0)
             + rng.normal(0, 60, full))
    img = sitk.GetImageFromArray(image.astype(np.float64))
    img.SetSpacing((1.0, 1.0, 1.5))
    lab = sitk.GetImageFromArray(mask)
    lab.CopyInformation(img)
    return img, lab


def neurorad_settings():
    import neurorad

    base = {"resample": None, "discretisation": ONE_DISCRETISATION,
            "texture": {"glcm_distance": 1, "ngtdm_distance": 1, "ngldm_distance": 1,
                        "ngldm_coarseness": 0}, "device": "cpu"}
    seed = neurorad.load_settings("seed-protocol").to_dict()
    seed["device"] = "cpu"
    return {
        "nr_7fam": neurorad.load_settings({**base, "name": "bench-7fam", "families": list(SEVEN_FAMILIES),
                                           "aggregations": ["3D_avg", "3D"]}),
        "nr_ibsi_3d": neurorad.load_settings({**base, "name": "bench-ibsi-3d", "families": list(IBSI_FAMILIES),
                                              "aggregations": ["3D"]}),
        "nr_ibsi_all": neurorad.load_settings({**base, "name": "bench-ibsi-all", "families": list(IBSI_FAMILIES),
                                               "aggregations": ["2D", "2_5D", "3D"]}),
        "nr_seed": neurorad.load_settings(seed),
    }


def pyradiomics_extractor(classes=PYRADIOMICS_CLASSES):
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    ext = featureextractor.RadiomicsFeatureExtractor(binWidth=25)
    ext.disableAllFeatures()
    for c in classes:
        ext.enableFeatureClassByName(c)
    return ext


#: Clock of :func:`interleaved_best`: ``time.perf_counter`` (wall) or ``time.process_time``
#: (CPU of this process; both tools run single-threaded here, so on a shared machine the
#: CPU time is the figure other sessions' load disturbs least). Set by ``--clock``.
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def interleaved_best(fns: dict, repeats: dict) -> tuple[dict, dict]:
    """Best time (``--clock``: wall or CPU) of each function over its number of repeats, the
    functions taking turns (A B C A B C ...), so that a change of machine load hits all of
    them alike."""
    best = {k: float("inf") for k in fns}
    results = {}
    for r in range(max(repeats.values())):
        for name, fn in fns.items():
            if r < repeats[name]:
                t0 = _clock()
                results[name] = fn()
                best[name] = min(best[name], _clock() - t0)
    return best, results


def run_size(label: str, n_voxels: int, configs: dict, repeats: int, only=None,
             shape_kind: str = "lumpy") -> dict:
    import neurorad

    img, lab = synthetic_case(n_voxels, shape_kind=shape_kind)
    ext = pyradiomics_extractor()
    fns = {"pyradiomics": lambda: ext.execute(img, lab, label=1)}
    reps = {"pyradiomics": repeats}
    for name, settings in configs.items():
        if not only or name in only:
            fns[name] = (lambda s=settings: neurorad.extract_features(img, lab, s, label=1, device="cpu"))
            # the seed protocol at 250k voxels takes tens of seconds: fewer repeats
            reps[name] = max(1, repeats - 1) if (name == "nr_seed" and n_voxels > 50_000) else repeats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best, results = interleaved_best(fns, reps)
    row = {"size": label, "shape": shape_kind, "voxels": int(sitk.GetArrayViewFromImage(lab).sum()),
           "pyradiomics_s": best["pyradiomics"],
           "pyradiomics_features": sum(1 for k in results["pyradiomics"] if not k.startswith("diagnostics"))}
    for name in fns:
        if name != "pyradiomics":
            row[f"{name}_s"] = best[name]
            row[f"{name}_features"] = len(results[name])
            row[f"{name}_ratio"] = best[name] / best["pyradiomics"]
    return row


def profile_size(label: str, n_voxels: int, repeats: int) -> dict:
    """Seconds per neurorad family (one discretisation, 3D) and per PyRadiomics class."""
    import neurorad

    img, lab = synthetic_case(n_voxels)
    base = {"name": "profile", "resample": None, "discretisation": ONE_DISCRETISATION,
            "aggregations": ["3D"], "device": "cpu"}
    fns = {}
    for family in IBSI_FAMILIES + ("fractal", "ria_extras"):
        s = neurorad.load_settings({**base, "families": [family]})
        fns[f"neurorad:{family}"] = (lambda s=s: neurorad.extract_features(img, lab, s, label=1, device="cpu"))
    for c in PYRADIOMICS_CLASSES:
        ext = pyradiomics_extractor((c,))
        fns[f"pyradiomics:{c}"] = (lambda e=ext: e.execute(img, lab, label=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in fns.values():  # warm-up
            fn()
        best, _ = interleaved_best(fns, {k: repeats for k in fns})
    out = {"neurorad": {}, "pyradiomics": {}}
    for key, t in best.items():
        tool, name = key.split(":")
        out[tool][name] = t
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="neurorad vs PyRadiomics, single thread")
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--shapes", nargs="+", default=["lumpy"], choices=list(SHAPES),
                    help="ROI shapes (default: lumpy, the original case)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clock", choices=list(CLOCK), default="wall",
                    help="wall time (default) or CPU time of this process (shared machines)")
    ap.add_argument("--only", nargs="+", default=None,
                    help="neurorad configs to time (nr_7fam nr_ibsi_3d nr_ibsi_all nr_seed)")
    ap.add_argument("--profile", nargs="*", default=[], choices=list(SIZES))
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    global _clock
    _clock = CLOCK[args.clock]

    import SimpleITK

    SimpleITK.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    import radiomics

    import neurorad

    configs = neurorad_settings()
    # Warm-up (not timed): module imports and first-call costs of both tools.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img, lab = synthetic_case(500, seed=1)
        pyradiomics_extractor().execute(img, lab, label=1)
        for settings in configs.values():
            neurorad.extract_features(img, lab, settings, label=1, device="cpu")
    print(f"neurorad {neurorad.__version__}, PyRadiomics {radiomics.__version__}, "
          f"Python {platform.python_version()}, {platform.processor() or platform.machine()}, "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, clock {args.clock}, load average {os.getloadavg()[0]:.1f}")
    rows = []
    for label, kind in [(size, kind) for size in args.sizes for kind in args.shapes]:
        row = run_size(label, SIZES[label], configs, args.repeats, args.only, kind)
        rows.append(row)
        ratios = "  ".join(f"{k[:-6]} {row[k]:.2f} ({row[k[:-6] + '_s']:.2f}s, {row[k[:-6] + '_features']} f)"
                           for k in row if k.endswith("_ratio"))
        print(f"{label:>5s} {kind} ({row['voxels']} voxels): PyRadiomics {row['pyradiomics_s']:.2f}s "
              f"({row['pyradiomics_features']} f) | ratio neurorad/PyRadiomics: {ratios}", flush=True)
    profiles = {}
    for label in args.profile:
        profiles[label] = profile_size(label, SIZES[label], max(1, args.repeats - 1))
        p = profiles[label]
        print(f"profile {label}: neurorad " + ", ".join(f"{k} {v:.2f}s" for k, v in p["neurorad"].items()))
        print(f"profile {label}: PyRadiomics " + ", ".join(f"{k} {v:.2f}s" for k, v in p["pyradiomics"].items()))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "profiles": profiles, "load_average": os.getloadavg()}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
