"""Subject-level structure of the synthetic cohorts, against what the parameters imply.

The intraclass correlation of the DAI maps' ROI means is derived from the generative
parameters by hand (variance components; the variance of an ROI mean of a Gaussian-smoothed
field from the kernel's autocorrelation) and compared with the ICC measured on maps made by
the cohort's own code, within a tolerance from the ICC's sampling distribution.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.stats import spearmanr

from neurorad.synth import dai
from neurorad.synth.anatomy import Tissue
from neurorad.synth.common import rng_for
from neurorad.synth.subject import (SESSION_BLUR_LOG_SD, SESSION_NOISE_LOG_SD, Session,
                                    draw_session, intraclass_correlation)
from neurorad.synth.mri import WHITE_MATTER_MEAN


def _kernel(sigma: float, truncate: float = 3.0) -> np.ndarray:
    """scipy.ndimage's 1-D Gaussian kernel: radius int(truncate sigma + 0.5), unit sum."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _roi_mean_variance(kernel: np.ndarray, side: int) -> float:
    """Var of the mean over a ``side``^3 cube of white noise filtered by ``kernel`` (separable),
    rescaled to unit voxel variance: prod over axes of (1/side^2) sum_ij rho(i - j)."""
    acf = np.correlate(kernel, kernel, mode="full")
    acf /= acf.max()                                   # rho(0) = 1
    centre = len(acf) // 2
    lags = np.subtract.outer(np.arange(side), np.arange(side))
    inside = np.abs(lags) <= centre
    rho = np.where(inside, acf[np.clip(lags + centre, 0, len(acf) - 1)], 0.0)
    return float(rho.sum() / side ** 2) ** 3


def _icc_se(rho: float, k: int, n: int) -> float:
    """Large-sample SE of ICC(1) with n groups of k (Fisher; Donner 1986)."""
    return float(np.sqrt(2 * (1 - rho) ** 2 * (1 + (k - 1) * rho) ** 2
                         / (k * (k - 1) * (n - 1))))


def test_roi_mean_variance_by_hand_matches_simulation():
    """The autocorrelation formula used below, checked against brute force once."""
    from scipy import ndimage
    rng = np.random.default_rng(0)
    side, sigma = 6, 2.0
    means = []
    for _ in range(400):
        field = ndimage.gaussian_filter(rng.standard_normal((20, 20, 20)), sigma, truncate=3.0)
        field /= np.sqrt((_kernel(sigma) ** 2).sum() ** 3)      # unit variance in theory
        means.append(field[7:7 + side, 7:7 + side, 7:7 + side].mean())
    expected = _roi_mean_variance(_kernel(sigma), side)
    assert np.var(means) == pytest.approx(expected, rel=0.2)   # 400 draws: SE ~ 7 %


def test_dai_roi_mean_icc_matches_parameters():
    """ICC of log mean FA over 4 ROIs x 60 subjects of a uniform white-matter volume.

    log(ROI mean) = log F_FA + a t_R + e_R (+ O(a^2)): between-subject variance
    l_FA^2 + sd_f^2; within-subject variance E[a^2] Var(t_R) + E[s^2] sd_FA^2 Var(e_R) with
    Var(t_R), Var(e_R) from the smoothing kernels (modulation, then the nominal blur; the
    noise smoothed by the nominal blur), Var(t_R) averaged over the log-normal modulation
    width, and
    E[a^2] = a0^2 exp(2 sd_a^2), E[s^2] = exp(2 sd_s^2) for the log-normal draws.
    """
    n_subjects, side = 60, 6
    labels = np.full((24, 40, 40), int(Tissue.WHITE_MATTER), np.uint8)
    starts = [(9, 8, 8), (9, 8, 26), (9, 26, 8), (9, 26, 26)]
    injury = np.zeros(labels.shape, np.float32)
    groups, drawn = [], []
    for i in range(n_subjects):
        rng = np.random.default_rng([41, i])
        effects = dai.draw_subject_effects(rng)
        fa = dai.dki_maps(labels, injury, effects, rng)["FA"]
        groups.append([np.log(fa[z:z + side, y:y + side, x:x + side].mean())
                       for z, y, x in starts])
        drawn.append(np.log(effects.map_factors["FA"]))
    between = dai.INTEGRITY_LOADING["FA"] ** 2 + dai.MAP_FACTOR_LOG_SD ** 2
    def var_t_at(sigma):
        # smooth_field scales the modulation to unit SD before the blur; the ROI mean's
        # variance is what the combined kernel gives, rescaled by the modulation kernel's
        # own energy.
        smooth = np.convolve(_kernel(sigma), _kernel(dai.BLUR_SIGMA_VOXELS))
        return (_roi_mean_variance(smooth, side) * (smooth ** 2).sum() ** 3
                / (_kernel(sigma) ** 2).sum() ** 3)

    # E over the log-normal width (Gauss-Hermite, 12 nodes; a independent of the width).
    nodes, weights = np.polynomial.hermite_e.hermegauss(12)
    var_t = sum(w * var_t_at(dai.MODULATION_SIGMA_VOXELS
                             * np.exp(dai.MODULATION_SIGMA_LOG_SD * x))
                for x, w in zip(nodes, weights)) / weights.sum()
    e_a2 = dai.MODULATION_AMPLITUDE ** 2 * np.exp(2 * dai.MODULATION_LOG_SD ** 2)
    e_s2 = np.exp(2 * SESSION_NOISE_LOG_SD ** 2)
    var_e = _roi_mean_variance(_kernel(dai.BLUR_SIGMA_VOXELS), side)   # correlated noise
    within = e_a2 * var_t + e_s2 * dai.NOISE_SD["FA"] ** 2 * var_e
    expected = between / (between + within)
    measured = intraclass_correlation(groups)
    assert 0.5 < expected < 0.97                      # a discriminating range
    assert abs(measured - expected) <= 3 * _icc_se(expected, 4, n_subjects) + 0.02
    # The subject component really is the planted factor: ROI means follow log F_FA.
    assert np.corrcoef(np.mean(groups, axis=1), drawn)[0, 1] > 0.9


def test_session_draw_is_lognormal_with_the_documented_sd():
    rng = np.random.default_rng(5)
    sessions = [draw_session(rng) for _ in range(4000)]
    noise = np.log([s.noise_scale for s in sessions])
    blur = np.log([s.blur_scale for s in sessions])
    assert abs(noise.mean()) < 0.02 and abs(blur.mean()) < 0.02
    assert noise.std() == pytest.approx(SESSION_NOISE_LOG_SD, rel=0.05)
    assert blur.std() == pytest.approx(SESSION_BLUR_LOG_SD, rel=0.05)
    assert abs(np.corrcoef(noise, blur)[0, 1]) < 0.06
    assert draw_session(rng, noise_log_sd=0.0, blur_log_sd=0.0) == Session(1.0, 1.0)


def test_icc_of_known_components():
    """ICC(1) of b_i + e_ij with var(b) = 1, var(e) = 1/3 -> 0.75 (unbalanced groups)."""
    rng = np.random.default_rng(2)
    groups = [rng.normal(b, np.sqrt(1 / 3), size=rng.integers(2, 6))
              for b in rng.standard_normal(2000)]
    assert intraclass_correlation(groups) == pytest.approx(0.75, abs=0.03)


def test_glioma_session_noise_in_air_matches_truth(small_cohorts):
    """Rician noise in air has mean sigma sqrt(pi/2): the measured sigma of each subject's T2
    equals 0.025 x white-matter mean x its recorded session noise scale (within 3 %)."""
    folder = small_cohorts["glioma"].parent
    truth = json.loads((folder / "truth.json").read_text())
    per_subject = truth["subject_effects"]["per_subject"]
    scales, sigmas = [], []
    for sid, effects in per_subject.items():
        t2 = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / sid / "T2.nii.gz")))
        # The eight 8^3-voxel corners of the grid lie outside the head: pure Rician noise.
        air = np.concatenate([t2[z, y, x].ravel().astype(float)
                              for z in (slice(0, 8), slice(-8, None))
                              for y in (slice(0, 8), slice(-8, None))
                              for x in (slice(0, 8), slice(-8, None))])
        sigma = air.mean() / np.sqrt(np.pi / 2)
        expected = 0.025 * WHITE_MATTER_MEAN["T2"] * effects["noise_scale"]
        assert sigma == pytest.approx(expected, rel=0.03), sid
        scales.append(effects["noise_scale"])
        sigmas.append(sigma)
    assert len(scales) == 8 and np.ptp(np.log(scales)) > 0.1


def test_dai_truth_reports_subject_structure(small_cohorts):
    """truth.json records every subject's draw; the ROI ICC it reports is recomputed here."""
    folder = small_cohorts["dai"].parent
    truth = json.loads((folder / "truth.json").read_text())
    draws = truth["subject_effects"]["per_subject"]
    assert len(draws) == 8
    fa = [d["map_factors"]["FA"] for d in draws.values()]
    md = [d["map_factors"]["MD"] for d in draws.values()]
    integrity = [d["integrity"] for d in draws.values()]
    # Loadings of opposite sign: FA falls and MD rises with the integrity latent.
    assert spearmanr(integrity, fa)[0] < -0.5 < 0.5 < spearmanr(integrity, md)[0]
    assert -1 <= truth["subject_structure"]["roi_icc_log_FA"] <= 1


def test_dai_integrity_latent_matched_between_groups():
    """Each diagnosis group holds the same normal quantiles (age-matched design)."""
    from scipy.stats import norm
    plan = dai.plan_cohort(0, False, None)
    for group, n in dai.COUNTS.items():
        w = sorted(s.params["integrity"] for s in plan.subjects
                   if s.targets["diagnosis"] == group)
        assert np.allclose(w, norm.ppf((np.arange(n) + 0.5) / n))
    # The rendered subject uses the planned value.
    subject = plan.subjects[0]
    rng = rng_for(0, dai.STUDY, subject.index)
    from neurorad.synth.anatomy import Grid, random_head
    random_head(rng, Grid())
    effects = dai.draw_subject_effects(rng, subject.params["integrity"])
    assert effects.integrity == subject.params["integrity"]
