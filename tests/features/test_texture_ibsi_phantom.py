"""IBSI digital phantom: every texture reference value (cm, rlm, szm, dzm, ngt, ngl).

Reference values and tolerances come from ``shared/ibsi/reference_values/ibsi_1_dig_phantom.csv``
(IBSI reference manual tables). Match rule (IBSI / MIRP tests): round the computed value to 3
significant digits, then ``|x - ref| <= tolerance``. Phantom settings (IBSI manual, reference
data sets): no discretisation (image values are the grey levels), N_g = 6, morphological mask
= intensity mask, GLCM/NGTDM/NGLDM distance 1, NGLDM coarseness 0.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest

from neurorad.features.gldzm import gldzm_features
from neurorad.features.glcm import glcm_features
from neurorad.features.glrlm import glrlm_features
from neurorad.features.glszm import glszm_features
from neurorad.features.ngldm import ngldm_features
from neurorad.features.ngtdm import ngtdm_features
from neurorad.features.texture import DIRECTIONAL_AGGREGATIONS, VOLUME_AGGREGATIONS

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [Path(os.environ["NEURORAD_SHARED"])] if os.environ.get("NEURORAD_SHARED") else []
CANDIDATES += [ROOT.parent / "shared", ROOT / "shared", Path("/work/shared")]
SHARED = next((p for p in CANDIDATES if (p / "ibsi").is_dir()), Path("/work/shared"))
PHANTOM = SHARED / "ibsi" / "digital_phantom"
REFERENCE = SHARED / "ibsi" / "reference_values" / "ibsi_1_dig_phantom.csv"
N_LEVELS = 6

pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason=f"IBSI data not found at {SHARED}")

# Expected number of reference values per family (shared/ibsi/README.md).
EXPECTED_COUNTS = {"cm": 150, "rlm": 96, "szm": 48, "dzm": 48, "ngt": 15, "ngl": 51}


def _read(folder: str) -> np.ndarray:
    import SimpleITK as sitk

    path = sorted((PHANTOM / folder).glob("*.nii*"))[0]
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))  # (z, y, x)


@pytest.fixture(scope="module")
def phantom():
    image, mask = _read("image"), _read("mask") > 0
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


def _reference(family: str) -> dict[str, tuple[float, float]]:
    ref = {}
    with open(REFERENCE, newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            if row["tag"].startswith(family + "_") and row["reference value"]:
                ref[row["tag"]] = (float(row["reference value"]), float(row["tolerance"] or 0))
    return ref


def _sig3(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, 2 - int(math.floor(math.log10(abs(x)))))


@pytest.mark.parametrize("family", list(EXPECTED_COUNTS))
def test_every_phantom_reference_value_matches(family, computed):
    ref = _reference(family)
    assert len(ref) == EXPECTED_COUNTS[family]
    features = computed[family]
    mismatches = []
    for tag, (value, tol) in sorted(ref.items()):
        x = features.get(tag)
        if x is None or not math.isfinite(x) or abs(_sig3(x) - value) > tol + 1e-12 * max(1, abs(value)):
            mismatches.append(f"{tag}: got {x!r}, reference {value} +/- {tol}")
    assert not mismatches, "\n".join(mismatches)


def test_phantom_has_the_documented_grey_levels(phantom):
    """Guard the input itself: levels 1, 3, 4, 6 with counts 50, 1, 16, 7 (README)."""
    binned, mask = phantom
    levels, counts = np.unique(binned[mask], return_counts=True)
    assert levels.tolist() == [1, 3, 4, 6] and counts.tolist() == [50, 1, 16, 7]
