"""Synthetic diffuse axonal injury cohort: 10 DKI maps, 15 standardised 2-D ROIs per subject.

Design (``/work/shared/studies.md`` §3): 31 patients and 12 volunteers; maps AK, AWF, AxEAD,
FA, MD, KA, MK, RadEAD, RK, TORT; ROIs (``anatomy.LANDMARKS``) are discs on one axial slice:
thalamus, lentiform nucleus, centrum semiovale, internal capsule anterior / posterior limbs,
cerebral peduncles (left and right each), genu and splenium of the corpus callosum, brainstem.

Map model
---------
Tissue means (``MAP_VALUES``; diffusivities in mm^2/s) are plausible adult values: FA 0.45
in deep white matter, 0.65-0.7 in the internal capsule and corpus callosum, 0.15 in cortex;
MD ~0.75e-3; MK ~1.0 in white matter, 0.75 in grey matter; CSF MD 3e-3. For map m::

    m(v) = | G_{0.6 b} * [ mu_m[tissue(v)] F_m (1 + a t(v)) (1 + k_m injury(v)) ] | (1 + s sd_m e(v))

``t`` is a unit-SD smooth micro-structure field (Gaussian, ~2 voxels) shared by the maps, ``e``
unit-SD noise of the map, spatially correlated like the rest of the map (white noise smoothed
by the same Gaussian ``G_{0.6 b}``, then rescaled: interpolation in motion and eddy-current
correction correlates neighbouring voxels), ``sd_m`` = 5-10 % (``NOISE_SD``). Maps are
brain-masked (0 outside the brain) and stored as float32 with a 13-bit mantissa (relative
precision 1.2e-4).

Subject effects (shared by all 15 ROIs and all 10 maps of a subject; independent of labels)
----------------------------------------------------------------------------------------------
* Tissue: ``F_m = exp(l_m w + f_m)`` with a white-matter integrity latent ``w`` (SD 1;
  age, overall myelination: FA and the kurtosis maps fall while MD and RadEAD rise;
  matched between patients and volunteers as the published age-matched groups are: each
  group gets the same normal quantiles, in random order;
  loadings ``INTEGRITY_LOADING``, FA -0.05, MD +0.035) and an independent per-map factor
  ``f_m ~ N(0, 0.03^2)``. Between-subject log-SD: FA 5.8 %, MD 4.6 %, chosen inside the
  published bounds: regional FA varies between healthy subjects by more than its
  2.1-2.4 % within- and between-session CV (Veenith et al. 2013) and tract FA/MD by less
  than 10 % / 8 % (Heiervang et al. 2006); with the 2.1 % within-session CV it implies a
  test-retest ICC of 0.058^2 / (0.058^2 + 0.021^2) = 0.88 for an ROI's mean FA, just below
  the intra-site 0.90-0.99 and inside the inter-site 0.82-0.99 of Vollmar et al. (2010).
  The split between latent and per-map factor is assumed. References in
  :mod:`neurorad.synth.subject`.
* Micro-structure: the modulation amplitude ``a = 0.04 exp(N(0, 0.3^2))`` and its
  correlation width ``2 exp(N(0, 0.25^2))`` voxels (the subject's tissue pattern; assumed).
* Session (one DWI acquisition gives all ten maps): noise ``s`` and blur ``b`` scales,
  log-normal SD 0.25 and 0.2 (:class:`neurorad.synth.subject.Session`; assumed). They are
  what the texture features see: each ROI is discretised over its own range, so ``F_m``
  alone never reaches them, while the noise's correlation length (``b``) and its size
  relative to the tissue structure (``s``) change every ROI's GLCM/GLRLM alike.

Head size acts through the random warp (``anatomy.random_warp``, SD 3 % per axis); the ROIs
are standardised discs of fixed physical size. AWF, AxEAD, RadEAD (white-matter tract-integrity model) are only valid in coherent
white matter; elsewhere in the brain they hold what a voxel-wise fit returns (low AWF, near
isotropic extra-axonal diffusivities), and 0 in CSF. TORT = AxEAD / RadEAD (0 where RadEAD
is 0).

Planted effects
---------------
* ``diagnosis`` (patient vs volunteer): each patient has a severity s ~ U(0.2, 1); every
  white-matter ROI is injured with probability 0.55 (0.75 for corpus callosum and
  brainstem). An injury is a Gaussian blob (SD 6 mm) centred on the ROI, of amplitude
  a = 0.15 s: FA x (1 - a g), MD x (1 + 0.6 a g), MK x (1 - 0.8 a g), AK x (1 - 0.6 a g),
  RK x (1 - 0.8 a g), KA x (1 - a g), AWF x (1 - 0.8 a g), AxEAD x (1 - 0.5 a g),
  RadEAD x (1 + 0.5 a g); grey-matter ROIs are untouched.
* ``outcome`` (patients only; ``null`` for volunteers): unfavourable for the 40 % of
  patients with the highest s + 0.3 [brainstem injured] + N(0, 0.25^2) — a smaller effect.
* ``random_label``: null binary target.
``--null`` permutes (diagnosis, outcome) jointly across subjects.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from neurorad.synth import truth as tr
from neurorad.synth.anatomy import (LANDMARKS, N_TISSUES, TEMPLATE_SCALE, Grid, Tissue,
                                    random_head, smooth_field)
from neurorad.synth.cohort import CohortPlan, SubjectPlan, permute_targets
from neurorad.synth.common import cohens_d, rng_for, scaled_counts, write_nifti
from neurorad.synth.subject import (Session, draw_session, effects_record,
                                   intraclass_correlation)

STUDY = "dai"
DKI_MAPS = ("AK", "AWF", "AxEAD", "FA", "MD", "KA", "MK", "RadEAD", "RK", "TORT")
ROI_NAMES = tuple(LANDMARKS)
GREY_ROIS = ("thalamus_L", "thalamus_R", "lentiform_L", "lentiform_R")
WHITE_ROIS = tuple(r for r in ROI_NAMES if r not in GREY_ROIS)
COUNTS = {"patient": 31, "volunteer": 12}
UNFAVOURABLE_FRACTION = 0.4
INJURY_SCALE, INJURY_SD_MM = 0.15, 6.0
P_INJURED = {"cc_genu": 0.75, "cc_splenium": 0.75, "brainstem": 0.75}
P_INJURED_DEFAULT = 0.55
# Relative change per unit of injury (a * g) for each map; TORT follows AxEAD / RadEAD.
INJURY_EFFECT = {"FA": -1.0, "MD": 0.6, "MK": -0.8, "AK": -0.6, "RK": -0.8, "KA": -1.0,
                 "AWF": -0.8, "AxEAD": -0.5, "RadEAD": 0.5}
NOISE_SD = {"FA": 0.08, "MD": 0.05, "AK": 0.10, "RK": 0.10, "MK": 0.08, "KA": 0.10,
            "AWF": 0.08, "AxEAD": 0.08, "RadEAD": 0.08}
# Subject effects (module docstring): integrity-latent loadings and the independent per-map
# log-SD, micro-structure modulation and the maps' nominal blur.
INTEGRITY_LOADING = {"FA": -0.05, "MD": 0.035, "AK": -0.03, "RK": -0.04, "MK": -0.04,
                     "KA": -0.04, "AWF": -0.04, "AxEAD": -0.02, "RadEAD": 0.03}
MAP_FACTOR_LOG_SD = 0.03
MODULATION_AMPLITUDE, MODULATION_LOG_SD, MODULATION_SIGMA_VOXELS = 0.04, 0.3, 2.0
MODULATION_SIGMA_LOG_SD = 0.25
BLUR_SIGMA_VOXELS = 0.6

_T = Tissue
_WM, _CC, _IC, _BS, _CBWM = (_T.WHITE_MATTER,), (_T.CORPUS_CALLOSUM,), (_T.INTERNAL_CAPSULE,), \
    (_T.BRAINSTEM,), (_T.CEREBELLUM_WM,)
_GM, _DGM, _CSF = (_T.GREY_MATTER, _T.CEREBELLUM_GM), (_T.THALAMUS, _T.LENTIFORM, _T.CAUDATE), \
    (_T.CSF, _T.VENTRICLE)
#              FA    MD       AK    RK    MK    KA    AWF   AxEAD   RadEAD
MAP_VALUES = {
    _WM:   (0.45, 0.75e-3, 0.75, 1.25, 1.00, 0.40, 0.38, 2.0e-3, 0.85e-3),
    _CC:   (0.70, 0.80e-3, 0.65, 1.60, 1.10, 0.55, 0.45, 2.3e-3, 0.70e-3),
    _IC:   (0.65, 0.72e-3, 0.70, 1.45, 1.05, 0.50, 0.42, 2.2e-3, 0.75e-3),
    _BS:   (0.55, 0.78e-3, 0.72, 1.30, 1.00, 0.45, 0.40, 2.1e-3, 0.80e-3),
    _CBWM: (0.45, 0.70e-3, 0.75, 1.20, 1.00, 0.40, 0.36, 1.9e-3, 0.85e-3),
    _GM:   (0.15, 0.85e-3, 0.65, 0.80, 0.75, 0.12, 0.15, 1.0e-3, 0.90e-3),
    _DGM:  (0.28, 0.75e-3, 0.75, 0.95, 0.85, 0.20, 0.22, 1.2e-3, 0.85e-3),
    _CSF:  (0.06, 3.0e-3, 0.20, 0.25, 0.20, 0.05, 0.0, 0.0, 0.0),
}
_MAP_COLUMNS = ("FA", "MD", "AK", "RK", "MK", "KA", "AWF", "AxEAD", "RadEAD")
TARGETS = {
    "diagnosis": {"type": "binary", "classes": ["volunteer", "patient"]},
    "outcome": {"type": "binary", "classes": ["favourable", "unfavourable"],
                "description": "patients only (null for volunteers)"},
    "random_label": {"type": "binary", "classes": ["a", "b"],
                     "description": "null target, independent of the images"},
}


def tissue_table(name: str) -> np.ndarray:
    """Mean value of map ``name`` for every tissue code (0 outside the brain)."""
    column = _MAP_COLUMNS.index(name)
    table = np.zeros(N_TISSUES, np.float32)
    for tissues, values in MAP_VALUES.items():
        for tissue in tissues:
            table[int(tissue)] = values[column]
    return table


def plan_cohort(seed: int, null: bool, n_subjects: int | None) -> CohortPlan:
    """Subjects, diagnosis, injury pattern, outcome (see module docstring)."""
    rng = rng_for(seed, STUDY, 10 ** 6)
    counts = scaled_counts(COUNTS, n_subjects, minimum=4 if n_subjects else 2)
    diagnoses = [d for d, n in counts.items() for _ in range(n)]
    diagnoses = [diagnoses[i] for i in rng.permutation(len(diagnoses))]
    coins = ["a", "b"] * ((len(diagnoses) + 1) // 2)
    coins = [coins[i] for i in rng.permutation(len(diagnoses))]
    subjects = []
    for i, diagnosis in enumerate(diagnoses, start=1):
        injured = {}
        severity = 0.0
        if diagnosis == "patient":
            severity = float(rng.uniform(0.2, 1.0))
            injured = {r: bool(rng.random() < P_INJURED.get(r, P_INJURED_DEFAULT))
                       for r in WHITE_ROIS}
        sid = f"dai-{i:03d}"
        subjects.append(SubjectPlan(
            index=i, id=sid, group=sid,
            images={m: f"{sid}/{m}.nii.gz" for m in DKI_MAPS},
            masks={"mask": f"{sid}/rois.nii.gz"},
            rois={name: k for k, name in enumerate(ROI_NAMES, start=1)},
            targets={"diagnosis": diagnosis, "outcome": None, "random_label": coins[i - 1]},
            params={"severity": severity, "injured": injured,
                    "outcome_latent": severity + 0.3 * injured.get("brainstem", False)
                    + float(rng.normal(0.0, 0.25))}))
    _assign_matched_integrity(subjects, rng)
    patients = [s for s in subjects if s.targets["diagnosis"] == "patient"]
    n_unfavourable = max(2, int(round(UNFAVOURABLE_FRACTION * len(patients))))
    ranked = sorted(patients, key=lambda s: -s.params["outcome_latent"])
    for rank, s in enumerate(ranked):
        s.targets["outcome"] = "unfavourable" if rank < n_unfavourable else "favourable"
    return CohortPlan(STUDY, "Synthetic diffuse axonal injury DKI cohort "
                      "(neurorad demo-data; planted effects in truth.json)",
                      {k: dict(v) for k, v in TARGETS.items()}, subjects, null)


def _assign_matched_integrity(subjects: list[SubjectPlan], rng) -> None:
    """Integrity latent w per subject, matched between patients and volunteers.

    The published groups are age-matched (32 +/- 11 vs 34 +/- 11 years), and w stands for the
    age-related part of white-matter integrity: each diagnosis group gets the same normal
    quantiles ``Phi^-1((k + 1/2) / n_group)``, k = 0..n_group-1, in random order. w still
    varies between subjects (mean 0, SD ~1 in each group) but cannot, by chance, differ
    between the groups and mask or mimic the injury.
    """
    from scipy.stats import norm

    for group in ("patient", "volunteer"):
        members = [s for s in subjects if s.targets["diagnosis"] == group]
        quantiles = norm.ppf((np.arange(len(members)) + 0.5) / len(members))
        for s, w in zip(members, quantiles[rng.permutation(len(members))]):
            s.params["integrity"] = float(w)


def roi_discs(head, grid: Grid) -> np.ndarray:
    """Label map of the 15 ROIs: disc k on the axial slice through landmark k's position."""
    labels = np.zeros(grid.shape, np.uint8)
    _, y, x = grid.axes()
    for k, (name, (template_point, template_radius)) in enumerate(LANDMARKS.items(), start=1):
        centre = head.warp.subject_point(template_point)
        radius_mm = template_radius / TEMPLATE_SCALE      # landmark radii are template mm
        z_index = int(round(grid.to_index(centre)[0]))
        disc = (y[:, None] - centre[1]) ** 2 + (x[None, :] - centre[2]) ** 2 <= radius_mm ** 2
        labels[z_index][disc] = k
    return labels


def _injury_field(head, grid: Grid, params: dict) -> np.ndarray:
    """Sum over injured ROIs of a * exp(-r^2 / (2 SD^2)) around the ROI centre (subject mm)."""
    field = np.zeros(grid.shape, np.float32)
    z, y, x = grid.axes()
    amplitude = INJURY_SCALE * params["severity"]
    for name, hit in params["injured"].items():
        if not hit:
            continue
        c = head.warp.subject_point(LANDMARKS[name][0])
        field += amplitude * np.exp(-((z[:, None, None] - c[0]) ** 2 + (y[None, :, None] - c[1])
                                      ** 2 + (x[None, None, :] - c[2]) ** 2)
                                    / (2 * INJURY_SD_MM ** 2)).astype(np.float32)
    return field


@dataclass(frozen=True)
class SubjectEffects:
    """A subject's effects shared by all its ROIs and maps (module docstring)."""

    session: Session
    integrity: float                 # w ~ N(0, 1)
    map_factors: dict                # F_m = exp(l_m w + f_m)
    modulation_amplitude: float      # a
    modulation_sigma: float          # correlation width of t (voxels)


def draw_subject_effects(rng: np.random.Generator,
                         integrity: float | None = None) -> SubjectEffects:
    """Session, integrity latent, per-map factors and micro-structure of one subject.

    ``integrity`` (the latent w) is drawn from N(0, 1) unless given (the cohort plans it,
    matched between groups); the stream consumes the same draws either way.
    """
    session = draw_session(rng)
    drawn = float(rng.standard_normal())
    integrity = drawn if integrity is None else float(integrity)
    own = rng.standard_normal(len(_MAP_COLUMNS))
    factors = {m: float(np.exp(INTEGRITY_LOADING[m] * integrity + MAP_FACTOR_LOG_SD * z))
               for m, z in zip(_MAP_COLUMNS, own)}
    amplitude = float(MODULATION_AMPLITUDE * np.exp(MODULATION_LOG_SD * rng.standard_normal()))
    sigma = float(MODULATION_SIGMA_VOXELS
                  * np.exp(MODULATION_SIGMA_LOG_SD * rng.standard_normal()))
    return SubjectEffects(session, integrity, factors, amplitude, sigma)


def subject_log_sd(name: str) -> float:
    """Between-subject SD of log F_m: sqrt(l_m^2 + MAP_FACTOR_LOG_SD^2)."""
    return float(np.hypot(INTEGRITY_LOADING[name], MAP_FACTOR_LOG_SD))


def dki_maps(labels: np.ndarray, injury: np.ndarray, effects: SubjectEffects,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The ten DKI maps (float32, 13-bit mantissa) of one subject from its tissue labels.

    ``m = G_{0.6 b} * [mu_m F_m (1 + a t) (1 + k_m injury)] * (1 + s sd_m e)`` (module
    docstring); 0 outside the brain, TORT = AxEAD / RadEAD.
    """
    brain = tissue_table("MD")[labels] > 0
    # One smooth micro-structure field modulates every map (they describe the same tissue).
    modulation = 1.0 + np.float32(effects.modulation_amplitude) * smooth_field(
        rng, labels.shape, effects.modulation_sigma)
    blur = BLUR_SIGMA_VOXELS * effects.session.blur_scale
    maps = {}
    for name in _MAP_COLUMNS:
        value = tissue_table(name)[labels] * modulation
        value *= np.float32(effects.map_factors[name])
        value *= 1.0 + INJURY_EFFECT[name] * injury
        value = ndimage.gaussian_filter(value, blur, truncate=3.0)
        # The fit's noise is spatially correlated (interpolation in motion / eddy-current
        # correction): unit-SD noise smoothed by the session's blur, then scaled.
        noise_sd = np.float32(NOISE_SD[name] * effects.session.noise_scale)
        value *= 1.0 + noise_sd * smooth_field(rng, labels.shape, blur)
        maps[name] = np.where(brain, np.maximum(value, 0.0), 0.0).astype(np.float32)
    rad = maps["RadEAD"]
    maps["TORT"] = np.where(rad > 0, maps["AxEAD"] / np.where(rad > 0, rad, 1.0),
                            0.0).astype(np.float32)
    return {name: keep_significant_bits(array) for name, array in maps.items()}


def render_subject(subject: SubjectPlan, out_dir: Path, seed: int) -> dict:
    """Write the 10 DKI maps and the ROI label map; return per-ROI means of FA, MD, MK."""
    rng = rng_for(seed, STUDY, subject.index)
    grid = Grid()
    head = random_head(rng, grid)
    effects = draw_subject_effects(rng, subject.params.get("integrity"))
    injury = _injury_field(head, grid, subject.params)
    maps = dki_maps(head.labels, injury, effects, rng)
    rois = roi_discs(head, grid)
    folder = out_dir / subject.id
    for name in DKI_MAPS:
        write_nifti(maps[name], grid, folder / f"{name}.nii.gz")
    write_nifti(rois, grid, folder / "rois.nii.gz")
    return {"roi_means": {m: {r: float(maps[m][rois == k].mean())
                              for k, r in enumerate(ROI_NAMES, start=1)}
                          for m in ("FA", "MD", "MK")},
            "subject_effects": {**effects.session.as_dict(), "integrity": effects.integrity,
                                "map_factors": effects.map_factors,
                                "modulation_amplitude": effects.modulation_amplitude,
                                "modulation_sigma_voxels": effects.modulation_sigma}}


def keep_significant_bits(array: np.ndarray, bits: int = 13) -> np.ndarray:
    """float32 ``array`` with its mantissa cut to ``bits`` bits (relative precision 2^-bits).

    1.2e-4 relative precision is far below the maps' noise (5-10 %), and the zeroed low
    mantissa bits make the compressed NIfTI files several times faster to write.
    """
    mask = np.uint32((0xFFFFFFFF << (23 - bits)) & 0xFFFFFFFF)
    return (np.ascontiguousarray(array, np.float32).view(np.uint32) & mask).view(np.float32)


def wm_mean(result: dict, map_name: str) -> float:
    """Subject-level statistic: mean over the white-matter ROIs of the ROI means."""
    return float(np.mean([result["roi_means"][map_name][r] for r in WHITE_ROIS]))


def roi_icc(results: list[dict]) -> dict:
    """ICC(1) across subjects of the log ROI means of FA, MD and MK, ROI-type mean removed.

    Subtracting each ROI's cohort mean (of the log) leaves subject effects plus ROI-level
    residuals; the ICC is the share of the subject effects in that variance (all subjects,
    the 15 ROIs each; injuries add to the residual in patients).
    """
    out = {}
    for m in ("FA", "MD", "MK"):
        table = np.log([[r["roi_means"][m][roi] for roi in ROI_NAMES] for r in results])
        out[f"roi_icc_log_{m}"] = intraclass_correlation(list(table - table.mean(axis=0)))
    return out


def finalise(plan: CohortPlan, results: list[dict] | None, seed: int) -> dict:
    """Apply the null permutation; return the truth record with measured effect sizes."""
    if plan.null:
        permute_targets(plan.subjects, ["diagnosis", "outcome"],
                        rng_for(seed, STUDY, 10 ** 6 + 1))
    measured = {}
    if results is not None:
        def d(target, positive, negative, m):
            a = [wm_mean(r, m) for s, r in zip(plan.subjects, results)
                 if s.targets[target] == positive]
            b = [wm_mean(r, m) for s, r in zip(plan.subjects, results)
                 if s.targets[target] == negative]
            return cohens_d(a, b)
        for target, pos, neg in (("diagnosis", "patient", "volunteer"),
                                 ("outcome", "unfavourable", "favourable"),
                                 ("random_label", "a", "b")):
            measured[target] = {f"cohens_d_wm_mean_{m}": d(target, pos, neg, m)
                                for m in ("FA", "MD", "MK")}
    subject_structure = {} if results is None else roi_icc(results)
    maps_changed = list(INJURY_EFFECT) + ["TORT"]
    direction = {m: ("lower" if INJURY_EFFECT[m] < 0 else "higher") + " in injured WM"
                 for m in INJURY_EFFECT} | {"TORT": "lower (AxEAD down, RadEAD up)"}
    targets = {
        "diagnosis": tr.effect(
            images=maps_changed, rois=list(WHITE_ROIS),
            feature_family="first-order (mean, percentiles) of the DKI maps",
            direction=direction,
            model="patients: severity s ~ U(0.2, 1); each WM ROI injured with p = 0.55 "
                  "(0.75 corpus callosum, brainstem); Gaussian blob (SD 6 mm) of amplitude "
                  "0.15 s scaling each map by (1 + k a g)",
            strength={"injury_scale": INJURY_SCALE, "relative_change_per_unit": INJURY_EFFECT,
                      "p_injured": P_INJURED_DEFAULT, "p_injured_cc_brainstem": 0.75},
            measured=measured.get("diagnosis")),
        "outcome": tr.effect(
            images=maps_changed, rois=list(WHITE_ROIS),
            feature_family="first-order (mean) of the DKI maps, brainstem in particular",
            direction={m: v.replace("injured WM", "unfavourable") for m, v in direction.items()},
            model="unfavourable = top 40 % of patients by s + 0.3*[brainstem injured] + "
                  "N(0, 0.25^2); volunteers have no outcome (null)",
            strength={"latent_noise_sd": 0.25, "brainstem_weight": 0.3},
            measured=measured.get("outcome")),
        "random_label": tr.no_effect("balanced coin per subject, independent of the images",
                                     measured.get("random_label")),
    }
    if plan.null:
        targets = tr.nullify(targets)
    return {"study": STUDY, "seed": seed, "null": plan.null, "n_subjects": len(plan.subjects),
            "maps": list(DKI_MAPS), "rois": list(ROI_NAMES), "targets": targets,
            "confounders": {"none": "grey-matter ROIs carry no effect; all subjects share the "
                            "same anatomy model"},
            "subject_structure": subject_structure,
            "subject_effects": effects_record(
                "per subject, shared by its 15 ROIs and 10 maps, independent of every label: "
                "map factors F_m = exp(l_m w + f_m) (integrity latent w, loadings "
                f"{INTEGRITY_LOADING}, f_m ~ N(0, {MAP_FACTOR_LOG_SD}^2)), micro-structure "
                f"amplitude {MODULATION_AMPLITUDE} x exp(N(0, {MODULATION_LOG_SD}^2)) and width "
                f"{MODULATION_SIGMA_VOXELS} x exp(N(0, {MODULATION_SIGMA_LOG_SD}^2)) voxels, session "
                "noise and blur scales (neurorad.synth.subject.Session)",
                [s.id for s in plan.subjects], results),
            "notes": ["Maps are brain-masked (0 outside the brain).",
                      "AWF/AxEAD/RadEAD/TORT are meaningful in white matter only; grey-matter "
                      "values are what a voxel-wise fit returns, CSF is 0.",
                      "15 ROIs x 10 maps per subject: group cross-validation by subject."]}
