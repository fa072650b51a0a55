"""A study's headline result and its ``headline.json``.

Each notebook ends by writing ``headline.json`` into its report folder (:func:`write_headline`):
the grouped-validation headline metric with its interval, the leaky estimate beside it, and
the published number it is compared with; the index page (:mod:`neurorad.reports.index`)
reads it back (:func:`read_headline`).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

HEADLINE_FILE = "headline.json"


@dataclass
class Headline:
    """A study's headline result.

    ``estimate``/``ci_low``/``ci_high`` come from subject-grouped validation; ``leaky`` is
    the same metric under ROI-level (leaky) splitting when the study has several ROIs per
    subject; ``published`` is the number the original study reported (None: none
    published); ``chance`` is the value of a predictor without information (0.5 for
    ROC AUC, 0 for Spearman rho); ``notes`` is free text (e.g. cohort kind, quick mode).
    ``published_ci_low``/``published_ci_high``: the published interval (None: none given);
    ``permutation_p`` and ``n_permutations``: the label-permutation test of the grouped
    headline; ``cohort``: who was analysed, in words; ``leaky_note``: why no leaky estimate
    exists (e.g. one ROI per patient).
    """

    study: str
    metric: str
    model: str
    estimate: float
    ci_low: float
    ci_high: float
    task: str = ""
    target_class: str = ""
    leaky: float | None = None
    published: float | None = None
    published_text: str = ""
    chance: float | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)
    published_ci_low: float | None = None
    published_ci_high: float | None = None
    permutation_p: float | None = None
    n_permutations: int = 0
    cohort: str = ""
    leaky_note: str = ""

    @property
    def contains_chance(self) -> bool | None:
        """Whether the interval contains the chance level (None when chance is unknown)."""
        if self.chance is None or any(map(math.isnan, (self.ci_low, self.ci_high))):
            return None
        return self.ci_low <= self.chance <= self.ci_high


def write_headline(headline: Headline, out_dir: str | os.PathLike) -> Path:
    """Save ``headline`` as ``<out_dir>/headline.json``."""
    path = Path(out_dir) / HEADLINE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(headline), indent=2, default=float), encoding="utf-8")
    return path


def read_headline(study_dir: str | os.PathLike) -> Headline | None:
    """The headline saved in ``study_dir`` (None when the study has not been run)."""
    path = Path(study_dir) / HEADLINE_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Headline(**data)
