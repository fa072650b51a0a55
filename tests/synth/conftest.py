"""Small synthetic cohorts, generated once per test session (one process, few subjects)."""
from __future__ import annotations

import pytest

from neurorad.synth import make_cohort

SMALL = {"nf2": 6, "pet": 3, "dai": 8, "glioma": 8}


@pytest.fixture(scope="session")
def small_cohorts(tmp_path_factory):
    """study -> manifest path of a small cohort (seed 3)."""
    root = tmp_path_factory.mktemp("synth")
    return {study: make_cohort(study, root / study, seed=3, n_subjects=n, workers=1,
                               progress=False)
            for study, n in SMALL.items()}
