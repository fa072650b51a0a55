"""IBSI-2 phase 1: every response map with a consensus reference, voxel by voxel.

Tolerance as in IBSI 2 (and ``shared/checks/ibsi2_check.py``): every voxel within 1 % of
the reference map's intensity range. The reference maps are independent (consensus of the
IBSI-2 teams), so these tests check the definitions, not our own output.
"""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad import filters
from tests.filters.ibsi2_data import IBSI2, needs_ibsi2, phase1_cases

pytestmark = needs_ibsi2
CASES = phase1_cases()


def _supported(case) -> bool:
    return case["spec"]["filter"] in filters.FILTERS


@pytest.mark.parametrize("case", [c for c in CASES if _supported(c)], ids=lambda c: c["id"])
def test_phase1_response_map(case):
    image = sitk.ReadImage(str(IBSI2 / case["phantom"]), sitk.sitkFloat64)
    reference = sitk.ReadImage(str(IBSI2 / case["reference"]))
    out = filters.apply(image, dict(case["spec"]))
    assert out.GetSize() == reference.GetSize()
    assert np.allclose(out.GetSpacing(), reference.GetSpacing())
    assert np.allclose(out.GetOrigin(), reference.GetOrigin())
    x = sitk.GetArrayFromImage(out)
    r = sitk.GetArrayFromImage(reference).astype(np.float64)
    limit = 0.01 * (r.max() - r.min())
    assert np.abs(x - r).max() <= limit, (case["id"], np.abs(x - r).max() / (r.max() - r.min()))



def test_every_phase1_filter_is_registered():
    assert {c["spec"]["filter"] for c in phase1_cases(with_reference=False)} <= set(filters.FILTERS)
