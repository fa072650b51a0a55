"""Locate the IBSI-2 reference data (``shared/ibsi2``) and load phase-1 cases."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [Path(os.environ["NEURORAD_SHARED"])] if os.environ.get("NEURORAD_SHARED") else []
CANDIDATES += [ROOT.parent / "shared", Path("/work/shared")]
IBSI2 = next((p / "ibsi2" for p in CANDIDATES if (p / "ibsi2" / "phase1_cases.json").is_file()),
             None)
needs_ibsi2 = pytest.mark.skipif(
    IBSI2 is None, reason="IBSI-2 reference data not found (looked for ../shared/ibsi2 "
    "relative to the repository root, /work/shared/ibsi2 and $NEURORAD_SHARED/ibsi2)")


def phase1_cases(with_reference: bool = True) -> list[dict]:
    if IBSI2 is None:
        return []
    doc = json.loads((IBSI2 / "phase1_cases.json").read_text(encoding="utf-8"))
    return [c for c in doc["cases"] if bool(c["reference"]) or not with_reference]


def read(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """(array in z, y, x order as float64, spacing z, y, x)."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(IBSI2 / path), sitk.sitkFloat64)
    return sitk.GetArrayFromImage(image), tuple(reversed(image.GetSpacing()))
