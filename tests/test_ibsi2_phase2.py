"""IBSI-2 phase 2: intensity statistics of filtered images of the IBSI CT phantom.

Each case of ``shared/ibsi2/phase2_cases.json`` with reference values is extracted with its
preset (``ibsi2-phase2-<id>``) and compared with the consensus values
(``phase2/reference_values.csv``) by the IBSI rule: round to 3 significant digits,
``|x - reference| <= tolerance``.
"""
from __future__ import annotations

import csv
import json

import pytest

import neurorad
from neurorad.filters import FILTERS
from tests.features.test_tags import IBSI2
from tests.test_ibsi_conformance import matches

pytestmark = pytest.mark.skipif(IBSI2 is None, reason="shared/ibsi2 case files not found")
CASES = json.loads((IBSI2 / "phase2_cases.json").read_text())["cases"] if IBSI2 else []
# Configuration B interpolates the phantom to 1 mm: about 20 s per case on 2 cores.
SLOW = {c["id"] for c in CASES if c["configuration"] == "B" or c["spec"]["filter"] == "gabor"}


def reference(case_id: str) -> dict[str, tuple[float, float]]:
    out = {}
    with open(IBSI2 / "phase2" / "reference_values.csv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            if row["filter_id"] == case_id and row["consensus_value"]:
                out[row["feature_tag"]] = (float(row["consensus_value"]),
                                           float(row["tolerance"] or 0))
    return out


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c["id"], marks=[pytest.mark.slow] if c["id"] in SLOW else [])
    for c in CASES if c["reference"]])
def test_phase2_case(case):
    spec = case["spec"]
    if spec["filter"] not in FILTERS:
        pytest.skip(f"filter {spec['filter']!r} is not in neurorad.filters yet")
    ref = reference(case["id"])
    assert len(ref) == case["reference_values"]
    feats = neurorad.extract_features(str(IBSI2 / case["image"]), str(IBSI2 / case["mask"]),
                                      neurorad.load_settings(case["preset"]), device="cpu")
    misses = [f"{tag}: {feats.get(tag)} vs {value}±{tol}" for tag, (value, tol) in ref.items()
              if not matches(feats.get(tag), value, tol)]
    assert not misses, misses
