"""Synthetic glioma WHO-grading cohort for the deep-learning study (grades I-IV, whole MRI).

Design (issue 17; Danilov et al., Stud Health Technol Inform 2022;290:675-678): one object of
the 3-D model is one MRI *study* (T1, T1 + contrast, FLAIR of one session); some patients
have several studies (follow-up sessions of the same tumour), so studies of one patient are
not independent. The published cohort had 707 studies; the default here is 100 patients
(grade mix ``GRADE_SHARES``: II and III rarer) with 1-3 studies each, on a coarse 4-mm grid
(``GRID``: 32 x 48 x 40 voxels) so that a small CNN trains on a 2-core CPU in minutes.

Generative model (per patient; class means and patient-level SD in ``APPEARANCE``)
---------------------------------------------------------------------------------
Every voxel of the tumour region has a membership ``w = sigmoid((1 - f) r / m)``, with ``f``
the tumour's implicit radius (< 1 inside; the ellipsoid radius times ``1 + a n``, ``n`` a
smooth unit field, ``a`` the margin *irregularity*), ``r`` the tumour radius and ``m`` the
margin *width* in mm (a well-defined margin: m small; an infiltrative one: m large). The
sequences inside are ``(1 - w) normal + w tumour``:

* solid tumour: T1 = 0.75 x white matter, FLAIR = 1.45 x white matter;
* ``enhancement`` e: T1c = T1 (1 + e) where the tumour enhances — *nodular* (grade I: the
  solid part beside a cyst), *none* (II), *patchy* (III: where a smooth field exceeds its
  60th percentile), *ring* (IV: a shell of 0.3 r around a necrotic core);
* ``necrosis`` (75-90 % of grade IV, 10 % of grade III): a core of fraction 0.4-0.7 of the
  radius, T1 0.5, T1c 0.5 (no enhancement), FLAIR 1.5 x white matter;
* cyst (60 % of grade I): a fluid core of fraction 0.5-0.7, T1 0.35, FLAIR 0.5 x white matter;
* ``oedema`` extent o: FLAIR x 1.45 and T1 x 0.88 from the tumour out to o x r;
* ``radius_mm`` r; grade I tumours lie in the cerebellum with probability 0.4 (pilocytic
  astrocytoma), the others in a cerebral hemisphere.

Every study of a patient shares the patient's anatomy, tumour position, shape and grade
parameters; a follow-up study has its own acquisition (gain, bias field, noise), a shift of up
to one voxel and a radius change of x U(0.95, 1.12). ``random_label`` is a null binary target;
``--null`` permutes ``grade`` across *patients* (all studies of a patient keep one label).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from neurorad.synth import truth as tr
from neurorad.synth.anatomy import INTRACRANIAL, Grid, Tissue, random_head, smooth_field
from neurorad.synth.cohort import CohortPlan, SubjectPlan
from neurorad.synth.common import cohens_d, rng_for, scaled_counts, write_nifti
from neurorad.synth.mri import WHITE_MATTER_MEAN, acquire, base_images, subject_texture

STUDY = "grading"
GRADES = ("I", "II", "III", "IV")
#: Default patients per grade (100 patients; II and III rarer, IV the majority).
GRADE_COUNTS = {"I": 22, "II": 12, "III": 12, "IV": 54}
GRADE_SHARES = {g: n / sum(GRADE_COUNTS.values()) for g, n in GRADE_COUNTS.items()}
SEQUENCES = ("T1", "T1c", "FLAIR")
#: Coarse grid of this cohort (z, y, x): 4-mm voxels, 128 x 192 x 160 mm.
GRID = Grid((32, 48, 40), (4.0, 4.0, 4.0))
#: (mean per grade in GRADES order, patient-level SD)
APPEARANCE = {
    "radius_mm": ((13.0, 16.0, 18.0, 21.0), 3.0),
    "enhancement": ((0.60, 0.03, 0.25, 0.70), 0.12),
    "oedema": ((1.05, 1.10, 1.35, 1.70), 0.12),
    "margin_mm": ((1.0, 5.0, 3.5, 2.5), 0.8),
    "irregularity": ((0.05, 0.12, 0.18, 0.28), 0.05),
}
ENHANCEMENT_PATTERN = ("nodular", "none", "patchy", "ring")
P_NECROSIS = (0.0, 0.0, 0.10, 0.85)
P_CYST = (0.6, 0.0, 0.0, 0.0)
P_CEREBELLAR = (0.4, 0.0, 0.0, 0.0)
#: Probability that a patient has follow-up studies, and how many (1 or 2, equally likely).
P_FOLLOW_UP = 0.35
TARGETS = {
    "grade": {"type": "categorical", "classes": list(GRADES),
              "description": "WHO grade of the glioma (I-IV)"},
    "random_label": {"type": "binary", "classes": ["a", "b"],
                     "description": "null target, independent of the images"},
}
#: Label map values of ``tumour.nii.gz``.
LABELS = {"tumour": 1, "oedema": 2}


def plan_cohort(seed: int, null: bool, n_subjects: int | None) -> CohortPlan:
    """Patients (``n_subjects`` of them, default 100), their grades, studies and parameters."""
    rng = rng_for(seed, STUDY, 10 ** 6)
    counts = scaled_counts(GRADE_COUNTS, n_subjects)
    grades = [g for g, n in counts.items() for _ in range(n)]
    grades = [grades[i] for i in rng.permutation(len(grades))]
    coins = ["a", "b"] * ((len(grades) + 1) // 2)
    coins = [coins[i] for i in rng.permutation(len(grades))]
    subjects = []
    index = 0
    for p, grade in enumerate(grades, start=1):
        c = GRADES.index(grade)
        params = {name: float(means[c] + sd * rng.standard_normal())
                  for name, (means, sd) in APPEARANCE.items()}
        params["radius_mm"] = float(np.clip(params["radius_mm"], 9.0, 28.0))
        params["enhancement"] = max(params["enhancement"], 0.0)
        params["oedema"] = max(params["oedema"], 1.0)
        params["margin_mm"] = max(params["margin_mm"], 0.5)
        params["irregularity"] = max(params["irregularity"], 0.0)
        params["pattern"] = ENHANCEMENT_PATTERN[c]
        params["necrosis"] = (float(rng.uniform(0.4, 0.7)) if rng.random() < P_NECROSIS[c]
                              else 0.0)
        params["cyst"] = float(rng.uniform(0.5, 0.7)) if rng.random() < P_CYST[c] else 0.0
        params["cerebellar"] = bool(rng.random() < P_CEREBELLAR[c])
        params["patient_index"] = p
        n_studies = 1 + (int(rng.integers(1, 3)) if rng.random() < P_FOLLOW_UP else 0)
        pid = f"grading-p{p:03d}"
        for k in range(1, n_studies + 1):
            index += 1
            sid = f"{pid}-s{k}"
            study_params = dict(params, study_number=k,
                                growth=1.0 if k == 1 else float(rng.uniform(0.95, 1.12)),
                                shift=[0, 0, 0] if k == 1 else
                                [int(v) for v in rng.integers(-1, 2, 3)])
            subjects.append(SubjectPlan(
                index=index, id=sid, group=pid,
                images={m: f"{sid}/{m}.nii.gz" for m in SEQUENCES},
                masks={"mask": f"{sid}/tumour.nii.gz"},
                rois={"tumour": LABELS["tumour"]},
                targets={"grade": grade, "random_label": coins[p - 1]},
                params=study_params))
    return CohortPlan(STUDY, "Synthetic glioma WHO-grading cohort (T1, T1c, FLAIR; several "
                      "studies per patient for some; neurorad demo-data; planted effects in "
                      "truth.json)", {k: dict(v) for k, v in TARGETS.items()}, subjects, null,
                      design={"grid_shape": list(GRID.shape), "grid_spacing_mm": list(GRID.spacing),
                              "grade_counts": counts, "p_follow_up": P_FOLLOW_UP})


def _tumour_centre(head, params: dict, rng) -> np.ndarray:
    """Subject-space centre (mm): a cerebral hemisphere, or the cerebellum (grade I)."""
    side = float(rng.choice([-1.0, 1.0]))
    if params["cerebellar"]:
        template = (rng.uniform(-38.0, -30.0), rng.uniform(40.0, 52.0),
                    side * rng.uniform(14.0, 24.0))
    else:
        template = (rng.uniform(0.0, 26.0), rng.uniform(-35.0, 30.0),
                    side * rng.uniform(22.0, 34.0))
    return np.asarray(head.warp.subject_point(template), float)


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-np.clip(t, -30.0, 30.0)))


def tumour_maps(grid: Grid, centre, radius_mm: float, params: dict, rng) -> dict:
    """Membership maps of one tumour on ``grid`` (all float32 in [0, 1] or bool).

    Returns ``w`` (tumour membership, the soft margin), ``f`` (implicit radius), ``core``
    (necrotic or cystic core), ``enhancing`` (where T1c rises) and ``oedema`` (bool).
    """
    z, y, x = grid.axes()
    semi = radius_mm * np.exp(rng.normal(0.0, 0.12, 3))
    f = np.sqrt(((z[:, None, None] - centre[0]) / semi[0]) ** 2
                + ((y[None, :, None] - centre[1]) / semi[1]) ** 2
                + ((x[None, None, :] - centre[2]) / semi[2]) ** 2).astype(np.float32)
    f *= 1.0 + np.float32(params["irregularity"]) * smooth_field(rng, grid.shape, 1.5)
    w = _sigmoid((1.0 - f) * radius_mm / params["margin_mm"]).astype(np.float32)
    core_fraction = max(params["necrosis"], params["cyst"])
    core = f < core_fraction
    pattern = params["pattern"]
    if pattern == "ring":
        enhancing = (f >= core_fraction) & (f < core_fraction + 0.3 + 0.3 * (core_fraction == 0))
    elif pattern == "patchy":
        field = smooth_field(rng, grid.shape, 1.0)
        inside = f < 1.0
        threshold = np.quantile(field[inside], 0.6) if inside.any() else np.inf
        enhancing = inside & ~core & (field > threshold)
    elif pattern == "nodular":
        enhancing = (f < 1.0) & ~core
    else:
        enhancing = np.zeros(grid.shape, bool)
    oedema = (f < params["oedema"]) & (f >= 1.0)
    return {"w": w, "f": f, "core": core, "enhancing": enhancing, "oedema": oedema}


def render_subject(subject: SubjectPlan, out_dir: Path, seed: int) -> dict:
    """Write T1, T1c, FLAIR and the tumour/oedema label map of one study; return measurements
    made on the written images (enhancement ratio, FLAIR-bright volume)."""
    p = subject.params
    patient_rng = rng_for(seed, STUDY, 2 * 10 ** 6 + p["patient_index"])
    head = random_head(patient_rng, GRID)
    centre = _tumour_centre(head, p, patient_rng)
    maps = tumour_maps(GRID, centre, p["radius_mm"] * p["growth"], p, patient_rng)
    rng = rng_for(seed, STUDY, subject.index)
    base = base_images(head.labels, subject_texture(rng, GRID), rng)
    brain = np.isin(head.labels, INTRACRANIAL)
    wm = {s: np.float32(WHITE_MATTER_MEAN["T1" if s == "T1c" else s]) for s in SEQUENCES}

    oedema = maps["oedema"] & brain
    base["FLAIR"][oedema] *= np.float32(1.45)
    base["T1"][oedema] *= np.float32(0.88)
    base["T1c"][oedema] *= np.float32(0.88)

    t1 = np.full(GRID.shape, 0.75 * wm["T1"], np.float32)
    flair = np.full(GRID.shape, 1.45 * wm["FLAIR"], np.float32)
    core = maps["core"]
    if p["necrosis"] > 0:
        t1[core], flair[core] = 0.5 * wm["T1"], 1.5 * wm["FLAIR"]
    elif p["cyst"] > 0:
        t1[core], flair[core] = 0.35 * wm["T1"], 0.5 * wm["FLAIR"]
    t1c = t1 * np.where(maps["enhancing"], np.float32(1.0 + p["enhancement"]), np.float32(1.0))
    w = maps["w"] * brain
    for sequence, tumour in (("T1", t1), ("T1c", t1c), ("FLAIR", flair)):
        base[sequence] = (1.0 - w) * base[sequence] + w * tumour
    images = acquire(base, GRID, rng)
    shift = tuple(int(v) for v in p["shift"])
    images = {s: np.roll(a, shift, axis=(0, 1, 2)) for s, a in images.items()}

    label_map = np.zeros(GRID.shape, np.uint8)
    label_map[(maps["w"] >= 0.5) & brain] = LABELS["tumour"]
    label_map[(label_map == 0) & oedema] = LABELS["oedema"]
    label_map = np.roll(label_map, shift, axis=(0, 1, 2))
    if not (label_map == LABELS["tumour"]).any():
        raise RuntimeError(f"subject {subject.id}: the simulated tumour covers no voxel")
    folder = out_dir / subject.id
    for sequence in SEQUENCES:
        write_nifti(images[sequence], GRID, folder / f"{sequence}.nii.gz")
    write_nifti(label_map, GRID, folder / "tumour.nii.gz")

    tumour = label_map == LABELS["tumour"]
    normal = np.roll((head.labels == Tissue.WHITE_MATTER) & (w < 0.01) & ~oedema, shift,
                     axis=(0, 1, 2))
    ratio = {s: float(images[s][tumour].mean() / images[s][normal].mean()) for s in SEQUENCES}
    return {"enhancement_ratio": ratio["T1c"] / ratio["T1"],
            "tumour_voxels": int(tumour.sum()),
            "oedema_voxels": int((label_map == LABELS["oedema"]).sum())}


def _permute_by_patient(subjects: list[SubjectPlan], rng) -> None:
    """``--null``: permute the grade among patients; all studies of a patient keep one label."""
    patients = list(dict.fromkeys(s.group for s in subjects))
    grade = {s.group: s.targets["grade"] for s in subjects}
    order = rng.permutation(len(patients))
    new = {patients[i]: grade[patients[j]] for i, j in enumerate(order)}
    for s in subjects:
        s.targets["grade"] = new[s.group]


def finalise(plan: CohortPlan, results: list[dict] | None, seed: int) -> dict:
    """Apply the null permutation; return the truth record."""
    if plan.null:
        _permute_by_patient(plan.subjects, rng_for(seed, STUDY, 10 ** 6 + 1))
    measured = {}
    if results is not None:
        labels = [s.targets["grade"] for s in plan.subjects]
        for stat in ("enhancement_ratio", "tumour_voxels", "oedema_voxels"):
            values = [r[stat] for r in results]
            measured[stat] = {
                "mean_by_grade": {g: float(np.mean([v for v, l in zip(values, labels) if l == g]))
                                  for g in GRADES if g in labels},
                "cohens_d_IV_vs_rest": cohens_d([v for v, l in zip(values, labels) if l == "IV"],
                                                [v for v, l in zip(values, labels) if l != "IV"])}
    patients = {s.group for s in plan.subjects}
    targets = {
        "grade": tr.effect(
            images=list(SEQUENCES), rois=["whole volume", "tumour"],
            feature_family="tumour size, enhancement and its pattern, necrosis/cyst, oedema, "
                           "margin width and irregularity",
            direction={g: {name: means[i] for name, (means, _) in APPEARANCE.items()}
                       | {"enhancement_pattern": ENHANCEMENT_PATTERN[i],
                          "p_necrosis": P_NECROSIS[i], "p_cyst": P_CYST[i],
                          "p_cerebellar": P_CEREBELLAR[i]} for i, g in enumerate(GRADES)},
            model="per-patient parameters ~ N(grade mean, patient SD), shared by all studies "
                  "of the patient (see neurorad.synth.grading)",
            strength={"patient_sd": {name: sd for name, (_, sd) in APPEARANCE.items()}},
            measured=measured),
        "random_label": tr.no_effect("balanced coin per patient, independent of the images"),
    }
    if plan.null:
        targets = tr.nullify(targets)
    return {"study": STUDY, "seed": seed, "null": plan.null, "n_subjects": len(plan.subjects),
            "n_patients": len(patients), "design": plan.design, "targets": targets,
            "confounders": {"tumour_size": "planted: radius grows with grade (a published "
                                           "grade feature, not a confounder here)"},
            "notes": ["A subject of the manifest is one MRI study; its group is the patient. "
                      "Studies of one patient share anatomy and tumour: validation must be "
                      "grouped by patient (and slices by study and patient)."]}

