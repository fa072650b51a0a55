"""Synthetic glioma "digital biopsy" cohort (four histological types, fixed-size ROIs).

Design (``/work/shared/studies.md`` §4): 83 patients — oligodendroglioma 15, anaplastic
oligodendroglioma 14, anaplastic astrocytoma 16, glioblastoma 38; MRI (T1, T1c, T2, FLAIR);
2-4 standardised 5 x 5 x 5-voxel (10-mm) cubes per patient inside the tumour
(``roi_1..roi_k``).

Generative model (per patient; class means, patient-level SD in ``APPEARANCE``)
---------------------------------------------------------------------------------
* ``enhancement`` e: T1c = T1 * (1 + e * (1 + 0.5 n)) in solid tumour (n: smooth field);
* ``heterogeneity`` h: intensities * (1 + w_m h n), w = (T1 -0.5, T1c +1, T2 +1, FLAIR +0.7);
* ``calcification`` c: each tumour voxel is a dark speck (x 0.35 on every sequence) with
  probability c (oligodendroglial tumours);
* ``necrosis``: a central core (fraction of the radius) that does not enhance and is bright
  on T2 — 75 % of glioblastomas (fraction 0.3-0.6), 15 % of anaplastic astrocytomas;
* ``t2_level``: solid-tumour T2 mean; surrounding oedema (T2/FLAIR +``oedema``) out to 1.4 x
  the tumour radius.

Every patient is scanned in its own session (:class:`neurorad.synth.subject.Session`: noise
level and blur of all four sequences scaled by log-normal factors, SD 0.25 and 0.2, assumed),
which reaches the texture of every ROI of the patient alike, whatever its histology.

Every patient draws its own parameters around the class means, and all its ROIs share them:
ROIs of one patient are strongly alike (intra-class correlation reported in truth.json),
which is what makes ROI-level cross-validation leak. Tumour size does not depend on the class.
``random_label`` is a null binary target; ``--null`` permutes ``histology`` across patients.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from neurorad.synth import truth as tr
from neurorad.synth.anatomy import INTRACRANIAL, Grid, Tissue, random_head
from neurorad.synth.cohort import CohortPlan, SubjectPlan, permute_targets
from neurorad.synth.common import cohens_d, rng_for, scaled_counts, write_nifti
from neurorad.synth.lesions import Blob, blob_mask, lesion_pattern
from neurorad.synth.mri import MRI_SEQUENCES, acquire, base_images, subject_texture
from neurorad.synth.subject import draw_session, effects_record, intraclass_correlation

STUDY = "glioma"
CLASS_COUNTS = {"oligodendroglioma": 15, "anaplastic_oligodendroglioma": 14,
                "anaplastic_astrocytoma": 16, "glioblastoma": 38}
# (mean per class in CLASS_COUNTS order, patient-level SD)
APPEARANCE = {
    "enhancement": ((0.08, 0.22, 0.20, 0.38), 0.14),
    "heterogeneity": ((0.07, 0.10, 0.10, 0.14), 0.04),
    "calcification": ((0.040, 0.030, 0.010, 0.008), 0.015),
    "t2_level": ((1250.0, 1200.0, 1200.0, 1150.0), 90.0),
    "oedema": ((0.10, 0.15, 0.20, 0.35), 0.08),
}
P_NECROSIS = (0.0, 0.0, 0.15, 0.75)
ROI_SIZE = 5                                # voxels per side of the cubic ROIs
SESSION_MODEL = ("one scanning session per patient (neurorad.synth.subject.Session): noise SD "
                 "and PSF width of all four sequences x log-normal factors (SD 0.25, 0.2), "
                 "independent of the histology")
TEXTURE_WEIGHTS = {"T1": -0.5, "T1c": 1.0, "T2": 1.0, "FLAIR": 0.7}
TARGETS = {
    "histology": {"type": "categorical", "classes": list(CLASS_COUNTS)},
    "random_label": {"type": "binary", "classes": ["a", "b"],
                     "description": "null target, independent of the images"},
}


def plan_cohort(seed: int, null: bool, n_subjects: int | None) -> CohortPlan:
    """Patients, histology, tumour and appearance parameters (see module docstring)."""
    rng = rng_for(seed, STUDY, 10 ** 6)
    counts = scaled_counts(CLASS_COUNTS, n_subjects)
    labels = [c for c, n in counts.items() for _ in range(n)]
    labels = [labels[i] for i in rng.permutation(len(labels))]
    random_labels = ["a", "b"] * ((len(labels) + 1) // 2)
    random_labels = [random_labels[i] for i in rng.permutation(len(labels))]
    classes = list(CLASS_COUNTS)
    subjects = []
    for i, histology in enumerate(labels, start=1):
        c = classes.index(histology)
        params = {name: float(means[c] + sd * rng.standard_normal())
                  for name, (means, sd) in APPEARANCE.items()}
        for name in ("enhancement", "heterogeneity", "calcification", "oedema"):
            params[name] = max(params[name], 0.0)
        params["necrosis"] = (float(rng.uniform(0.3, 0.6)) if rng.random() < P_NECROSIS[c]
                              else 0.0)
        params["radius_mm"] = float(rng.uniform(16.0, 24.0))
        params["n_rois"] = int(rng.integers(2, 5))
        sid = f"glioma-{i:03d}"
        subjects.append(SubjectPlan(
            index=i, id=sid, group=sid,
            images={m: f"{sid}/{m}.nii.gz" for m in MRI_SEQUENCES},
            masks={"mask": f"{sid}/rois.nii.gz"},
            rois={f"roi_{k}": k for k in range(1, params["n_rois"] + 1)},
            targets={"histology": histology, "random_label": random_labels[i - 1]},
            params=params))
    return CohortPlan(STUDY, "Synthetic glioma histology cohort with fixed-size ROIs "
                      "(neurorad demo-data; planted effects in truth.json)",
                      {k: dict(v) for k, v in TARGETS.items()}, subjects, null)


def _tumour_blob(head, params: dict, rng) -> Blob:
    side = float(rng.choice([-1.0, 1.0]))
    template_centre = (rng.uniform(8.0, 26.0), rng.uniform(-35.0, 35.0),
                       side * rng.uniform(24.0, 34.0))
    r = params["radius_mm"]
    semi = tuple(r * np.exp(rng.normal(0.0, 0.1, 3)))
    return Blob(tuple(head.warp.subject_point(template_centre)), semi)


def _place_cubes(tumour: np.ndarray, n: int, rng, subject_id: str
                 ) -> list[tuple[slice, slice, slice]]:
    """``n`` non-overlapping ROI_SIZE^3 cubes lying entirely inside ``tumour``.

    Greedy placement in random order; a few restarts cover the rare order that blocks itself.
    """
    half = ROI_SIZE // 2
    candidates = np.argwhere(ndimage.binary_erosion(tumour, np.ones((ROI_SIZE,) * 3, bool)))
    best = []
    for _ in range(50):
        centres = []
        for index in rng.permutation(len(candidates)):
            c = candidates[index]
            if all(np.max(np.abs(c - o)) >= ROI_SIZE for o in centres):
                centres.append(c)
                if len(centres) == n:
                    return [tuple(slice(int(v) - half, int(v) + half + 1) for v in c)
                            for c in centres]
        best = max(best, centres, key=len)
    raise RuntimeError(f"subject {subject_id}: only {len(best)} of {n} standardised "
                       f"{ROI_SIZE}^3-voxel ROIs fit in the simulated tumour")


def render_subject(subject: SubjectPlan, out_dir: Path, seed: int) -> dict:
    """Write four sequences and the ROI label map; return per-ROI summary statistics."""
    p = subject.params
    rng = rng_for(seed, STUDY, subject.index)
    head = random_head(rng, Grid())
    session = draw_session(rng)
    base = base_images(head.labels, subject_texture(rng, head.grid), rng)
    blob = _tumour_blob(head, p, rng)
    # Intra-axial: the tumour stays inside the brain (it may abut the cortex, not the skull).
    tumour = blob_mask(head.grid, blob) & np.isin(head.labels, INTRACRANIAL)
    oedema_blob = Blob(blob.centre, tuple(1.4 * a for a in blob.semi_axes))
    oedema = blob_mask(head.grid, oedema_blob) & ~tumour & (base["T2"] > 0)
    for sequence in ("T2", "FLAIR"):
        base[sequence][oedema] *= np.float32(1.0 + p["oedema"])

    z, y, x = head.grid.axes()
    radius = blob.implicit(z[:, None, None], y[None, :, None], x[None, None, :])[tumour]
    necrotic = radius < p["necrosis"]
    pattern = lesion_pattern(rng, tumour)
    specks = rng.random(pattern.shape) < p["calcification"]
    t1 = np.float32(560.0) * (1.0 + TEXTURE_WEIGHTS["T1"] * p["heterogeneity"] * pattern)
    values = {
        "T1": t1,
        "T1c": t1 * (1.0 + p["enhancement"] * (1.0 + 0.5 * pattern)),
        "T2": p["t2_level"] * (1.0 + TEXTURE_WEIGHTS["T2"] * p["heterogeneity"] * pattern),
        "FLAIR": 1000.0 * (1.0 + TEXTURE_WEIGHTS["FLAIR"] * p["heterogeneity"] * pattern),
    }
    values["T1c"][necrotic] = 0.8 * t1[necrotic]
    values["T1"][necrotic] *= 0.8
    values["T2"][necrotic] = 1600.0
    values["FLAIR"][necrotic] = 700.0
    for sequence in MRI_SEQUENCES:
        v = values[sequence]
        v[specks] *= 0.35
        base[sequence][tumour] = np.maximum(v, 1.0)

    images = acquire(base, head.grid, rng, session=session)
    label_map = np.zeros(head.grid.shape, np.uint8)
    # Sequences have their own scanner gain: enhancement is judged against normal white matter.
    wm = (head.labels == Tissue.WHITE_MATTER) & ~oedema & ~tumour
    wm_ratio = float(np.median(images["T1c"][wm]) / np.median(images["T1"][wm]))
    stats = []
    for k, cube in enumerate(_place_cubes(tumour, p["n_rois"], rng, subject.id), start=1):
        label_map[cube] = k
        roi = {s: images[s][cube].astype(float) for s in MRI_SEQUENCES}
        stats.append({"T1c_T1_ratio": float(roi["T1c"].mean() / roi["T1"].mean()) / wm_ratio,
                      "T2_cv": float(roi["T2"].std() / roi["T2"].mean()),
                      "T2_min_ratio": float(roi["T2"].min() / roi["T2"].mean())})
    folder = out_dir / subject.id
    for sequence, array in images.items():
        write_nifti(array, head.grid, folder / f"{sequence}.nii.gz")
    write_nifti(label_map, head.grid, folder / "rois.nii.gz")
    return {"rois": stats, "subject_effects": session.as_dict()}


def finalise(plan: CohortPlan, results: list[dict] | None, seed: int) -> dict:
    """Apply the null permutation; return the truth record."""
    if plan.null:
        permute_targets(plan.subjects, ["histology"], rng_for(seed, STUDY, 10 ** 6 + 1))
    measured = {}
    if results is not None:
        per_subject = {stat: [np.mean([r[stat] for r in res["rois"]]) for res in results]
                       for stat in ("T1c_T1_ratio", "T2_cv", "T2_min_ratio")}
        labels = [s.targets["histology"] for s in plan.subjects]
        for cls in CLASS_COUNTS:
            measured[cls] = {f"cohens_d_{stat}_subject_mean": cohens_d(
                [v for v, l in zip(vals, labels) if l == cls],
                [v for v, l in zip(vals, labels) if l != cls])
                for stat, vals in per_subject.items()}
        measured["roi_icc"] = {stat: intraclass_correlation(
            [[r[stat] for r in res["rois"]] for res in results])
            for stat in ("T1c_T1_ratio", "T2_cv")}
        rnd = [s.targets["random_label"] for s in plan.subjects]
        measured["random_label"] = {"cohens_d_T1c_T1_ratio_subject_mean": cohens_d(
            [v for v, l in zip(per_subject["T1c_T1_ratio"], rnd) if l == "a"],
            [v for v, l in zip(per_subject["T1c_T1_ratio"], rnd) if l == "b"])}
    classes = list(CLASS_COUNTS)
    targets = {
        "histology": tr.effect(
            images=list(MRI_SEQUENCES), rois=["roi_*"],
            feature_family="first-order (T1c/T1 enhancement, dispersion, dark specks) and "
                           "texture",
            direction={c: {name: means[i] for name, (means, _) in APPEARANCE.items()}
                       | {"p_necrosis": P_NECROSIS[i]} for i, c in enumerate(classes)},
            model="per-patient parameters ~ N(class mean, patient SD), shared by all ROIs "
                  "of the patient (see neurorad.synth.glioma)",
            strength={"patient_sd": {name: sd for name, (_, sd) in APPEARANCE.items()}},
            measured={k: v for k, v in measured.items() if k != "random_label"}),
        "random_label": tr.no_effect("balanced coin per patient, independent of the images",
                                     measured.get("random_label")),
    }
    if plan.null:
        targets = tr.nullify(targets)
    return {"study": STUDY, "seed": seed, "null": plan.null, "n_subjects": len(plan.subjects),
            "n_rois": sum(len(s.rois) for s in plan.subjects), "targets": targets,
            "confounders": {"tumour_size": "none: radius ~ U(16, 24) mm in every class"},
            "subject_effects": effects_record(SESSION_MODEL, [s.id for s in plan.subjects],
                                              results),
            "notes": ["ROIs of one patient share its appearance parameters; "
                      "cross-validation must be grouped by patient."]}
