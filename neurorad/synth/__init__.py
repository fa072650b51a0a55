"""Synthetic cohorts mirroring the four neuro-radiomics studies (images, masks, manifest, truth).

``make_cohort(study, out_dir, *, seed=0, null=False) -> Path`` writes a cohort of the
``nf2``, ``pet``, ``dai`` or ``glioma`` design into ``out_dir`` and returns its
``manifest.yaml``; ``truth.json`` beside it records the planted effects. The command
``neurorad demo-data {nf2,pet,dai,glioma,all} --out DIR`` does the same from a shell;
``ensure_cohort`` reuses a cohort already there. Which module generates a study's cohort is
written in the study registry (``neurorad.studies.STUDIES``, ``Study.synth``).
"""
from __future__ import annotations

from neurorad.synth.cohort import ensure_cohort, make_cohort

__all__ = ["ensure_cohort", "make_cohort"]
