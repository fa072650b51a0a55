"""Subject-level effects shared by every ROI and every image of one subject.

Real multi-ROI data are strongly correlated within a subject: all ROIs of one scan share the
scanning session (signal-to-noise ratio, effective resolution after motion and eddy-current
correction), the subject's head size and the subject's tissue (age, overall white-matter
integrity). A model trained on ROIs can therefore recognise the *subject* of a test ROI
from its other ROIs in the training set; with per-subject labels, recognising the subject
leaks the label. That is what makes ROI-level ("leaky") cross-validation optimistic, and
what subject-grouped cross-validation removes.

Two kinds of subject effect are drawn here; both are independent of every label.

``Session`` (acquisition; acts on what texture features see)
    ``noise_scale`` multiplies the image noise SD of every image of the session, and
    ``blur_scale`` the width of the point-spread / smoothing kernel. Texture features are
    computed after discretising each ROI over its own intensity range, so a purely
    multiplicative intensity factor never reaches them, whereas noise level and smoothness
    change every GLCM/GLRLM feature of every ROI of the session the same way.
    Sizes are **assumed** (no test-retest study of noise level or effective resolution per
    session was at hand): log-normal, SD 0.25 for the noise (SNR differences between
    sessions of ~25 % from coil loading, head size and positioning) and SD 0.2 for the
    smoothing width.

Tissue factors (first-order; drawn by the study modules)
    e.g. a white-matter "integrity" latent that moves FA, MD and the kurtosis maps of every
    white-matter ROI together (:mod:`neurorad.synth.dai`), or a global uptake factor
    (:mod:`neurorad.synth.pet`). Their sizes follow published between-subject and
    test-retest variability, quoted where they are used.

References
----------
Vollmar C. et al. Identical, but not the same: intra-site and inter-site reproducibility of
fractional anisotropy measures on two 3.0 T scanners. NeuroImage 51 (2010) 1384-1394:
intra-site (test-retest) CV of ROI FA 0.8-3.0 %, ICC 0.90-0.99.

Veenith T.V. et al. Inter subject variability and reproducibility of diffusion tensor imaging
within and between different imaging sessions. PLoS One 8 (2013) e65941: within-session
CV of regional FA 2.1 % (0.9-5.5 %), between sessions 2.4 %, both below the inter-subject
variability.

Heiervang E. et al. Between session reproducibility and between subject variability of
diffusion MR and tractography measures. NeuroImage 33 (2006) 867-877: tract mean FA
inter-session CV < 5 %, inter-subject CV < 10 %; MD < 3 % and < 8 %.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Log-normal SD of the per-session noise level (assumed, see module docstring).
SESSION_NOISE_LOG_SD = 0.25
#: Log-normal SD of the per-session smoothing width (assumed).
SESSION_BLUR_LOG_SD = 0.2


@dataclass(frozen=True)
class Session:
    """Acquisition effects of one scanning session, shared by all its images and ROIs."""

    noise_scale: float = 1.0      # multiplies every image's noise SD
    blur_scale: float = 1.0       # multiplies the smoothing / PSF width

    def as_dict(self) -> dict:
        return {"noise_scale": self.noise_scale, "blur_scale": self.blur_scale}


def draw_session(rng: np.random.Generator, *, noise_log_sd: float = SESSION_NOISE_LOG_SD,
                 blur_log_sd: float = SESSION_BLUR_LOG_SD) -> Session:
    """A random session: ``noise_scale = exp(N(0, noise_log_sd^2))``, likewise the blur.

    Two normal draws from ``rng`` (noise first), whatever the SDs (zero SDs give 1.0), so the
    rest of the subject's random stream does not depend on them.
    """
    z = rng.standard_normal(2)
    return Session(float(np.exp(noise_log_sd * z[0])), float(np.exp(blur_log_sd * z[1])))


def lognormal_factor(rng: np.random.Generator, log_sd: float) -> float:
    """``exp(N(0, log_sd^2))``: a multiplicative subject factor (one draw from ``rng``)."""
    return float(np.exp(log_sd * rng.standard_normal()))


def intraclass_correlation(values_by_group: list[list[float]]) -> float:
    """One-way random-effects ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW).

    ``k0`` is the usual adjusted mean group size for unbalanced groups (Shrout & Fleiss 1979).
    For values ``b_i + e_ij`` with independent subject effects ``b`` (variance s_b^2) and
    residuals ``e`` (s_w^2) it estimates ``s_b^2 / (s_b^2 + s_w^2)``.
    """
    groups = [np.asarray(g, float) for g in values_by_group if len(g) >= 1]
    n = np.array([len(g) for g in groups])
    total = np.concatenate(groups)
    grand = total.mean()
    a, big_n = len(groups), n.sum()
    msb = sum(len(g) * (g.mean() - grand) ** 2 for g in groups) / (a - 1)
    msw = sum(((g - g.mean()) ** 2).sum() for g in groups) / (big_n - a)
    k0 = (big_n - (n ** 2).sum() / big_n) / (a - 1)
    return float((msb - msw) / (msb + (k0 - 1) * msw))


def effects_record(model: str, subject_ids: list[str], results: list[dict] | None) -> dict:
    """``truth.json`` block of the subject effects: the model in words, each subject's draw.

    ``results`` are the render results; each carries its draw under ``"subject_effects"``.
    """
    per_subject = {}
    if results is not None:
        per_subject = {sid: r.get("subject_effects") for sid, r in zip(subject_ids, results)}
    return {"model": model, "per_subject": per_subject}
