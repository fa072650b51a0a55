"""Synthetic glioblastoma 11C-methionine PET cohort (uptake-index regression).

Design (``/work/shared/studies.md`` §2): 40 patients; PET written three ways on the same
grid — a DICOM series (``dicom/``, Units BQML, decay-corrected to series start, with the
radiopharmaceutical sequence needed for SUV), the same activity as NIfTI in Bq/ml
(``pet_bqml.nii.gz``) and as SUV (``suv.nii.gz``); a label map ``voi.nii.gz`` with the
tumour VOI (tumour plus ~6 mm of surroundings, label 1 ``tumour_voi``) and a contralateral
crescent over grey and white matter (label 2 ``reference``).

SUV model: normal-brain SUV by tissue (grey 1.4, white 0.8, deep grey 1.5, ...) times a
per-patient global factor (log-normal, SD 0.15); tumour = ellipsoid (radius 9-18 mm) with a
smooth heterogeneous uptake profile and, in 40 %, a cold necrotic centre; PET resolution
6 mm FWHM; multiplicative noise (SD 6 %) plus 0.02 SUV additive inside the head (air is
0, as in reconstructed scanner images).

Targets
-------
``tbr_max`` = max SUV in ``tumour_voi`` / mean SUV in ``reference``; ``tbr_mean`` = mean SUV
over the ``tumour_voi`` voxels with SUV >= 1.3 x the reference mean (the usual MET tumour
threshold) / reference mean — both computed from the written SUV image. The tumour's
amplitude is solved (bisection) so that ``tbr_max`` hits a draw from 1.9 + 3.1 Beta(1.1, 1.2):
range 1.9-5.0, median 3.36, IQR 2.66-4.09 (published: 3.26, 2.74-4.17, 1.94-5.03).
``uptake_index`` = tbr_max x exp(N(0, 0.08^2)): the "expert" index with rater noise.
``random_index``: null continuous target. Tumour volume is independent of the targets.
``--null`` permutes the three uptake targets jointly across patients.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from scipy import ndimage

from neurorad.synth import truth as tr
from neurorad.synth.anatomy import (BRAIN_TISSUES, INTRACRANIAL, N_TISSUES, Grid, Tissue,
                                    random_head)
from neurorad.synth.cohort import CohortPlan, SubjectPlan, permute_targets
from neurorad.synth.common import rng_for, scaled_counts, write_nifti
from neurorad.synth.lesions import Blob, blob_mask, lesion_pattern
from neurorad.synth.pet_dicom import C11_HALF_LIFE_S, write_pet_series

STUDY = "pet"
N_PATIENTS = 40
# TBRmax ~ 1.9 + 3.1 * Beta(1.1, 1.2): quartiles 2.66 / 3.36 / 4.09 (published 2.74 / 3.26 /
# 4.17, range 1.94-5.03); a log-normal cannot have its third quartile that close to the max.
TBR_BETA, TBR_RANGE = (1.1, 1.2), (1.9, 5.0)
EXPERT_LOG_SD = 0.08
TUMOUR_THRESHOLD = 1.3          # x reference mean: MET tumour delineation for tbr_mean
PET_FWHM_MM = 6.0
NOISE_RELATIVE, NOISE_ABSOLUTE = 0.06, 0.02
VOI_MARGIN_MM = 6.0
SUV_BY_TISSUE = {Tissue.SCALP: 0.9, Tissue.SKULL: 0.6, Tissue.CSF: 0.3,
                 Tissue.GREY_MATTER: 1.4, Tissue.WHITE_MATTER: 0.8, Tissue.THALAMUS: 1.5,
                 Tissue.LENTIFORM: 1.5, Tissue.CAUDATE: 1.4, Tissue.CORPUS_CALLOSUM: 0.75,
                 Tissue.INTERNAL_CAPSULE: 0.8, Tissue.BRAINSTEM: 1.0,
                 Tissue.CEREBELLUM_GM: 1.3, Tissue.CEREBELLUM_WM: 0.85, Tissue.VENTRICLE: 0.2}
UPTAKE_TARGETS = ["uptake_index", "tbr_max", "tbr_mean"]
TARGETS = {
    "uptake_index": {"type": "continuous",
                     "description": "expert uptake index = TBRmax with rater noise"},
    "tbr_max": {"type": "continuous", "description": "SUVmax(tumour_voi) / SUVmean(reference)"},
    "tbr_mean": {"type": "continuous",
                 "description": "mean SUV of tumour_voi voxels >= 1.3 x reference mean, "
                                "over the reference mean"},
    "random_index": {"type": "continuous", "description": "null target"},
}


def _draw_tbr(rng) -> float:
    low, high = TBR_RANGE
    return float(low + (high - low) * rng.beta(*TBR_BETA))


def plan_cohort(seed: int, null: bool, n_subjects: int | None) -> CohortPlan:
    """Patients, planned TBRmax, tumour, scan and dosing parameters."""
    rng = rng_for(seed, STUDY, 10 ** 6)
    n = scaled_counts({"all": N_PATIENTS}, n_subjects)["all"]
    subjects = []
    for i in range(1, n + 1):
        sid = f"pet-{i:03d}"
        params = {
            "tbr_max_planned": _draw_tbr(rng),
            "rater_factor": float(np.exp(rng.normal(0.0, EXPERT_LOG_SD))),
            "global_uptake": float(np.exp(rng.normal(0.0, 0.15))),
            "radius_mm": float(rng.uniform(9.0, 18.0)),
            "necrosis": float(rng.uniform(0.3, 0.55)) if rng.random() < 0.4 else 0.0,
            "weight_kg": float(np.clip(rng.normal(78.0, 14.0), 45.0, 130.0)),
            "dose_mbq": float(rng.uniform(350.0, 550.0)),
            "uptake_minutes": float(rng.uniform(12.0, 25.0)),
            "injection_seconds_of_day": int(rng.integers(8 * 3600, 15 * 3600)),
            "scan_day": int(rng.integers(0, 700)),
        }
        subjects.append(SubjectPlan(
            index=i, id=sid, group=sid,
            images={"SUV": f"{sid}/suv.nii.gz",
                    "PET": {"path": f"{sid}/dicom", "format": "dicom"}},
            masks={"mask": f"{sid}/voi.nii.gz"},
            rois={"tumour_voi": 1, "reference": 2},
            targets={"uptake_index": None, "tbr_max": None, "tbr_mean": None,
                     "random_index": float(round(_draw_tbr(rng), 4))},
            params=params))
    return CohortPlan(STUDY, "Synthetic 11C-methionine PET glioblastoma cohort "
                      "(neurorad demo-data; planted effects in truth.json)",
                      {k: dict(v) for k, v in TARGETS.items()}, subjects, null)


def reference_crescent(head, tumour_centre_mm, grid: Grid) -> np.ndarray:
    """Contralateral crescent: outer 18 mm of the hemisphere opposite the tumour.

    Brain voxels (grey or white matter) at most 18 mm deep below the brain surface, on the
    opposite side (x mirrored), within +/- 40 degrees (axial angle about the head's centre)
    of the mirrored tumour direction, on the 5 slices around the tumour's level.
    """
    z, y, x = grid.axes()
    centre = np.asarray(tumour_centre_mm, float)
    mirror_angle = np.arctan2(centre[1], -centre[2])
    angle = np.arctan2(y[:, None], x[None, :])
    delta = np.abs((angle - mirror_angle + np.pi) % (2 * np.pi) - np.pi)
    in_sector = delta <= np.deg2rad(40.0)
    tissue_ok = np.isin(head.labels, (Tissue.GREY_MATTER, Tissue.WHITE_MATTER))
    brain = np.isin(head.labels, BRAIN_TISSUES + (Tissue.VENTRICLE,))
    depth = ndimage.distance_transform_edt(brain, sampling=grid.spacing)
    slab = np.abs(z - centre[0]) <= 2.5 * grid.spacing[0]
    return tissue_ok & (depth <= 18.0) & in_sector[None] & slab[:, None, None]


def _tumour_shape(head, params, rng) -> tuple[Blob, np.ndarray, np.ndarray]:
    side = float(rng.choice([-1.0, 1.0]))
    template_centre = (rng.uniform(5.0, 25.0), rng.uniform(-30.0, 30.0),
                       side * rng.uniform(26.0, 36.0))
    r = params["radius_mm"]
    blob = Blob(tuple(head.warp.subject_point(template_centre)),
                tuple(r * np.exp(rng.normal(0.0, 0.1, 3))))
    extent = blob_mask(head.grid, blob) & np.isin(head.labels, INTRACRANIAL)
    z, y, x = head.grid.axes()
    radius = blob.implicit(z[:, None, None], y[None, :, None], x[None, None, :])[extent]
    # Heterogeneous uptake: smooth profile, brighter towards a viable rim if necrotic.
    profile = 1.0 + 0.25 * lesion_pattern(rng, extent, 1.2)
    if params["necrosis"] > 0:
        profile = np.where(radius < params["necrosis"], 0.25, profile)
    return blob, extent, profile.astype(np.float32)


def render_subject(subject: SubjectPlan, out_dir: Path, seed: int) -> dict:
    """Write DICOM series, Bq/ml and SUV NIfTI and the VOI label map; compute the TBRs."""
    p = subject.params
    rng = rng_for(seed, STUDY, subject.index)
    grid = Grid()
    head = random_head(rng, grid)
    table = np.zeros(N_TISSUES, np.float32)
    for tissue, value in SUV_BY_TISSUE.items():
        table[int(tissue)] = value * p["global_uptake"]
    background = table[head.labels]
    blob, extent, profile = _tumour_shape(head, p, rng)
    tumour = np.zeros(grid.shape, np.float32)
    tumour[extent] = profile
    sigma = PET_FWHM_MM / (2 * np.sqrt(2 * np.log(2))) / np.asarray(grid.spacing)
    background = ndimage.gaussian_filter(background, sigma, truncate=3.0)
    tumour = ndimage.gaussian_filter(tumour, sigma, truncate=3.0)
    noise = rng.standard_normal(grid.shape, np.float32)
    # Noise only inside the (blurred) head: air is 0, as in scanner images outside the body.
    head_region = background > 0.01

    voi = ndimage.binary_dilation(extent, iterations=int(round(VOI_MARGIN_MM / grid.spacing[0])))
    reference = reference_crescent(head, blob.centre, grid) & ~voi
    label_map = np.zeros(grid.shape, np.uint8)
    label_map[voi] = 1
    label_map[reference] = 2

    def suv_image(amplitude: float, where=None) -> np.ndarray:
        sel = (slice(None),) if where is None else where
        clean = background[sel] + np.float32(amplitude) * tumour[sel]
        value = clean * (1 + NOISE_RELATIVE * noise[sel]) + NOISE_ABSOLUTE * noise[sel]
        return np.where(head_region[sel], np.maximum(value, 0.0), 0.0)

    # The reference barely sees the tumour (far away), so TBRmax grows monotonically with the
    # tumour amplitude: bisection on the VOI voxels hits the planned value.
    ref_mean = suv_image(0.0, reference).mean()
    target_max = p["tbr_max_planned"] * ref_mean
    lo, hi = 0.0, 20.0 * p["global_uptake"]
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if suv_image(mid, voi).max() < target_max else (lo, mid)
    suv = suv_image(0.5 * (lo + hi))

    scan = write_pet_series(suv, grid, out_dir / subject.id / "dicom", subject.id, p, seed)
    write_nifti(scan.bqml, grid, out_dir / subject.id / "pet_bqml.nii.gz")
    write_nifti(scan.suv, grid, out_dir / subject.id / "suv.nii.gz")
    write_nifti(label_map, grid, out_dir / subject.id / "voi.nii.gz")
    return {**uptake_ratios(scan.suv, label_map == 1, label_map == 2),
            "tumour_volume_ml": float(extent.sum() * np.prod(grid.spacing) / 1000.0)}


def uptake_ratios(suv: np.ndarray, voi: np.ndarray, reference: np.ndarray) -> dict:
    """TBRmax and TBRmean (threshold ``TUMOUR_THRESHOLD`` x reference mean) of one scan."""
    ref = float(suv[reference].astype(float).mean())
    values = suv[voi].astype(float)
    hot = values[values >= TUMOUR_THRESHOLD * ref]
    return {"tbr_max": values.max() / ref,
            "tbr_mean": (hot.mean() if hot.size else values.max()) / ref,
            "reference_suv": ref}


def finalise(plan: CohortPlan, results: list[dict] | None, seed: int) -> dict:
    """Fill the image-derived targets, apply the null permutation, build the truth record."""
    measured = {}
    if results is not None:
        for subject, result in zip(plan.subjects, results):
            subject.targets["tbr_max"] = round(result["tbr_max"], 4)
            subject.targets["tbr_mean"] = round(result["tbr_mean"], 4)
            subject.targets["uptake_index"] = round(
                result["tbr_max"] * subject.params["rater_factor"], 4)
        if plan.null:
            permute_targets(plan.subjects, UPTAKE_TARGETS, rng_for(seed, STUDY, 10 ** 6 + 1))
        measured = _measure(plan, results)
    targets = {
        "uptake_index": tr.effect(
            images=["SUV", "PET"], rois=["tumour_voi", "reference"],
            feature_family="first-order intensity (maximum, upper percentiles) relative to "
                           "the reference", direction={"SUV": "higher max in tumour_voi"},
            model="uptake_index = TBRmax * exp(N(0, 0.08^2)); TBRmax ~ 1.9 + 3.1 * "
                  "Beta(1.1, 1.2), realised exactly in the written SUV",
            strength={"rater_log_sd": EXPERT_LOG_SD}, measured=measured.get("uptake_index")),
        "tbr_max": tr.effect(
            images=["SUV", "PET"], rois=["tumour_voi", "reference"],
            feature_family="first-order maximum", direction={"SUV": "equals the ratio"},
            model="computed from the written SUV image", strength={},
            measured=measured.get("tbr_max")),
        "tbr_mean": tr.effect(
            images=["SUV", "PET"], rois=["tumour_voi", "reference"],
            feature_family="first-order mean above threshold",
            direction={"SUV": "equals the ratio"},
            model="computed from the written SUV image (threshold 1.3 x reference mean)",
            strength={}, measured=measured.get("tbr_mean")),
        "random_index": tr.no_effect("drawn from the TBR distribution independently of the "
                                     "images", measured.get("random_index")),
    }
    if plan.null:
        targets = tr.nullify(targets)
    return {"study": STUDY, "seed": seed, "null": plan.null, "n_subjects": len(plan.subjects),
            "targets": targets,
            "confounders": {"tumour_size": "none: radius ~ U(9, 18) mm independent of TBR",
                            "global_uptake": "normal-brain SUV varies by patient (SD 15 %): "
                                             "SUVmax alone only partly predicts the ratio"},
            "radionuclide": {"name": "C-11", "half_life_s": C11_HALF_LIFE_S},
            "notes": ["SUV = Bq/ml * body weight [g] / (injected dose [Bq] decayed from "
                      "injection to series start); DICOM pixel values are Bq/ml decay-"
                      "corrected to series start (DecayCorrection START)."]}


def _measure(plan: CohortPlan, results: list[dict]) -> dict:
    from scipy.stats import spearmanr

    tbr = [r["tbr_max"] for r in results]
    out = {}
    for name in ("uptake_index", "tbr_max", "tbr_mean", "random_index"):
        values = [s.targets[name] for s in plan.subjects]
        out[name] = {"spearman_with_image_tbr_max": float(spearmanr(values, tbr)[0]),
                     "median": float(np.median(values)),
                     "iqr": [float(np.percentile(values, 25)), float(np.percentile(values, 75))],
                     "range": [float(np.min(values)), float(np.max(values))]}
    out["tbr_max"]["spearman_with_tumour_volume"] = float(spearmanr(
        tbr, [r["tumour_volume_ml"] for r in results])[0])
    return out
