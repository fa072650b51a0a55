"""IBSI digital phantom: every texture reference value (cm, rlm, szm, dzm, ngt, ngl).

Reference values and tolerances come from ``shared/ibsi/reference_values/ibsi_1_dig_phantom.csv``
(IBSI reference manual tables), matched with the IBSI / MIRP rule (3 significant digits, then
``|x - ref| <= tolerance``; see ``ibsi_phantom_data``). Phantom settings (IBSI manual, reference
data sets): no discretisation (image values are the grey levels), N_g = 6, morphological mask
= intensity mask, GLCM/NGTDM/NGLDM distance 1, NGLDM coarseness 0.
"""
from __future__ import annotations

import numpy as np
import pytest

from neurorad.features.gldzm import gldzm_features
from neurorad.features.glcm import glcm_features
from neurorad.features.glrlm import glrlm_features
from neurorad.features.glszm import glszm_features
from neurorad.features.ngldm import ngldm_features
from neurorad.features.ngtdm import ngtdm_features
from neurorad.features.texture import DIRECTIONAL_AGGREGATIONS, VOLUME_AGGREGATIONS
from tests.features.ibsi_phantom_data import (
    AVAILABLE, N_LEVELS, SHARED, load_phantom, mismatches, reference,
)

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=f"IBSI data not found at {SHARED}")

# Number of reference values per family (shared/ibsi/README.md).
EXPECTED_COUNTS = {"cm": 150, "rlm": 96, "szm": 48, "dzm": 48, "ngt": 15, "ngl": 51}


@pytest.fixture(scope="module")
def phantom():
    image, mask, _ = load_phantom()
    return np.where(mask, image, 0).astype(np.int64), mask


@pytest.fixture(scope="module")
def computed(phantom):
    binned, mask = phantom
    return {
        "cm": glcm_features(binned, N_LEVELS, aggregations=DIRECTIONAL_AGGREGATIONS),
        "rlm": glrlm_features(binned, N_LEVELS, aggregations=DIRECTIONAL_AGGREGATIONS),
        "szm": glszm_features(binned, N_LEVELS, aggregations=VOLUME_AGGREGATIONS),
        "dzm": gldzm_features(binned, N_LEVELS, mask, aggregations=VOLUME_AGGREGATIONS),
        "ngt": ngtdm_features(binned, N_LEVELS, aggregations=VOLUME_AGGREGATIONS),
        "ngl": ngldm_features(binned, N_LEVELS, aggregations=VOLUME_AGGREGATIONS),
    }


@pytest.mark.parametrize("family", list(EXPECTED_COUNTS))
def test_every_phantom_reference_value_matches(family, computed):
    ref = reference(family + "_")
    assert len(ref) == EXPECTED_COUNTS[family]
    bad = mismatches(computed[family], ref)
    assert not bad, "\n".join(bad)


def test_phantom_has_the_documented_grey_levels(phantom):
    """Guard the input itself: levels 1, 3, 4, 6 with counts 50, 1, 16, 7 (README)."""
    binned, mask = phantom
    levels, counts = np.unique(binned[mask], return_counts=True)
    assert levels.tolist() == [1, 3, 4, 6] and counts.tolist() == [50, 1, 16, 7]
