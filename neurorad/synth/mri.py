"""Structural MRI contrasts (T1, T1c, T2, FLAIR) of the head phantom.

Image model for one subject and modality m::

    base_m(v)  = mu_m[tissue(v)] * g_m[tissue(v)] * (1 + 0.03 * texture(v))   (lesions painted in)
    ideal_m    = G_0.6 * base_m                            (partial volume, Gaussian, 0.6 voxel)
    image_m    = | gain * bias(v) * ideal_m + n1 + i n2 |  (Rician magnitude noise)

``mu_m`` are tissue means in arbitrary scanner units (white matter T1 ~ 850), ``g_m`` a
per-subject contrast jitter (SD 3 %), ``texture`` a unit-variance smooth field shared by all
sequences (tissue micro-structure), ``bias`` a smooth multiplicative field of about +/- 8 %,
and ``n1, n2`` independent normal noise with SD ``noise_fraction`` x the white-matter mean.
Images are stored as int16, as scanners do. In the NF2 and glioma cohorts every subject has
its own scanning session (:class:`neurorad.synth.subject.Session`): the noise SD and the
0.6-voxel blur of all four sequences are scaled by the session's log-normal factors.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from neurorad.synth.anatomy import N_TISSUES, Grid, Tissue, smooth_field
from neurorad.synth.subject import Session

MRI_SEQUENCES = ("T1", "T1c", "T2", "FLAIR")

_T = Tissue
# Tissue means per sequence (arbitrary units); ordering follows the Tissue codes.
_MEANS = {
    "T1": {_T.SCALP: 900, _T.SKULL: 150, _T.CSF: 250, _T.GREY_MATTER: 600,
           _T.WHITE_MATTER: 850, _T.THALAMUS: 690, _T.LENTIFORM: 660, _T.CAUDATE: 630,
           _T.CORPUS_CALLOSUM: 880, _T.INTERNAL_CAPSULE: 870, _T.BRAINSTEM: 800,
           _T.CEREBELLUM_GM: 620, _T.CEREBELLUM_WM: 830, _T.VENTRICLE: 230},
    "T2": {_T.SCALP: 600, _T.SKULL: 80, _T.CSF: 1800, _T.GREY_MATTER: 900,
           _T.WHITE_MATTER: 650, _T.THALAMUS: 800, _T.LENTIFORM: 760, _T.CAUDATE: 880,
           _T.CORPUS_CALLOSUM: 600, _T.INTERNAL_CAPSULE: 620, _T.BRAINSTEM: 700,
           _T.CEREBELLUM_GM: 900, _T.CEREBELLUM_WM: 660, _T.VENTRICLE: 1850},
    "FLAIR": {_T.SCALP: 700, _T.SKULL: 80, _T.CSF: 150, _T.GREY_MATTER: 800,
              _T.WHITE_MATTER: 600, _T.THALAMUS: 760, _T.LENTIFORM: 740, _T.CAUDATE: 800,
              _T.CORPUS_CALLOSUM: 580, _T.INTERNAL_CAPSULE: 600, _T.BRAINSTEM: 650,
              _T.CEREBELLUM_GM: 780, _T.CEREBELLUM_WM: 620, _T.VENTRICLE: 140},
}
# Contrast agent: normal brain barely enhances; scalp and dura/venous sinuses (in the CSF
# layer next to the skull) do.
_MEANS["T1c"] = {**_MEANS["T1"], _T.SCALP: 950, _T.CSF: 300}

WHITE_MATTER_MEAN = {m: float(_MEANS[m][_T.WHITE_MATTER]) for m in MRI_SEQUENCES}


def tissue_lookup(sequence: str) -> np.ndarray:
    """Mean intensity of every tissue code for ``sequence`` (float32 array, 0 for air)."""
    table = np.zeros(N_TISSUES, np.float32)
    for tissue, value in _MEANS[sequence].items():
        table[int(tissue)] = value
    return table


def base_images(labels: np.ndarray, texture: np.ndarray, rng: np.random.Generator, *,
                texture_amplitude: float = 0.03, contrast_jitter: float = 0.03
                ) -> dict[str, np.ndarray]:
    """Noise-free, unsmoothed intensities of every sequence (lesions are painted on these)."""
    modulation = 1.0 + np.float32(texture_amplitude) * texture
    out = {}
    for sequence in MRI_SEQUENCES:
        table = tissue_lookup(sequence)
        table *= (1.0 + contrast_jitter * rng.standard_normal(N_TISSUES)).astype(np.float32)
        out[sequence] = table[labels] * modulation
    return out


def bias_field(rng: np.random.Generator, grid: Grid, strength: float = 0.08) -> np.ndarray:
    """Smooth multiplicative field ``exp(a.x + x'Bx)`` with peak deviation ~ ``strength``."""
    z, y, x = (a / (0.5 * n * s) for a, n, s in zip(grid.axes(), grid.shape, grid.spacing))
    linear = rng.normal(0, strength / 2, 3)
    quad = rng.normal(0, strength / 3, 3)
    log_bias = (linear[0] * z[:, None, None] + linear[1] * y[None, :, None]
                + linear[2] * x[None, None, :] + quad[0] * z[:, None, None] ** 2
                + quad[1] * y[None, :, None] ** 2 + quad[2] * x[None, None, :] ** 2)
    return np.exp(log_bias).astype(np.float32)


def acquire(base: dict[str, np.ndarray], grid: Grid, rng: np.random.Generator, *,
            noise_fraction: float = 0.025, psf_sigma_voxels: float = 0.6,
            session: Session | None = None) -> dict[str, np.ndarray]:
    """Simulate acquisition of each base image: blur, gain, bias field, Rician noise -> int16.

    ``session`` (:class:`neurorad.synth.subject.Session`) scales the noise SD and the PSF
    width of every sequence of the subject alike (one scanning session); None keeps the
    nominal ``noise_fraction`` and ``psf_sigma_voxels``.
    """
    if session is not None:
        noise_fraction = noise_fraction * session.noise_scale
        psf_sigma_voxels = psf_sigma_voxels * session.blur_scale
    bias = bias_field(rng, grid)
    images = {}
    for sequence, ideal in base.items():
        blurred = ndimage.gaussian_filter(ideal, psf_sigma_voxels, truncate=3.0)
        gain = np.float32(np.exp(rng.normal(0.0, 0.1)))
        sigma = np.float32(noise_fraction * WHITE_MATTER_MEAN.get(sequence, 800.0))
        real = blurred * bias * gain + sigma * rng.standard_normal(ideal.shape, np.float32)
        imag = sigma * rng.standard_normal(ideal.shape, np.float32)
        magnitude = np.sqrt(real * real + imag * imag)
        images[sequence] = np.clip(np.rint(magnitude), 0, 32767).astype(np.int16)
    return images


def subject_texture(rng: np.random.Generator, grid: Grid) -> np.ndarray:
    """Unit-variance micro-structure texture shared by a subject's sequences."""
    return smooth_field(rng, grid.shape, 1.0)
