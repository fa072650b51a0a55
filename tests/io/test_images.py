"""Image reading, arrays, label maps and geometry comparison."""
from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad.io.images import (Geometry, ImageReadError, NonFiniteVoxelsError, detect_format,
                                nifti_nonfinite_counts,
                                image_to_array, labels_present, nifti_nonfinite_counts,
                                read_geometry, read_image, roi_mask, same_geometry)

from .conftest import PATIENT_ID, PATIENT_NAME, write_dicom_series, write_image

# A rotation about z by 30 degrees: a non-trivial direction the readers must keep.
C, S = np.cos(np.pi / 6), np.sin(np.pi / 6)
ROTATED = (C, -S, 0.0, S, C, 0.0, 0.0, 0.0, 1.0)


def _ramp(shape=(3, 4, 5)) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


@pytest.mark.parametrize("name", ["a.nii", "a.nii.gz", "a.nrrd", "a.mha", "a.mhd"])
def test_file_formats_keep_voxels_spacing_origin_direction(tmp_path, name):
    array = _ramp()
    write_image(tmp_path / name, array, spacing=(0.5, 0.75, 2.5), origin=(1.0, -2.0, 3.5),
                direction=ROTATED)
    image = read_image(tmp_path / name)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), array)
    np.testing.assert_allclose(image.GetSpacing(), (0.5, 0.75, 2.5), rtol=1e-6)
    np.testing.assert_allclose(image.GetOrigin(), (1.0, -2.0, 3.5), atol=1e-5)
    np.testing.assert_allclose(image.GetDirection(), ROTATED, atol=1e-5)
    # Header-only geometry agrees with the full read.
    assert same_geometry(read_geometry(tmp_path / name), image) == []


def test_dicom_folder_reads_the_largest_series_without_leaking_identifiers(tmp_path, caplog):
    big = _ramp((5, 4, 6)).astype(np.int16)
    write_dicom_series(tmp_path / "dicom", big, series_uid="1.2.826.0.1.3680043.2.1125.101")
    write_dicom_series(tmp_path / "dicom", big[:2] + 1000, series_uid="1.2.826.0.1.3680043.2.1125.202")
    with caplog.at_level(logging.WARNING, logger="neurorad.io.images"):
        image = read_image(tmp_path / "dicom", subject="s1", role="PET", data_root=tmp_path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), big)
    np.testing.assert_allclose(image.GetSpacing(), (0.8, 0.8, 3.0), rtol=1e-5)
    np.testing.assert_allclose(image.GetOrigin(), (-5.0, 7.0, 11.0), atol=1e-4)
    assert "2 DICOM series" in caplog.text and "5 files" in caplog.text
    assert "s1" in caplog.text and "dicom" in caplog.text
    for secret in ("Doe", "Jane", PATIENT_ID, "3680043"):
        assert secret not in caplog.text


def test_dicom_decoding_error_names_file_and_subject_but_no_header_values(tmp_path):
    write_dicom_series(tmp_path / "dicom", _ramp((3, 4, 6)), series_uid="1.2.826.0.1.3680043.2.1125.7")
    first = sorted((tmp_path / "dicom").iterdir())[1]
    data = first.read_bytes()
    first.write_bytes(data[: len(data) - 30])  # cut into the pixel data
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "dicom", subject="s9", role="CT", data_root=tmp_path)
    message = str(info.value)
    assert "s9" in message and "dicom" in message and "corrupt" in message
    assert PATIENT_NAME not in message and PATIENT_ID not in message


def test_folder_without_dicom_is_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(ImageReadError, match=r"subject s2: .*empty: .*no DICOM series"):
        read_image(tmp_path / "empty", subject="s2", data_root=tmp_path)


def test_missing_file_error_names_subject_role_and_relative_path(tmp_path):
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "s1" / "T1.nii.gz", subject="s1", role="T1", data_root=tmp_path)
    assert str(info.value) == "subject s1: T1 file s1/T1.nii.gz: missing (no such file or folder)"
    assert str(tmp_path) not in str(info.value)


def test_unsupported_suffix_and_format(tmp_path):
    (tmp_path / "scan.txt").write_text("x")
    with pytest.raises(ImageReadError, match="scan.txt: unsupported format"):
        read_image(tmp_path / "scan.txt", subject="s1")
    write_image(tmp_path / "a.nii", _ramp())
    with pytest.raises(ImageReadError, match="unsupported format 'png'"):
        read_image(tmp_path / "a.nii", format="png")
    with pytest.raises(ImageReadError, match="expects a folder"):
        read_image(tmp_path / "a.nii", format="dicom")


@pytest.mark.parametrize("name", ["a.nii", "a.nii.gz", "a.nrrd", "a.mha"])
def test_truncated_file_is_corrupt(tmp_path, name):
    path = write_image(tmp_path / name, _ramp((10, 20, 30)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=rf"subject s4: T1 file {name}: corrupt"):
        read_image(path, subject="s4", role="T1", data_root=tmp_path)


def test_truncated_nifti_is_found_from_the_header_alone(tmp_path):
    # ITK itself zero-fills a truncated NIfTI without complaint; the size check catches it.
    path = write_image(tmp_path / "a.nii", _ramp((10, 20, 30)))
    path.write_bytes(path.read_bytes()[:-100])
    # header 352 bytes + 6000 float32 voxels = 24352 bytes expected
    with pytest.raises(ImageReadError, match="24252 bytes .* 24352 expected"):
        read_geometry(path, subject="s4")


def test_garbage_file_is_corrupt(tmp_path):
    (tmp_path / "a.mha").write_bytes(b"\x00\x01garbage" * 20)
    with pytest.raises(ImageReadError, match="a.mha: corrupt"):
        read_image(tmp_path / "a.mha", subject="s5")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(tmp_path):
    path = write_image(tmp_path / "a.nii", _ramp())
    path.chmod(0)
    with pytest.raises(ImageReadError, match="unreadable"):
        read_image(path, subject="s1")


def test_detect_format(tmp_path):
    assert detect_format("x/T1.NII.GZ") == "nifti"
    assert detect_format("x/T1.nhdr") == "nrrd"
    assert detect_format("x/T1.mhd") == "mha"
    assert detect_format(tmp_path) == "dicom"
    assert detect_format("x/T1.png") is None


def test_image_to_array_order_type_and_spacing(tmp_path):
    array = _ramp((2, 3, 4))
    write_image(tmp_path / "a.nrrd", array, spacing=(0.5, 0.7, 3.0))
    image = read_image(tmp_path / "a.nrrd")
    values, spacing = image_to_array(image)
    assert values.dtype == np.float64 and values.shape == (2, 3, 4)
    assert spacing == pytest.approx((3.0, 0.7, 0.5))
    # voxel (x=3, y=1, z=1) in ITK indexing is values[z, y, x]
    assert values[1, 1, 3] == image.GetPixel(3, 1, 1) == 1 * 12 + 1 * 4 + 3


def test_image_to_array_2d_becomes_one_slice():
    image = sitk.GetImageFromArray(np.ones((3, 4), np.int16))
    image.SetSpacing((0.4, 0.6))
    values, spacing = image_to_array(image)
    assert values.shape == (1, 3, 4)
    assert spacing == pytest.approx((1.0, 0.6, 0.4))


def test_image_to_array_rejects_vector_images():
    image = sitk.GetImageFromArray(np.ones((2, 3, 4, 3), np.float32), isVector=True)
    with pytest.raises(ValueError, match="3 components"):
        image_to_array(image)


def test_labels_present_and_roi_mask():
    labels = np.zeros((2, 3, 3), np.int16)
    labels[0, 0, 0] = 3
    labels[1, 2, :] = 1
    labels[1, 0, 1] = -1
    image = sitk.GetImageFromArray(labels)
    assert labels_present(image) == [-1, 1, 3]
    mask = roi_mask(image, 1)
    assert mask.dtype == bool and mask.shape == (2, 3, 3)
    assert mask.sum() == 3 and mask[1, 2].all()
    assert labels_present(np.zeros((2, 2), np.uint8)) == []
    # float label maps are accepted when integral
    assert labels_present(labels.astype(np.float32)) == [-1, 1, 3]


def test_non_integer_label_map_is_rejected():
    with pytest.raises(ValueError, match="not a label map"):
        labels_present(np.array([0.0, 0.5, 1.0]))


def _geometry(**changes):
    base = dict(size=(6, 5, 4), spacing=(0.5, 0.5, 2.0), origin=(-10.0, 20.0, 5.0),
                direction=(1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0))
    base.update(changes)
    return Geometry(**base)


@pytest.mark.parametrize("change, word", [
    ({"size": (6, 5, 5)}, "size"),
    ({"spacing": (0.5, 0.5, 2.1)}, "spacing"),
    ({"origin": (-10.0, 20.0, 5.01)}, "origin"),
    ({"direction": ROTATED}, "direction"),
])
def test_same_geometry_reports_each_difference(change, word):
    diffs = same_geometry(_geometry(), _geometry(**change), tol=1e-4)
    assert len(diffs) == 1 and diffs[0].startswith(word)


def test_same_geometry_tolerance_is_relative_and_in_voxels():
    # spacing differs by 1e-5 relative, origin by 1e-5 mm = 5e-6 voxels of 2 mm: both inside 1e-4
    close = _geometry(spacing=(0.500005, 0.5, 2.0), origin=(-10.00001, 20.0, 5.0))
    assert same_geometry(_geometry(), close, tol=1e-4) == []
    assert len(same_geometry(_geometry(), close, tol=1e-7)) == 2
    assert same_geometry(_geometry(), _geometry(size=(6, 5)), 1e-4) == ["dimension 3-D vs 2-D"]


def test_same_geometry_of_images_and_readers(tmp_path):
    a = write_image(tmp_path / "a.nii", _ramp(), spacing=(1.0, 1.0, 1.0))
    b = write_image(tmp_path / "b.mha", _ramp(), spacing=(1.0, 1.0, 1.5))
    diffs = same_geometry(read_image(a), read_geometry(b))
    assert diffs == ["spacing (1, 1, 1) vs (1, 1, 1.5)"]


@pytest.mark.parametrize("name, dtype", [("a.nii", np.float32), ("a.nii.gz", np.float64)])
def test_nifti_nonfinite_voxels_are_counted_from_the_file(tmp_path, name, dtype):
    values = np.ones((3, 4, 5), dtype)
    values[0, 0, :2] = np.nan
    values[2, 3, 4] = np.inf
    values[1, 1, 1] = -np.inf
    path = write_image(tmp_path / name, values)
    # The premise: ITK's NIfTI reader hides them (reads 0), so the raw count is needed.
    assert np.isfinite(sitk.GetArrayFromImage(sitk.ReadImage(str(path)))).all()
    assert nifti_nonfinite_counts(path) == (2, 2)
    write_image(tmp_path / "int.nii", np.zeros((2, 2, 2), np.int16))
    assert nifti_nonfinite_counts(tmp_path / "int.nii") == (0, 0)


def test_folder_given_for_a_file_format_is_unreadable(tmp_path):
    (tmp_path / "T1.nii").mkdir()
    with pytest.raises(ImageReadError, match="s1: file T1.nii: unreadable: is a folder"):
        read_image(tmp_path / "T1.nii", subject="s1", format="nifti", data_root=tmp_path)


def _nibabel_nifti(path, values_xyz, *, inter=None):
    """Write a NIfTI with nibabel (x, y, z order); optionally patch ``scl_slope = 2`` and
    ``scl_inter`` into the NIfTI-1 header bytes (offsets 112 and 116)."""
    import struct

    import nibabel as nib

    nib.save(nib.Nifti1Image(values_xyz, np.eye(4)), str(path))
    if inter is not None:
        raw = bytearray(path.read_bytes())
        raw[112:120] = struct.pack("<2f", 2.0, inter)
        path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("name, dtype", [("T1.nii", np.float32), ("T1.nii.gz", np.float64)])
def test_read_image_puts_back_the_nan_and_inf_itk_hides_in_nifti(tmp_path, name, dtype):
    values = np.full((5, 4, 3), 7.0, dtype)          # (x, y, z), as nibabel writes
    values[0, 0, 0] = values[4, 3, 2] = np.nan
    values[1, 2, 0] = np.inf
    values[2, 2, 2] = -np.inf
    values[3, 0, 1] = 0.0                             # a real zero stays a zero
    path = _nibabel_nifti(tmp_path / name, values)
    assert np.isfinite(sitk.GetArrayFromImage(sitk.ReadImage(str(path)))).all()  # ITK hides them
    read = sitk.GetArrayFromImage(read_image(path, subject="s7", role="T1"))
    np.testing.assert_array_equal(read, values.transpose(2, 1, 0))  # (z, y, x), NaN = NaN
    assert nifti_nonfinite_counts(path) == (2, 2)


def test_read_image_puts_back_nan_hidden_as_scl_inter(tmp_path):
    # Scaled by 2 and offset by 5, the 3s read as 11 and ITK's 0 for the NaN reads as 5:
    # there is no zero voxel, so a check looking for zeros alone would miss it.
    values = np.full((4, 4, 4), 3.0, np.float32)
    values[1, 2, 3] = np.nan
    values[0, 0, 0] = -np.inf
    path = _nibabel_nifti(tmp_path / "scaled.nii", values, inter=5.0)
    assert sorted(np.unique(sitk.GetArrayFromImage(sitk.ReadImage(str(path))))) == [5.0, 11.0]
    read = sitk.GetArrayFromImage(read_image(path))
    want = values.transpose(2, 1, 0) * 2.0 + 5.0      # slope 2 keeps -inf's sign
    np.testing.assert_array_equal(read, want)


def test_read_image_refuses_non_finite_nifti_vector_images(tmp_path):
    """A vector NIfTI (x, y, z, 1, 3) cannot be mapped voxel by voxel: refused with counts."""
    import nibabel as nib

    values = np.ones((3, 3, 2, 1, 3), np.float32)
    values[1, 1, 1, 0, 2] = np.nan
    img = nib.Nifti1Image(values, np.eye(4))
    img.header.set_intent("vector")
    nib.save(img, str(tmp_path / "v.nii"))
    image = sitk.ReadImage(str(tmp_path / "v.nii"))
    if image.GetNumberOfComponentsPerPixel() == 1:
        pytest.skip("this ITK reads the 5-D file as a scalar image")
    with pytest.raises(NonFiniteVoxelsError, match="1 NaN and 0 infinite voxel"):
        read_image(tmp_path / "v.nii", subject="s7", role="T1")


def test_read_image_keeps_finite_nifti_with_zeros_and_nan_of_other_formats(tmp_path):
    values = np.zeros((5, 4, 3), np.float32)
    values[1:4, 1:3, 1] = 2.5
    path = _nibabel_nifti(tmp_path / "zeros.nii.gz", values)
    read = sitk.GetArrayFromImage(read_image(path))
    np.testing.assert_array_equal(read, values.transpose(2, 1, 0))  # (z, y, x)
    with_nan = _ramp()
    with_nan[0, 1, 2] = np.nan
    mha = write_image(tmp_path / "a.mha", with_nan)  # MetaImage keeps NaN: nothing hidden
    assert np.isnan(sitk.GetArrayFromImage(read_image(mha))).sum() == 1


def test_zero_byte_file_says_it_is_empty(tmp_path):
    """Issue 14, finding 11: not ITK's 'Unable to determine ImageIO reader'."""
    from neurorad.io.images import ImageReadError, read_image

    empty = tmp_path / "T1.nii.gz"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"T1\.nii\.gz.*empty file \(0 bytes\)") as info:
        read_image(empty, subject="s1", role="image T1", data_root=tmp_path)
    assert "ImageIO" not in str(info.value)
