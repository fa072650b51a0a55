"""The API takes only whole-number ROI labels >= 1 (issue 14, finding 5)."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import neurorad
from neurorad.errors import ROIInputError
from neurorad.preprocess.load import ROIError, ROILabelError, checked_label


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray(rng.integers(1, 50, (6, 8, 8)).astype(np.float64))
    labels = np.zeros((6, 8, 8), dtype=np.uint8)
    labels[1:4, 1:4, 1:4] = 1
    labels[2:5, 4:7, 4:7] = 2
    mask = sitk.GetImageFromArray(labels)
    settings = neurorad.load_settings({**neurorad.load_settings("ibsi-phantom").to_dict(),
                                       "families": ["statistics"]})
    return image, mask, settings, sitk.GetArrayFromImage(image), labels


@pytest.mark.parametrize("label", [1.9999, 2.9, 0, 0.0, -1, True, "2", float("nan"),
                                   float("inf"), [1]])
def test_labels_that_are_not_whole_numbers_from_one_are_refused(case, label):
    image, mask, settings, *_ = case
    with pytest.raises(ROILabelError, match="ROI label must be a whole number >= 1") as info:
        neurorad.extract_features(image, mask, settings, label=label)
    assert isinstance(info.value, ROIInputError) and isinstance(info.value, ROIError)
    if isinstance(label, float) and label == label:
        assert repr(label) in str(info.value)


@pytest.mark.parametrize("label", [2, 2.0, np.int16(2), np.float32(2.0)])
def test_integral_labels_select_that_label(case, label):
    image, mask, settings, array, labels = case
    features = neurorad.extract_features(image, mask, settings, label=label)
    assert features["stat_mean"] == pytest.approx(array[labels == 2].mean())
    assert checked_label(label) == 2


def test_batch_entries_are_checked_too(case):
    image, mask, settings, *_ = case
    with pytest.raises(ROILabelError, match="1.9999"):
        neurorad.extract_features_batch([(image, mask, 1), (image, mask, 1.9999)], settings)
