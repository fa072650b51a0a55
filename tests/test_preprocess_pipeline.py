"""Loading and the preprocessing chain on small synthetic images (errors, label maps, crop)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import SimpleITK as sitk

import neurorad
from neurorad.errors import EmptyROIError
from neurorad.preprocess.load import ROIError, load_roi
from neurorad.preprocess.pipeline import crop_to_roi, preprocess_roi


def _image(array, spacing=(1.0, 1.0, 1.0)):
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    return img


@pytest.fixture
def label_map_case(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.normal(50, 10, size=(12, 14, 16)).astype(np.float32)
    labels = np.zeros(image.shape, np.uint8)
    labels[3:7, 4:9, 5:10] = 1
    labels[8:10, 2:4, 2:4] = 2
    img_path, mask_path = tmp_path / "img.nii.gz", tmp_path / "labels.nii.gz"
    sitk.WriteImage(_image(image), str(img_path))
    sitk.WriteImage(_image(labels), str(mask_path))
    return image, labels, img_path, mask_path


def test_label_selection_and_rounding(label_map_case):
    image, labels, img_path, mask_path = label_map_case
    roi = load_roi(img_path, mask_path, 2)
    assert roi.mask.sum() == 8 and np.array_equal(roi.mask, labels == 2)
    assert roi.spacing == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(roi.image, image.astype(np.float64))
    rounded = load_roi(img_path, mask_path, 2, round_intensities=True)
    np.testing.assert_array_equal(rounded.image, np.round(image.astype(np.float64)))


def test_empty_label_error_names_label_file_and_labels_present(label_map_case):
    _, _, img_path, mask_path = label_map_case
    with pytest.raises(EmptyROIError, match=r"labels\.nii\.gz.*label 3 is empty.*\[1, 2\]"):
        load_roi(img_path, mask_path, 3)
    settings = {"discretisation": {"method": "fbn", "n_bins": 8}, "families": ["statistics"]}
    with pytest.raises(EmptyROIError, match="label 5"):
        neurorad.extract_features(str(img_path), str(mask_path), settings, label=5)


def test_mask_on_another_grid_is_an_error(label_map_case):
    image, labels, img_path, _ = label_map_case
    other = _image(labels, spacing=(1.0, 1.0, 2.0))
    with pytest.raises(ROIError, match="not on the grid.*spacing"):
        load_roi(img_path, other, 1)
    with pytest.raises(ROIError, match="not on the grid.*size"):
        load_roi(img_path, _image(labels[:, :, :-1]), 1)


def test_non_label_mask_is_an_error(label_map_case):
    image, labels, img_path, _ = label_map_case
    with pytest.raises(ROIError, match="non-integer"):
        load_roi(img_path, _image(labels.astype(np.float32) * 0.5), 1)


def test_crop_keeps_roi_and_local_intensity_margin():
    image = np.arange(30 * 30 * 30, dtype=float).reshape(30, 30, 30)
    mask = np.zeros(image.shape, bool)
    mask[10:12, 14:15, 20:23] = True
    img, morph, intm = crop_to_roi(image, mask, mask, (2.0, 1.0, 4.0), margin_mm=6.2)
    # margins: ceil(6.2 / spacing) = 4, 7, 2 voxels, clipped to the image
    assert img.shape == (2 + 8, 1 + 14, min(22 + 2 + 1, 30) - (20 - 2))
    assert morph.sum() == mask.sum() and intm.sum() == mask.sum()
    assert img[4, 7, 2] == image[10, 14, 20]


def test_preprocess_two_masks_after_resegmentation(tmp_path):
    image = np.full((6, 6, 6), 100.0)
    image[2, 2, 2] = 900.0  # above the range: leaves the intensity mask only
    mask = np.zeros(image.shape, np.uint8)
    mask[1:5, 1:5, 1:5] = 1
    settings = neurorad.load_settings({
        "discretisation": {"method": "fbn", "n_bins": 4}, "families": ["statistics"],
        "resegment": {"range": [0, 500]}})
    roi = preprocess_roi(_image(image), _image(mask), settings)
    assert int(roi.morph_mask.sum()) == 64 and int(roi.int_mask.sum()) == 63
    assert roi.diagnostics["int_mask_vox_count_reseg_roi"] == 63
    assert roi.diagnostics["morph_mask_vox_count_reseg_roi"] == 64
    assert roi.diagnostics["morph_mask_bb_dim_x_init_roi"] == 4
    assert roi.diagnostics["int_mask_max_int_init_roi"] == 900
    assert roi.diagnostics["int_mask_max_int_reseg_roi"] == 100


def test_roi_vanishing_after_interpolation_is_an_error():
    image = np.zeros((4, 8, 8))
    mask = np.zeros(image.shape, np.uint8)
    mask[1, 3, 3] = 1  # one voxel; at 4 mm its mask fraction falls below 0.5
    settings = neurorad.load_settings({
        "discretisation": {"method": "fbn", "n_bins": 4}, "families": ["statistics"],
        "resample": {"spacing_xyz": 4.0}})
    with pytest.raises(ValueError, match="vanished after interpolation"):
        preprocess_roi(_image(image), _image(mask), settings)


def test_empty_after_resegmentation_gives_nan_and_warning():
    image = np.full((5, 5, 5), 100.0)
    mask = np.zeros(image.shape, np.uint8)
    mask[1:4, 1:4, 1:4] = 1
    settings = {"discretisation": {"method": "fbn", "n_bins": 4},
                "families": ["statistics", "histogram", "morphology"],
                "resegment": {"range": [200, 300]}}
    with pytest.warns(RuntimeWarning, match="no voxel left after re-segmentation"):
        out = neurorad.extract_features(_image(image), _image(mask), settings)
    assert "stat_mean" in out and "ih_mean" in out
    assert all(np.isnan(v) for k, v in out.items() if not k.startswith("morph_"))
    # morphology uses the morphological mask, which re-segmentation leaves alone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = neurorad.extract_features(_image(image), _image(mask),
                                          dict(settings, resegment=None))
    assert out["morph_volume"] == pytest.approx(plain["morph_volume"]) and out["morph_volume"] > 0


def test_several_discretisations_carry_suffixes():
    rng = np.random.default_rng(2)
    image = rng.normal(0, 1, size=(8, 8, 8))
    mask = np.zeros(image.shape, np.uint8)
    mask[2:6, 2:6, 2:6] = 1
    settings = {"discretisation": [{"method": "fbn", "n_bins": [4, 8]},
                                   {"method": "ep", "n_bins": 4}],
                "families": ["statistics", "histogram"]}
    out = neurorad.extract_features(_image(image), _image(mask), settings, device="cpu")
    values = image[mask.astype(bool)]
    assert out["stat_mean"] == pytest.approx(values.mean())
    assert "stat_mean_fbn4" not in out
    # the mean grey level of equal-probability bins over 64 distinct values is (1+4)/2
    assert out["ih_mean_ep4"] == pytest.approx(2.5)
    fbn4 = np.minimum(np.floor(4 * (values - values.min()) / np.ptp(values)) + 1, 4)
    assert out["ih_mean_fbn4"] == pytest.approx(fbn4.mean())
    assert "ih_mean_fbn8" in out and "ih_mean" not in out
