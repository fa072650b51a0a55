"""Re-segmentation of the intensity mask (IBSI manual, section 2.5).

After re-segmentation the ROI splits in two: the *morphological* mask (the interpolated
ROI, used by morphology and the GLDZM distance map) and the *intensity* mask (the voxels
that also pass the intensity rules, used by every intensity-based family).

* Range re-segmentation keeps voxels with ``low <= x <= high`` (either bound may be open).
* Outlier filtering keeps voxels with ``mu - k sigma <= x <= mu + k sigma``, where ``mu``
  and ``sigma`` (population standard deviation) are computed over the ROI voxels that
  passed the range re-segmentation (IBSI: range first, then outliers), ``k = 3`` in IBSI.
"""
from __future__ import annotations

from neurorad.backend import get_xp


def range_mask(image, mask, low=None, high=None):
    """``mask`` restricted to voxels with ``low <= image <= high`` (None: open bound)."""
    keep = mask.copy()
    if low is not None:
        keep &= image >= low
    if high is not None:
        keep &= image <= high
    return keep


def outlier_mask(image, mask, n_sd: float = 3.0):
    """``mask`` restricted to voxels within ``mean +/- n_sd * sd`` of the masked intensities.

    ``sd`` is the population standard deviation (divisor N), as in IBSI. An empty mask is
    returned unchanged.
    """
    xp = get_xp(image)
    values = image[mask]
    if values.size == 0:
        return mask.copy()
    mu = float(xp.mean(values))
    sd = float(xp.std(values))
    return mask & (image >= mu - n_sd * sd) & (image <= mu + n_sd * sd)


def resegment(image, morph_mask, *, value_range=(None, None), outliers_sd=None):
    """The intensity mask: range re-segmentation, then outlier filtering.

    Parameters
    ----------
    image : ndarray (z, y, x)
    morph_mask : ndarray of bool
        The ROI after interpolation (it stays the morphological mask).
    value_range : (low, high)
        Bounds of the range re-segmentation; ``None`` for an open bound.
    outliers_sd : float or None
        ``k`` of the mean +/- k sd rule; None disables outlier filtering.

    Returns
    -------
    ndarray of bool
        The intensity mask (a subset of ``morph_mask``).
    """
    low, high = value_range if value_range is not None else (None, None)
    int_mask = range_mask(image, morph_mask, low, high)
    if outliers_sd is not None:
        int_mask = outlier_mask(image, int_mask, outliers_sd)
    return int_mask
