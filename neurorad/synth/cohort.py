"""Cohort driver: plan a study's subjects, render them (in parallel), write manifest + truth.

A study module (``nf2``, ``pet``, ``dai``, ``glioma``) provides

``plan_cohort(seed, null, n_subjects) -> CohortPlan``
    every subject's id, group, files, ROIs, targets and latent image parameters (cheap);
``render_subject(subject, out_dir, seed) -> dict``
    writes the subject's images and masks, returns measurements made on the written arrays;
``finalise(plan, results, seed) -> dict``
    fills image-derived targets into the plan, applies the ``--null`` label permutation and
    returns the truth record (see :mod:`neurorad.synth.truth`).
"""
from __future__ import annotations

import importlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from neurorad.studies import get_study
from neurorad.synth.common import rng_for
from neurorad.synth.truth import plain, write_truth

MANIFEST_NAME = "manifest.yaml"
TRUTH_NAME = "truth.json"


@dataclass
class SubjectPlan:
    """One subject of a cohort: manifest entry plus the latent parameters of its images."""

    index: int
    id: str
    group: str
    images: dict
    masks: dict                     # mask name -> relative path
    rois: dict                      # roi name -> label (single mask) or {mask, label}
    targets: dict
    params: dict = field(default_factory=dict)

    def manifest_entry(self) -> dict:
        entry = {"id": self.id, "group": self.group, "images": dict(self.images)}
        if list(self.masks) == ["mask"]:
            entry["mask"] = self.masks["mask"]
        else:
            entry["masks"] = dict(self.masks)
        entry["rois"] = dict(self.rois)
        entry["targets"] = dict(self.targets)
        return entry


@dataclass
class CohortPlan:
    """A study design instantiated for one seed: subjects and target declarations."""

    study: str
    description: str
    targets: dict                   # target name -> manifest spec (type, classes, role, ...)
    subjects: list[SubjectPlan]
    null: bool = False
    design: dict = field(default_factory=dict)   # study-level parameters, for truth.json


def study_module(study: str):
    """The module generating ``study``'s cohort (``Study.synth`` of the study registry)."""
    return importlib.import_module(get_study(study).synth)


def permute_targets(subjects: list[SubjectPlan], names: list[str],
                    rng: np.random.Generator) -> None:
    """Shuffle the targets ``names`` jointly across subjects (the ``--null`` design).

    The images stay as generated; the labels become a random permutation of themselves, so
    class counts are kept and every target is independent of the images.
    """
    order = rng.permutation(len(subjects))
    rows = [{n: s.targets[n] for n in names} for s in subjects]
    for subject, source in zip(subjects, order):
        subject.targets.update(rows[source])


def _render_one(args):
    study, subject, out_dir, seed = args
    return study_module(study).render_subject(subject, out_dir, seed)


def render_all(study: str, subjects: list[SubjectPlan], out_dir: Path, seed: int,
               workers: int, progress: bool) -> list[dict]:
    """Render every subject, in ``workers`` processes; one progress line per batch."""
    jobs = [(study, s, out_dir, seed) for s in subjects]
    step = max(1, len(jobs) // 5)
    results = []

    def report(done: int) -> None:
        if progress and (done % step == 0 or done == len(jobs)):
            print(f"[{study}] {done}/{len(jobs)} subjects written", file=sys.stderr, flush=True)

    if workers <= 1:
        for job in jobs:
            results.append(_render_one(job))
            report(len(results))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(_render_one, jobs, chunksize=2):
            results.append(result)
            report(len(results))
    return results


def write_manifest(plan: CohortPlan, path: Path) -> None:
    """Write ``plan`` as a version-1 manifest (paths relative to the manifest's folder)."""
    document = {
        "neurorad_manifest": 1,
        "study": plan.study,
        "description": plan.description,
        "data_root": ".",
        "targets": plan.targets,
        "subjects": [s.manifest_entry() for s in plan.subjects],
    }
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(plain(document), fh, sort_keys=False, default_flow_style=None, width=100)


def default_workers() -> int:
    """Two processes at most: the cohorts are I/O- and NumPy-bound, machines are shared."""
    return max(1, min(2, os.cpu_count() or 1))


def make_cohort(study: str, out_dir, *, seed: int = 0, null: bool = False,
                n_subjects: int | None = None, workers: int | None = None,
                write_images: bool = True, progress: bool = True) -> Path:
    """Generate a synthetic cohort of ``study`` in ``out_dir``; return the manifest path.

    Parameters
    ----------
    study : {"nf2", "pet", "dai", "glioma"}
        Design to mirror (``/work/shared/studies.md``; module docstrings give the models).
    out_dir : path
        Folder receiving ``manifest.yaml``, ``truth.json`` and one sub-folder per subject.
    seed : int
        Same seed, same bytes.
    null : bool
        Same design, but every target is independent of the images (labels permuted).
    n_subjects : int, optional
        Smaller cohort for tests (class proportions kept, >= 2 per class).
    workers : int, optional
        Processes rendering subjects (default: up to 2).
    write_images : bool
        False writes only the manifest and truth.json of the design (cheap; image files are
        named but absent, image-derived targets are ``null``).
    progress : bool
        One line per batch of subjects on stderr.
    """
    module = study_module(study)
    out_dir = Path(out_dir)
    plan = module.plan_cohort(seed, null, n_subjects)  # before any folder: a bad size leaves none
    out_dir.mkdir(parents=True, exist_ok=True)
    if write_images:
        results = render_all(study, plan.subjects, out_dir, seed,
                             default_workers() if workers is None else workers, progress)
    else:
        results = None
    truth = module.finalise(plan, results, seed)
    manifest_path = out_dir / MANIFEST_NAME
    write_manifest(plan, manifest_path)
    write_truth(truth, out_dir / TRUTH_NAME)
    return manifest_path


def ensure_cohort(study: str, cohorts_dir: Path, *, null: bool = False, seed: int = 0,
                  quiet: bool = False, **size) -> Path:
    """The manifest of the synthetic cohort of ``study`` in ``cohorts_dir``, generated if missing.

    The cohort folder is ``<cohorts_dir>/<study>`` (``<study>-null`` for the null cohort);
    a folder holding a ``manifest.yaml`` is reused as it is.
    """
    folder = Path(cohorts_dir) / (f"{study}-null" if null else study)
    return ensure_cohort_in(folder, study, null=null, seed=seed, quiet=quiet, **size)


def ensure_cohort_in(folder, study: str, *, null: bool = False, seed: int = 0,
                     quiet: bool = False, **size) -> Path:
    """``<folder>/manifest.yaml``, generating the cohort of ``study`` there if it is missing."""
    folder = Path(folder)
    manifest = folder / MANIFEST_NAME
    if manifest.is_file():
        return manifest
    if not quiet:
        print(f"[{study}] generating synthetic cohort in {folder} ...", flush=True)
    started = time.time()
    path = Path(make_cohort(study, folder, seed=seed, null=null, **size))
    if not quiet:
        print(f"[{study}] cohort ready in {time.time() - started:.0f} s", flush=True)
    return path
