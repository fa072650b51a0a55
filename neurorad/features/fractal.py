"""Fractal dimensions of the ROI (tags ``fractal_*``; **not** IBSI features).

RIA (the R package the reproduced studies used) reports box-counting, information and
correlation dimensions of the ROI; the PET study found them among its top predictors. IBSI
does not standardise them, so their exact definitions are fixed here:

The ROI bounding box is covered by a grid of cubic boxes of edge ``s = 1, 2, 4, ..., 2^K``
voxels (``2^K`` the largest power of two not above the longest box side), anchored at the
bounding-box corner. For each ``s`` let ``n_i(s)`` be the number of ROI voxels in box ``i``,
``p_i = n_i / N`` (``N`` the ROI voxel count) and

* ``N(s) = #{i : n_i > 0}``                       (occupied boxes)
* ``I(s) = -sum_i p_i ln p_i``                     (information entropy)
* ``C(s) = sum_i p_i^2``                            (correlation sum: probability that two
  random ROI voxels share a box)

The dimensions are least-squares slopes over ``ln s``:

* box-counting dimension   ``D_0 = -slope(ln N(s))``
* information dimension    ``D_1 = -slope(I(s))``
* correlation dimension    ``D_2 =  slope(ln C(s))``

A filled cube gives 3, a plane 2, a line 1 (exactly, for power-of-two sizes). Boxes are cubes
on the voxel lattice: the slopes are scale-free, but with anisotropic voxels the boxes are not
cubes in millimetres -- resample to isotropic voxels first when that matters.

References: Mandelbrot B., The Fractal Geometry of Nature (1982); Grassberger P. & Procaccia
I., Phys Rev Lett 1983;50:346-349 (correlation dimension); Renyi generalised dimensions
(D_0, D_1, D_2 are the q = 0, 1, 2 members).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from neurorad.backend import get_xp

FEATURES = {
    "fractal_box_dim": ("", "Box-counting dimension (non-IBSI, as RIA)",
                        r"-\mathrm{slope}_{\ln s}\ \ln N(s)"),
    "fractal_info_dim": ("", "Information dimension (non-IBSI, as RIA)",
                         r"-\mathrm{slope}_{\ln s}\ \left(-\sum_i p_i \ln p_i\right)"),
    "fractal_corr_dim": ("", "Correlation dimension (non-IBSI, as RIA)",
                         r"\mathrm{slope}_{\ln s}\ \ln \sum_i p_i^2"),
}


def box_occupancy(mask):
    """Per-box voxel counts for box edges ``1, 2, 4, ...`` (list of arrays, array module of mask).

    Built by repeated 2x2x2 pooling of the cropped mask (zero-padded to even sizes), so all
    scales cost about 8/7 of one pass over the bounding box.
    """
    xp = get_xp(mask)
    m = xp.asarray(mask, dtype=bool)
    idx = xp.nonzero(m)
    counts = m[tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)].astype(xp.int64)
    levels = [counts]
    largest = 2 ** int(math.floor(math.log2(max(counts.shape))))
    size = 1
    while size < largest:
        pad = [(0, n % 2) for n in counts.shape]
        counts = xp.pad(counts, pad)
        a, b, c = (n // 2 for n in counts.shape)
        counts = counts.reshape(a, 2, b, 2, c, 2).sum(axis=(1, 3, 5))
        levels.append(counts)
        size *= 2
    return levels


def fractal_features(mask, spacing) -> dict[str, float]:
    """Box-counting, information and correlation dimensions of the ROI mask.

    Parameters
    ----------
    mask : bool array (NumPy or CuPy), (z, y, x)
        ROI (morphological) mask.
    spacing : (float, float, float)
        Voxel spacing (z, y, x) in mm; checked for validity. The dimensions are slopes and do
        not depend on the box unit (see the module notes on anisotropic voxels).

    Returns
    -------
    dict
        ``fractal_box_dim`` :math:`D_0`, ``fractal_info_dim`` :math:`D_1`,
        ``fractal_corr_dim`` :math:`D_2` as defined in the module docstring. NaN (with a
        warning) when the ROI spans fewer than two box sizes (longest side < 2 voxels) or is
        empty.

    References
    ----------
    Grassberger & Procaccia 1983; see the module docstring.
    """
    if len(np.shape(mask)) != 3 or len(spacing) != 3 or min(float(s) for s in spacing) <= 0:
        raise ValueError(f"fractal_features: need a 3-D mask and 3 positive spacings, got shape "
                         f"{np.shape(mask)} and spacing {tuple(spacing)}")
    xp = get_xp(mask)
    if not bool(xp.asarray(mask).any()):
        warnings.warn("fractal features: the mask is empty; returning NaN", RuntimeWarning, stacklevel=2)
        return dict.fromkeys(FEATURES, math.nan)
    levels = box_occupancy(mask)
    if len(levels) < 2:
        warnings.warn("fractal features need an ROI at least 2 voxels long (two box sizes); "
                      "returning NaN", RuntimeWarning, stacklevel=2)
        return dict.fromkeys(FEATURES, math.nan)
    total = float(levels[0].sum())
    log_size = np.log(2.0) * np.arange(len(levels))
    log_boxes, information, log_corr = [], [], []
    for counts in levels:
        p = counts[counts > 0].astype(xp.float64) / total
        log_boxes.append(math.log(int(p.size)))
        information.append(float(-(p * xp.log(p)).sum()))
        log_corr.append(math.log(float((p * p).sum())))

    def slope(values):
        return float(np.polyfit(log_size, np.asarray(values), 1)[0])

    return {"fractal_box_dim": -slope(log_boxes), "fractal_info_dim": -slope(information),
            "fractal_corr_dim": slope(log_corr)}
