"""extract_features on the cases IBSI leaves undefined: NaN with a warning, never a crash."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import SimpleITK as sitk

import neurorad
from neurorad.features.catalogue import expected_tags

SETTINGS = {"discretisation": {"method": "fbn", "n_bins": 8}, "families": "all",
            "aggregations": ["2D", "2_5D", "3D"]}


def _image(array, spacing):
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(tuple(reversed(spacing[-array.ndim:])))  # ITK lists x first
    return img


def _case(name):
    rng = np.random.default_rng(0)
    image = rng.normal(100, 20, (10, 10, 10))
    mask = np.zeros(image.shape, np.uint8)
    spacing = (1.0, 1.0, 1.0)
    if name == "single voxel":
        mask[5, 5, 5] = 1
    elif name == "one grey level":
        image = np.full(image.shape, 7.0)
        mask[3:7, 3:7, 3:7] = 1
    elif name == "roi at the image border":
        mask[0:4, 0:5, 6:10] = 1
    elif name == "2D image":
        image = rng.normal(100, 20, (20, 20))
        mask = np.zeros(image.shape, np.uint8)
        mask[5:12, 6:14] = 1
    elif name == "anisotropic voxels":
        mask[2:8, 2:8, 2:8] = 1
        spacing = (8.0, 0.5, 0.2)  # z, y, x
    return image, mask, spacing


CASES = ["single voxel", "one grey level", "roi at the image border", "2D image",
         "anisotropic voxels"]


@pytest.mark.parametrize("name", CASES)
def test_undefined_cases_give_nan_with_warning_not_a_crash(name):
    image, mask, spacing = _case(name)
    settings = neurorad.load_settings(SETTINGS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = neurorad.extract_features(_image(image, spacing), _image(mask, spacing),
                                        settings, device="cpu")
    # every tag the catalogue announces is produced, and nothing else
    assert sorted(out) == sorted(expected_tags(settings))
    values = image[mask.astype(bool)]
    assert out["stat_mean"] == pytest.approx(values.mean())
    assert out["stat_max"] == values.max()
    undefined = [k for k, v in out.items() if not math.isfinite(v)]
    if undefined:
        assert any(issubclass(w.category, Warning) for w in caught), undefined


def test_one_grey_level_values_by_hand():
    image, mask, spacing = _case("one grey level")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = neurorad.extract_features(_image(image, spacing), _image(mask, spacing),
                                        SETTINGS, device="cpu")
    assert out["stat_var"] == 0
    assert out["ih_mean"] == 1  # every voxel in grey level 1
    assert out["cm_joint_max_3D_comb"] == 1  # a single (1, 1) cell holds every pair
    assert math.isnan(out["cm_corr_3D_comb"])  # correlation: division by sigma = 0
