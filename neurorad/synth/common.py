"""Shared plumbing of the synthetic cohorts: seeds, NIfTI writing, small statistics."""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from neurorad.errors import InputError
from neurorad.synth.anatomy import Grid

def rng_for(seed: int, study: str, *keys: int) -> np.random.Generator:
    """Independent, reproducible random stream for (seed, study, keys...).

    Subjects get their own stream (keyed by their index), so a subject's images do not
    depend on how many subjects are generated or in which process.
    """
    study_key = zlib.crc32(study.encode())
    return np.random.default_rng([int(seed), study_key, *[int(k) for k in keys]])


def write_nifti(array: np.ndarray, grid: Grid, path: Path) -> None:
    """Write a (z, y, x) array on ``grid`` as compressed NIfTI (identity direction, LPS)."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(tuple(float(s) for s in grid.spacing[::-1]))
    image.SetOrigin(tuple(float(o) for o in grid.origin[::-1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)


def cohens_d(a, b) -> float:
    """Cohen's d = (mean(a) - mean(b)) / pooled SD (ddof = 1); NaN if a group has < 2 values."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                     / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("nan")


class CohortSizeError(InputError):
    """A synthetic cohort cannot have the requested number of subjects."""


def scaled_counts(full_counts: dict[str, int], n_subjects: int | None,
                  minimum: int = 2) -> dict[str, int]:
    """Class counts of a design scaled to ``n_subjects`` (tests), at least ``minimum`` each.

    ``None`` keeps the published design. Rounding remainders go to the largest classes.
    """
    if n_subjects is None:
        return dict(full_counts)
    if n_subjects < minimum * len(full_counts):
        raise CohortSizeError(
            f"n_subjects={n_subjects} is too small: this design has {len(full_counts)} "
            f"classes and needs >= {minimum} subjects each (give --n-subjects "
            f"{minimum * len(full_counts)} or more)")
    total = sum(full_counts.values())
    counts = {k: max(minimum, int(np.floor(v * n_subjects / total)))
              for k, v in full_counts.items()}
    order = sorted(full_counts, key=lambda k: -full_counts[k])
    i = 0
    while sum(counts.values()) != n_subjects:
        key = order[i % len(order)]
        step = 1 if sum(counts.values()) < n_subjects else -1
        if counts[key] + step >= minimum:
            counts[key] += step
        i += 1
    return counts


def ball(grid: Grid, centre_mm, radius_mm) -> np.ndarray:
    """Boolean ball of radius ``radius_mm`` around a physical point (z, y, x) on ``grid``."""
    z, y, x = grid.axes()
    c = np.asarray(centre_mm, float)
    return ((z[:, None, None] - c[0]) ** 2 + (y[None, :, None] - c[1]) ** 2
            + (x[None, None, :] - c[2]) ** 2) <= radius_mm ** 2
