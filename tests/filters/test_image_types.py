"""The simple image types of PyRadiomics: values by hand, the gradient against SimpleITK."""
from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad import filters
from neurorad.errors import InputError

IMAGE = np.array([-4.0, 0.0, 1.0, 2.0]).reshape(1, 1, 4)  # max |f| = 4


@pytest.mark.parametrize("name, expected", [
    ("square", [16 / 4, 0, 1 / 4, 4 / 4]),
    ("square_root", [-math.sqrt(16), 0, math.sqrt(4), math.sqrt(8)]),
    ("logarithm", [-4.0, 0, 4 * math.log(2) / math.log(5), 4 * math.log(3) / math.log(5)]),
    ("exponential", [math.exp(-math.log(4)), 1.0, math.exp(math.log(4) / 4),
                     math.exp(math.log(4) / 2)]),
])
def test_intensity_transforms_by_hand(name, expected):
    out = filters.apply_array(IMAGE, (1, 1, 1), {"filter": name})
    np.testing.assert_allclose(out.ravel(), expected, rtol=1e-14, atol=1e-14)
    # `dimensions` may be given (a filter bank gives every spec one); nothing else
    filters.validate_spec({"filter": name, "dimensions": "3d"})
    with pytest.raises(filters.FilterSpecError, match="'boundary'"):
        filters.validate_spec({"filter": name, "boundary": "zero"})


def test_all_zero_images():
    zero = np.zeros((2, 2, 2))
    for name in ("square", "square_root", "logarithm"):
        assert not filters.apply_array(zero, (1, 1, 1), {"filter": name}).any()
    with pytest.raises(InputError, match="exponential"):
        filters.apply_array(zero, (1, 1, 1), {"filter": "exponential"})


def test_gradient_magnitude_equals_simpleitk():
    rng = np.random.default_rng(16)
    a = rng.normal(size=(7, 8, 9))
    image = sitk.GetImageFromArray(a)
    image.SetSpacing((0.7, 1.1, 2.5))
    expected = sitk.GetArrayFromImage(sitk.GradientMagnitude(image, useImageSpacing=True))
    spec = {"filter": "gradient", "dimensions": "3d", "boundary": "nearest"}
    out = sitk.GetArrayFromImage(filters.apply(image, spec))
    np.testing.assert_allclose(out, expected, atol=1e-10)


def test_gradient_2d_ignores_z():
    z = np.arange(4.0)[:, None, None] * np.ones((4, 5, 6))  # varies along z only
    out = filters.apply_array(z, (1, 1, 1), {"filter": "gradient", "dimensions": "2d",
                                             "boundary": "nearest"})
    assert not out.any()
