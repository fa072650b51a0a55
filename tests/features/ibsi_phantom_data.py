"""IBSI digital phantom and its reference values, for the non-texture family tests.

Match rule (IBSI / MIRP tests, shared/ibsi/README.md): round the computed value to 3
significant digits, then ``|x - ref| <= tolerance``. Tags without a published value are skipped.
"""
from __future__ import annotations

import csv
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = [Path(os.environ["NEURORAD_SHARED"])] if os.environ.get("NEURORAD_SHARED") else []
_CANDIDATES += [ROOT.parent / "shared", ROOT / "shared", Path("/work/shared")]
SHARED = next((p for p in _CANDIDATES if (p / "ibsi").is_dir()), Path("/work/shared"))
PHANTOM = SHARED / "ibsi" / "digital_phantom"
REFERENCE = SHARED / "ibsi" / "reference_values" / "ibsi_1_dig_phantom.csv"
AVAILABLE = REFERENCE.exists()
N_LEVELS = 6  # IBSI: the phantom's grey levels are 1..6 (2 and 5 absent)


@lru_cache(maxsize=1)
def load_phantom() -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """(image float64, mask bool, spacing (z, y, x) mm) of the digital phantom."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(PHANTOM / "image" / "phantom.nii.gz"))
    mask = sitk.ReadImage(str(PHANTOM / "mask" / "mask.nii.gz"))
    spacing = tuple(float(s) for s in image.GetSpacing()[::-1])
    return (sitk.GetArrayFromImage(image).astype(np.float64),
            sitk.GetArrayFromImage(mask) > 0, spacing)


def reference(prefix: str) -> dict[str, tuple[float, float]]:
    """Published (value, tolerance) of every tag starting with ``prefix``."""
    out = {}
    with open(REFERENCE, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            if row["tag"].startswith(prefix) and row["reference value"]:
                out[row["tag"]] = (float(row["reference value"]), float(row["tolerance"] or 0))
    return out


def sig3(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, 2 - int(math.floor(math.log10(abs(x)))))


def mismatches(computed: dict, ref: dict) -> list[str]:
    """Reference tags the computed features miss or do not match (IBSI rule)."""
    bad = []
    for tag, (value, tol) in ref.items():
        x = computed.get(tag)
        if x is None or not math.isfinite(x) or abs(sig3(x) - value) > tol + 1e-12 * max(1, abs(value)):
            bad.append(f"{tag}: {x} vs {value}±{tol}")
    return bad
