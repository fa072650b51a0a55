"""Synthetic NF2-related schwannomatosis cohort (radiogenomics, exploratory design).

Design (``/work/shared/studies.md`` §1): 53 patients, one MRI each (T1, T1c, T2, FLAIR),
1-3 tumours per patient in one label map (``lesion_1..lesion_k``), masks drawn slice by slice.

Generative model
----------------
* ``variant_origin`` (germline 34 / mosaic 19). Germline patients have more tumours
  (P(k = 1, 2, 3) = .2/.45/.35 vs .55/.35/.10 for mosaic), more often bilateral vestibular
  schwannomas, and tumours 25 % larger in radius (log-normal radius, median 9 mm for
  germline). **Its only image effect is tumour size and count** — a documented size
  confounder: a radiomic separation of origin that vanishes after adjusting for volume is
  the expected finding.
* ``variant_type`` (truncating vs non-truncating; P(truncating) = .6 germline, .4 mosaic)
  changes tumour heterogeneity (cystic change): the lesion texture amplitude is
  ``h = 0.15 + 0.09 * truncating + b_patient + e_lesion``, ``b ~ N(0, 0.045^2)``,
  ``e ~ N(0, 0.0375^2)``; intensities inside a lesion are ``mu_m * (1 + w_m * h * n(v))``
  with ``n`` a unit-variance smooth field and ``w = (T1 -0.5, T1c -0.8, T2 +1, FLAIR +0.5)``
  (cysts: bright on T2, dark and non-enhancing on T1c). Independent of size.
* ``variant_class`` (CNV vs SNV, P(CNV) = .25): **no effect** (the null target).
* ``exon``: categorical annotation for colouring, no image effect.

Every patient is scanned in its own session (:class:`neurorad.synth.subject.Session`: noise
level and blur of all four sequences scaled by log-normal factors, SD 0.25 and 0.2, assumed):
the lesions of one patient share it, together with the patient heterogeneity ``b``.

``--null`` permutes the four genotype columns jointly across patients.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from neurorad.synth import truth as tr
from neurorad.synth.anatomy import CEREBRUM, Grid, Tissue, random_head
from neurorad.synth.cohort import CohortPlan, SubjectPlan, permute_targets
from neurorad.synth.common import cohens_d, rng_for, scaled_counts, write_nifti
from neurorad.synth.lesions import Blob, blob_mask, lesion_pattern, slice_drawn_mask
from neurorad.synth.mri import MRI_SEQUENCES, acquire, base_images, subject_texture
from neurorad.synth.subject import draw_session, effects_record

STUDY = "nf2"
ORIGIN_COUNTS = {"germline": 34, "mosaic": 19}
LESION_COUNT_P = {"germline": (0.2, 0.45, 0.35), "mosaic": (0.55, 0.35, 0.10)}
P_TRUNCATING = {"germline": 0.6, "mosaic": 0.4}
P_CNV = 0.25
RADIUS_MEDIAN_MM = {"germline": 9.0, "mosaic": 7.2}
HETEROGENEITY_BASE, HETEROGENEITY_TRUNCATING = 0.15, 0.09
HETEROGENEITY_PATIENT_SD, HETEROGENEITY_LESION_SD = 0.045, 0.0375
# Lesion means (T1, T1c, T2, FLAIR) and texture weights per sequence.
LESION_MEANS = {"schwannoma": (620.0, 1300.0, 1100.0, 900.0),
                "meningioma": (600.0, 1250.0, 850.0, 800.0)}
TEXTURE_WEIGHTS = (-0.5, -0.8, 1.0, 0.5)
GENOTYPE_COLUMNS = ["variant_origin", "variant_type", "variant_class", "exon"]
# Vestibular schwannomas sit in the cerebellopontine angle beside the pons (template mm).
CPA_Z, CPA_Y, BRAINSTEM_HALF_WIDTH = -30.0, 14.0, 13.0

TARGETS = {
    "variant_origin": {"type": "binary", "classes": ["germline", "mosaic"]},
    "variant_type": {"type": "binary", "classes": ["non_truncating", "truncating"]},
    "variant_class": {"type": "binary", "classes": ["CNV", "SNV"]},
    "exon": {"type": "categorical", "role": "annotation"},
}


def _draw_exon(rng, truncating: bool) -> int:
    # Truncating variants cluster in exons 2-13, others spread over 1-15 (annotation only).
    return int(rng.integers(2, 14)) if truncating else int(rng.integers(1, 16))


def _plan_lesions(rng, origin: str, heterogeneity_patient: float, truncating: bool) -> list:
    n = int(rng.choice([1, 2, 3], p=LESION_COUNT_P[origin]))
    first_side = float(rng.choice([-1.0, 1.0]))
    kinds = ["schwannoma"]
    if n >= 2:
        bilateral = rng.random() < (0.8 if origin == "germline" else 0.4)
        kinds.append("schwannoma" if bilateral else "meningioma")
    if n == 3:
        kinds.append("meningioma")
    lesions = []
    for i, kind in enumerate(kinds):
        h = (HETEROGENEITY_BASE + HETEROGENEITY_TRUNCATING * truncating + heterogeneity_patient
             + rng.normal(0.0, HETEROGENEITY_LESION_SD))
        lesions.append({
            "kind": kind,
            "side": first_side if i == 0 else -first_side,
            "radius_mm": float(np.clip(RADIUS_MEDIAN_MM[origin] * np.exp(rng.normal(0, 0.3)),
                                       5.0, 16.0)),
            "heterogeneity": float(np.clip(h, 0.02, 0.5)),
            "intensity_jitter": rng.normal(0.0, 0.05, 4).tolist(),
        })
    return lesions


def plan_cohort(seed: int, null: bool, n_subjects: int | None) -> CohortPlan:
    """Subjects, genotypes and lesion parameters of the NF2 cohort (see module docstring)."""
    rng = rng_for(seed, STUDY, 10 ** 6)
    counts = scaled_counts(ORIGIN_COUNTS, n_subjects)
    origins = [o for o, c in counts.items() for _ in range(c)]
    origins = [origins[i] for i in rng.permutation(len(origins))]
    subjects = []
    for i, origin in enumerate(origins, start=1):
        truncating = bool(rng.random() < P_TRUNCATING[origin])
        cnv = bool(rng.random() < P_CNV)
        lesions = _plan_lesions(rng, origin, rng.normal(0.0, HETEROGENEITY_PATIENT_SD),
                                truncating)
        sid = f"nf2-{i:03d}"
        subjects.append(SubjectPlan(
            index=i, id=sid, group=f"nf2-p{i:03d}",
            images={m: f"{sid}/{m}.nii.gz" for m in MRI_SEQUENCES},
            masks={"mask": f"{sid}/lesions.nii.gz"},
            rois={f"lesion_{k}": k for k in range(1, len(lesions) + 1)},
            targets={"variant_origin": origin,
                     "variant_type": "truncating" if truncating else "non_truncating",
                     "variant_class": "CNV" if cnv else "SNV",
                     "exon": _draw_exon(rng, truncating)},
            params={"lesions": lesions}))
    _ensure_two_per_class(subjects, rng)
    return CohortPlan(STUDY, "Synthetic NF2 schwannomatosis radiogenomics cohort "
                      "(neurorad demo-data; planted effects in truth.json)",
                      {k: dict(v) for k, v in TARGETS.items()}, subjects, null)


def _ensure_two_per_class(subjects: list[SubjectPlan], rng) -> None:
    # Small test cohorts may draw a single class by chance; flip a random subject's label
    # (labels only: for variant_type the lesions' heterogeneity follows the label below).
    for name, (a, b) in (("variant_type", ("non_truncating", "truncating")),
                         ("variant_class", ("CNV", "SNV"))):
        for cls, other in ((a, b), (b, a)):
            while sum(s.targets[name] == cls for s in subjects) < 2:
                candidates = [s for s in subjects if s.targets[name] == other]
                chosen = candidates[int(rng.integers(len(candidates)))]
                chosen.targets[name] = cls
                if name == "variant_type":
                    delta = HETEROGENEITY_TRUNCATING * (1 if cls == "truncating" else -1)
                    for lesion in chosen.params["lesions"]:
                        lesion["heterogeneity"] = float(np.clip(
                            lesion["heterogeneity"] + delta, 0.02, 0.5))


def _lesion_blob(head, lesion: dict, rng) -> Blob:
    r = lesion["radius_mm"]
    side = lesion["side"]
    if lesion["kind"] == "schwannoma":
        template_centre = (CPA_Z, CPA_Y, side * (BRAINSTEM_HALF_WIDTH + 0.8 * r))
        centre = head.warp.subject_point(template_centre)
        semi = tuple(r * np.exp(rng.normal(0.0, 0.08, 3)))
        return Blob(tuple(centre), semi, tail_direction=side, tail_length=r + 8.0,
                    tail_radius=min(2.5, 0.5 * r))
    # Meningioma: dural base on the upper convexity of the given side.
    c, a = np.asarray(CEREBRUM[0]), np.asarray(CEREBRUM[1])
    direction = np.array([rng.uniform(0.3, 1.0), rng.uniform(-1, 1), side * rng.uniform(0.2, 1)])
    surface = c + direction / np.linalg.norm(direction / a)
    outward = direction / np.linalg.norm(direction)
    centre = head.warp.subject_point(surface + 1.5 * outward)
    semi = (r, r * np.exp(rng.normal(0, 0.1)), r * np.exp(rng.normal(0, 0.1)))
    return Blob(tuple(centre), semi)


def render_subject(subject: SubjectPlan, out_dir: Path, seed: int) -> dict:
    """Write the subject's four sequences and lesion label map; measure each lesion."""
    rng = rng_for(seed, STUDY, subject.index)
    head = random_head(rng, Grid())
    session = draw_session(rng)
    texture = subject_texture(rng, head.grid)
    base = base_images(head.labels, texture, rng)
    label_map = np.zeros(head.grid.shape, np.uint8)
    inside_skull = ~np.isin(head.labels, (Tissue.BACKGROUND, Tissue.SCALP))
    lesion_fields = []
    for k, lesion in enumerate(subject.params["lesions"], start=1):
        blob = _lesion_blob(head, lesion, rng)
        allowed = inside_skull
        if lesion["kind"] == "meningioma":
            allowed = inside_skull & (head.labels != Tissue.SKULL)   # dural, not intraosseous
        extent = blob_mask(head.grid, blob) & allowed
        pattern = lesion_pattern(rng, extent)
        means = LESION_MEANS[lesion["kind"]]
        for m, sequence in enumerate(MRI_SEQUENCES):
            mean = means[m] * (1.0 + lesion["intensity_jitter"][m])
            values = mean * (1.0 + TEXTURE_WEIGHTS[m] * lesion["heterogeneity"] * pattern)
            base[sequence][extent] = np.maximum(values, 0.05 * mean)
        drawn = slice_drawn_mask(head.grid, blob, rng) & allowed
        label_map[drawn] = k
        lesion_fields.append(k)
    images = acquire(base, head.grid, rng, session=session)
    folder = out_dir / subject.id
    for sequence, array in images.items():
        write_nifti(array, head.grid, folder / f"{sequence}.nii.gz")
    write_nifti(label_map, head.grid, folder / "lesions.nii.gz")
    return {"lesions": [lesion_measurements(images, label_map == k, head.grid)
                        for k in lesion_fields], "subject_effects": session.as_dict()}


def lesion_measurements(images: dict, mask: np.ndarray, grid: Grid) -> dict:
    """Volume (ml) and T2 / T1c coefficient of variation inside the 1-voxel-eroded mask."""
    core = ndimage.binary_erosion(mask)
    if core.sum() < 5:
        core = mask
    out = {"volume_ml": float(mask.sum() * np.prod(grid.spacing) / 1000.0)}
    for sequence in ("T2", "T1c"):
        values = images[sequence][core].astype(float)
        out[f"{sequence}_cv"] = float(values.std() / values.mean()) if values.size else np.nan
    return out


def finalise(plan: CohortPlan, results: list[dict] | None, seed: int) -> dict:
    """Apply the null permutation; return the truth record with measured effect sizes."""
    if plan.null:
        permute_targets(plan.subjects, GENOTYPE_COLUMNS, rng_for(seed, STUDY, 10 ** 6 + 1))
    measured = _measure(plan, results) if results is not None else {}
    targets = {
        "variant_type": tr.effect(
            images=["T2", "T1c", "T1", "FLAIR"], rois=["lesion_*"],
            feature_family="first-order dispersion and texture (heterogeneity)",
            direction={"T2": "more heterogeneous in truncating",
                       "T1c": "more heterogeneous in truncating"},
            model="texture amplitude h = 0.15 + 0.09*truncating + N(0,0.045^2) patient "
                  "+ N(0,0.0375^2) lesion; independent of tumour size",
            strength={"h_difference": HETEROGENEITY_TRUNCATING,
                      "h_between_lesion_sd": float(np.hypot(HETEROGENEITY_PATIENT_SD,
                                                            HETEROGENEITY_LESION_SD)),
                      "cohens_d_h": HETEROGENEITY_TRUNCATING / float(np.hypot(
                          HETEROGENEITY_PATIENT_SD, HETEROGENEITY_LESION_SD))},
            measured=measured.get("variant_type")),
        "variant_origin": tr.effect(
            images=list(MRI_SEQUENCES), rois=["lesion_*"], feature_family="morphology (size)",
            direction={"volume": "larger in germline", "lesion count": "higher in germline"},
            model="radius median 9.0 mm germline vs 7.2 mm mosaic (log-normal, SD 0.3); "
                  "lesion count P(1,2,3) .2/.45/.35 vs .55/.35/.10; no texture effect",
            strength={"radius_ratio": RADIUS_MEDIAN_MM["germline"] / RADIUS_MEDIAN_MM["mosaic"]},
            measured=measured.get("variant_origin")),
        "variant_class": tr.no_effect("CNV vs SNV drawn independently of every image "
                                      "parameter", measured.get("variant_class")),
        "exon": tr.no_effect("annotation for colouring only; correlated with variant_type "
                             "(truncating variants in exons 2-13)"),
    }
    if plan.null:
        targets = tr.nullify(targets)
    return {"study": STUDY, "seed": seed, "null": plan.null, "n_subjects": len(plan.subjects),
            "n_lesions": sum(len(s.rois) for s in plan.subjects), "targets": targets,
            "confounders": {"tumour_size": "variant_origin acts through tumour size and "
                            "count only (germline larger, more tumours)" if not plan.null
                            else "none planted",
                            "genotype_correlation": "truncating variants are more frequent in "
                            "germline patients (P .6 vs .4), so variant_type and "
                            "variant_origin are correlated and each shows a little of the "
                            "other's effect"},
            "subject_effects": effects_record(
                "one scanning session per patient (neurorad.synth.subject.Session): noise SD "
                "and PSF width of all four sequences x log-normal factors (SD 0.25, 0.2), "
                "shared by the patient's lesions, independent of the genotype",
                [s.id for s in plan.subjects], results),
            "notes": ["Lesions of one patient share group (patient id) and a patient-level "
                      "heterogeneity effect: they are not independent.",
                      "Masks are drawn per axial slice with independent in-plane shifts "
                      "(SD 0.7 mm) and contour jitter, then stacked."]}


def _measure(plan: CohortPlan, results: list[dict]) -> dict:
    """Lesion-level Cohen's d of the statistics that carry (or should not carry) effects."""
    rows = [(s.targets, lesion) for s, r in zip(plan.subjects, results) for lesion in r["lesions"]]

    def d(target, positive, stat):
        a = [m[stat] for t, m in rows if t[target] == positive]
        b = [m[stat] for t, m in rows if t[target] != positive]
        return cohens_d(a, b)

    return {
        "variant_type": {"cohens_d_T2_cv_lesion": d("variant_type", "truncating", "T2_cv"),
                         "cohens_d_T1c_cv_lesion": d("variant_type", "truncating", "T1c_cv"),
                         "cohens_d_volume_lesion": d("variant_type", "truncating", "volume_ml")},
        "variant_origin": {"cohens_d_volume_lesion": d("variant_origin", "germline", "volume_ml"),
                           "cohens_d_T2_cv_lesion": d("variant_origin", "germline", "T2_cv")},
        "variant_class": {"cohens_d_T2_cv_lesion": d("variant_class", "CNV", "T2_cv"),
                          "cohens_d_volume_lesion": d("variant_class", "CNV", "volume_ml")},
    }
