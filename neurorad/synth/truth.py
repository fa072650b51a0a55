"""``truth.json``: what was planted in a synthetic cohort, machine-readable.

Layout::

    {"study": ..., "seed": ..., "null": bool, "n_subjects": ..., "design": {...},
     "targets": {name: {"effect": bool, "images": [...], "rois": [...],
                         "feature_family": ..., "direction": {...}, "model": "...",
                         "strength": {...}, "measured": {...}}},
     "confounders": {...}, "notes": [...]}

``strength`` holds the planted parameters; ``measured`` holds simple statistics recomputed on
the written images (e.g. Cohen's d of a subject-level mean), so a reader can judge how large
the planted effect turned out in this draw. Targets without an effect carry
``{"effect": false, "reason": ...}``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def effect(*, images, rois, feature_family: str, direction: dict, model: str,
           strength: dict, measured: dict | None = None) -> dict:
    """Truth entry of a target that carries an image effect."""
    return {"effect": True, "images": list(images), "rois": list(rois),
            "feature_family": feature_family, "direction": dict(direction), "model": model,
            "strength": dict(strength), "measured": dict(measured or {})}


def no_effect(reason: str, measured: dict | None = None) -> dict:
    """Truth entry of a target independent of the images."""
    return {"effect": False, "reason": reason, "measured": dict(measured or {})}


def nullify(targets: dict, reason: str = "--null cohort: labels randomly permuted across "
            "patients, independent of the images") -> dict:
    """The ``--null`` version of a truth ``targets`` block: no target carries an effect."""
    return {name: no_effect(reason, entry.get("measured")) for name, entry in targets.items()}


def plain(value):
    """JSON-safe copy: NumPy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return round(value, 6) if math.isfinite(value) else None
    return value


def write_truth(truth: dict, path: Path) -> None:
    """Write ``truth`` as indented JSON (stable key order: deterministic bytes)."""
    Path(path).write_text(json.dumps(plain(truth), indent=2, sort_keys=True) + "\n", encoding="utf-8")
