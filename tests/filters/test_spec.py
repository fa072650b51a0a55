"""Filter specs: exactly the keys of phase1_cases.json; errors name the key."""
from __future__ import annotations

import numpy as np
import pytest

from neurorad import filters
from neurorad.errors import InputError, SettingsInputError
from tests.filters.ibsi2_data import phase1_cases

LOG = {"filter": "log", "dimensions": "3d", "boundary": "mirror", "sigma_mm": 1.5,
       "cutoff_sigmas": 4.0}


def test_error_is_a_settings_input_error():
    assert issubclass(filters.FilterSpecError, SettingsInputError)


@pytest.mark.parametrize("case", [c for c in phase1_cases(with_reference=False)
                                  if c["spec"]["filter"] in filters.FILTERS],
                         ids=lambda c: c["id"])
def test_every_phase1_spec_is_valid(case):
    filters.validate_spec(case["spec"])


def test_unknown_key_is_named():
    with pytest.raises(filters.FilterSpecError, match="'sigma'"):
        filters.validate_spec({**LOG, "sigma": 2})


@pytest.mark.parametrize("key", ["dimensions", "boundary", "sigma_mm", "cutoff_sigmas"])
def test_missing_key_is_named(key):
    spec = {k: v for k, v in LOG.items() if k != key}
    with pytest.raises(filters.FilterSpecError, match=f"missing key '{key}'"):
        filters.validate_spec(spec)


def test_missing_or_unknown_filter():
    with pytest.raises(filters.FilterSpecError, match="'filter'"):
        filters.validate_spec({"dimensions": "3d"})
    with pytest.raises(filters.FilterSpecError, match="'filter' must be one of"):
        filters.validate_spec({"filter": "sobel"})


@pytest.mark.parametrize("key, value", [("boundary", "reflect"), ("dimensions", "3D"),
                                        ("sigma_mm", -1.0), ("sigma_mm", True),
                                        ("cutoff_sigmas", "4")])
def test_bad_values_are_named(key, value):
    with pytest.raises(filters.FilterSpecError, match=f"'{key}'"):
        filters.validate_spec({**LOG, key: value})


def test_mean_support_must_be_odd():
    with pytest.raises(filters.FilterSpecError, match="'support_voxels' must be odd"):
        filters.validate_spec({"filter": "mean", "dimensions": "3d", "boundary": "zero",
                               "support_voxels": 4})


def test_bad_images():
    with pytest.raises(filters.FilterSpecError):
        filters.apply_array(np.zeros((3, 3, 3)), (1, 1, 1), {"filter": "log"})
    with pytest.raises(InputError, match="3-D"):
        filters.apply_array(np.zeros((3, 3)), (1, 1, 1), LOG)
    image = np.zeros((3, 4, 5))
    image[1, 1, 1] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        filters.apply_array(image, (1, 1, 1), LOG)


def test_apply_keeps_the_grid_and_refuses_other_images():
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.random.default_rng(19).normal(size=(4, 5, 6)))
    image.SetSpacing((0.5, 0.7, 2.0))
    image.SetOrigin((10.0, -3.0, 7.5))
    image.SetDirection((0, 1, 0, 1, 0, 0, 0, 0, -1))
    out = filters.apply(image, LOG)
    assert out.GetSize() == image.GetSize() and out.GetSpacing() == image.GetSpacing()
    assert out.GetOrigin() == image.GetOrigin() and out.GetDirection() == image.GetDirection()
    assert out.GetPixelID() == sitk.sitkFloat64
    with pytest.raises(InputError, match="3-D"):
        filters.apply(sitk.Image(5, 5, sitk.sitkFloat64), LOG)
    with pytest.raises(InputError, match="components"):
        filters.apply(sitk.Image([4, 4, 4], sitk.sitkVectorFloat64, 3), LOG)


def test_periodic_riesz_log_larger_than_the_image_is_refused():
    spec = {"filter": "riesz", "base_filter": "log", "dimensions": "3d", "boundary": "periodic",
            "sigma_mm": 3.0, "cutoff_sigmas": 4.0, "riesz_order": [1, 0, 0],
            "riesz_aligned": False}
    with pytest.raises(filters.FilterSpecError, match="larger than the periodic image"):
        filters.apply_array(np.zeros((8, 8, 8)), (1, 1, 1), spec)
