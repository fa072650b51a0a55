"""Enhanced multi-frame DICOM (CT, PET, MR) and Siemens mosaics read as 3-D images.

Expected voxels and geometry are computed here from what the test wrote (pixel values,
per-frame positions) or, for nibabel's shipped Philips/Siemens files, from pydicom's own
reading of their per-frame positions; not from neurorad."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from neurorad.io.images import ImageReadError, read_image

ENHANCED = {"CT": "1.2.840.10008.5.1.4.1.1.2.1", "PT": "1.2.840.10008.5.1.4.1.1.130",
            "MR": "1.2.840.10008.5.1.4.1.1.4.1"}
NICOM = Path(__import__("nibabel").__file__).parent / "nicom" / "tests" / "data"
# an oblique orientation: rows along (cos a, sin a, 0), columns along (0, 0, -1)
ANGLE = np.deg2rad(20.0)
ROW, COL = np.array([np.cos(ANGLE), np.sin(ANGLE), 0.0]), np.array([0.0, 0.0, -1.0])
NORMAL = np.cross(ROW, COL)
ORIGIN = np.array([-30.0, 12.5, 40.0])
PIXEL_SPACING = (0.8, 0.6)                       # between rows, between columns
SLICE_GAP = 2.5


def write_enhanced(path, modality, stored, slopes, intercepts, *, positions=None, order=None,
                   extra=None):
    """An enhanced multi-frame object: frame f holds ``stored[order[f]]`` at
    ``positions[order[f]]``; ``extra(f, frame_group)`` may add per-frame attributes."""
    n = stored.shape[0]
    order = list(range(n)) if order is None else list(order)
    if positions is None:
        positions = [ORIGIN + k * SLICE_GAP * NORMAL for k in range(n)]
    ds = Dataset()
    ds.Modality = modality
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = [*ROW, *COL]
    measures = Dataset()
    measures.PixelSpacing = list(PIXEL_SPACING)
    measures.SliceThickness = SLICE_GAP
    shared.PlaneOrientationSequence = Sequence([orient])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for f, k in enumerate(order):
        group = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
        group.PlanePositionSequence = Sequence([pos])
        pvt = Dataset()
        pvt.RescaleSlope, pvt.RescaleIntercept = slopes[k], intercepts[k]
        pvt.RescaleType = "US"
        group.PixelValueTransformationSequence = Sequence([pvt])
        if extra is not None:
            extra(f, k, group)
        frames.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.NumberOfFrames = n
    ds.Rows, ds.Columns = stored.shape[1:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.ascontiguousarray(stored[order].astype(np.uint16)).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID = ENHANCED[modality]
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _stored(n=5, rows=4, cols=3):
    return (np.arange(n * rows * cols).reshape(n, rows, cols) * 7 + 3).astype(np.uint16)


@pytest.mark.parametrize("modality", ["CT", "PT", "MR"])
def test_enhanced_multiframe_read_as_3d_with_geometry(tmp_path, modality):
    stored = _stored()
    slopes = [1.0, 2.0, 0.5, 3.0, 1.5]
    intercepts = [-1024.0, 0.0, 10.0, 0.0, -5.0]
    order = [3, 0, 4, 1, 2]                                 # frames stored shuffled
    write_enhanced(tmp_path / "ct" / "im.dcm", modality, stored, slopes, intercepts,
                   order=order)
    image = read_image(tmp_path / "ct")
    assert image.GetSize() == (3, 4, 5)
    expected = stored * np.array(slopes)[:, None, None] + np.array(intercepts)[:, None, None]
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), expected)
    np.testing.assert_allclose(image.GetOrigin(), ORIGIN, atol=1e-5)
    np.testing.assert_allclose(image.GetSpacing(), (0.6, 0.8, SLICE_GAP), atol=1e-5)
    np.testing.assert_allclose(np.reshape(image.GetDirection(), (3, 3)),
                               np.column_stack([ROW, COL, NORMAL]), atol=1e-6)
    # a voxel's physical point: origin + column * 0.6 * ROW + row * 0.8 * COL + k * gap * n
    point = image.TransformIndexToPhysicalPoint((2, 1, 3))
    np.testing.assert_allclose(point, ORIGIN + 2 * 0.6 * ROW + 0.8 * COL
                               + 3 * SLICE_GAP * NORMAL, atol=1e-5)


def test_multivolume_enhanced_mr_is_refused_naming_the_grouping(tmp_path):
    stored = _stored(n=6)
    positions = [ORIGIN + (k % 3) * SLICE_GAP * NORMAL for k in range(6)]

    def bvalue(f, k, group):
        diffusion = Dataset()
        diffusion.DiffusionBValue = 0 if k < 3 else 1000
        group.MRDiffusionSequence = Sequence([diffusion])

    write_enhanced(tmp_path / "dwi" / "im.dcm", "MR", stored, [1.0] * 6, [0.0] * 6,
                   positions=positions, extra=bvalue)
    with pytest.raises(ImageReadError, match=r"holds 2 volumes \(6 frames at 3 slice "
                                             r"positions\) that differ in b-value"):
        read_image(tmp_path / "dwi", subject="s1", role="DWI")


def test_enhanced_with_a_missing_frame_is_refused(tmp_path):
    stored = _stored(n=4)
    positions = [ORIGIN + k * SLICE_GAP * NORMAL for k in (0, 1, 3, 4)]
    write_enhanced(tmp_path / "ct" / "im.dcm", "CT", stored, [1.0] * 4, [0.0] * 4,
                   positions=positions)
    with pytest.raises(ImageReadError, match=r"uneven slices.*5\.0000 mm between slices 2 "
                                             r"and 3.*1 missing slice"):
        read_image(tmp_path / "ct")


def _gunzip(name, folder):
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name.replace(".gz", "")
    target.write_bytes(gzip.open(NICOM / name).read())
    return target


@pytest.mark.skipif(not (NICOM / "philips_mprage.dcm.gz").exists(),
                    reason="nibabel's wheel without its nicom test data")
def test_philips_enhanced_mprage_geometry(tmp_path):
    path = _gunzip("philips_mprage.dcm.gz", tmp_path / "mprage")
    ds = pydicom.dcmread(path)
    frame0 = ds.PerFrameFunctionalGroupsSequence[0]
    groups = frame0 if "PlaneOrientationSequence" in frame0 else \
        ds.SharedFunctionalGroupsSequence[0]
    iop = np.asarray(groups.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    ipp = np.array([np.asarray(f.PlanePositionSequence[0].ImagePositionPatient, float)
                    for f in ds.PerFrameFunctionalGroupsSequence])
    depth = ipp @ normal
    image = read_image(tmp_path / "mprage")
    assert image.GetSize() == (int(ds.Columns), int(ds.Rows), int(ds.NumberOfFrames))
    np.testing.assert_allclose(image.GetOrigin(), ipp[np.argmin(depth)], atol=1e-4)
    np.testing.assert_allclose(image.GetSpacing()[2], np.ptp(depth) / (len(depth) - 1),
                               rtol=1e-6)
    np.testing.assert_allclose(np.reshape(image.GetDirection(), (3, 3))[:, 2], normal,
                               atol=1e-6)
    pixels = ds.pixel_array
    assert sitk.GetArrayFromImage(image).shape == pixels.shape


@pytest.mark.skipif(not (NICOM / "siemens_dwi_1000.dcm.gz").exists(),
                    reason="nibabel's wheel without its nicom test data")
def test_siemens_mosaic_unpacked_into_slices(tmp_path):
    path = _gunzip("siemens_dwi_1000.dcm.gz", tmp_path / "mosaic")
    ds = pydicom.dcmread(path)
    # fill tile t (row-major 7 x 7 tiles of 128 x 128) with t + 1, to see where each goes
    tiles = np.zeros((896, 896), np.uint16)
    for t in range(49):
        r, c = divmod(t, 7)
        tiles[r * 128:(r + 1) * 128, c * 128:(c + 1) * 128] = t + 1
    ds.PixelData = tiles.tobytes()
    ds.save_as(path)
    image = read_image(tmp_path / "mosaic")
    array = sitk.GetArrayFromImage(image)
    assert array.shape == (48, 128, 128)        # NumberOfImagesInMosaic 48 of 49 tiles
    for k in range(48):
        assert np.all(array[k] == k + 1), k
    spacing = image.GetSpacing()
    np.testing.assert_allclose(spacing[:2], [float(v) for v in ds.PixelSpacing][::-1])
    # the slice spacing of this acquisition (CSA header) is 3 mm
    assert spacing[2] == pytest.approx(3.0, abs=1e-3)
    # the first slice's in-plane axes follow ImageOrientationPatient
    iop = np.asarray(ds.ImageOrientationPatient, float)
    direction = np.reshape(image.GetDirection(), (3, 3))
    np.testing.assert_allclose(direction[:, 0], iop[:3], atol=1e-4)
    np.testing.assert_allclose(direction[:, 1], iop[3:], atol=1e-4)


def test_series_of_mosaics_is_refused(tmp_path):
    if not (NICOM / "siemens_dwi_0.dcm.gz").exists():
        pytest.skip("nibabel's wheel without its nicom test data")
    _gunzip("siemens_dwi_0.dcm.gz", tmp_path / "dwi")
    _gunzip("siemens_dwi_1000.dcm.gz", tmp_path / "dwi")
    with pytest.raises(ImageReadError, match=r"a series of 2 Siemens mosaic files.*dcm2niix"):
        read_image(tmp_path / "dwi")


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("order", ["<", ">"])
def test_nifti_header_fields_in_both_versions_and_byte_orders(tmp_path, version, order):
    """The NIfTI header fields neurorad uses (now parsed by nibabel) for NIfTI-1/-2 files of
    either byte order: voxel count and the truncation check follow from the shape written."""
    import nibabel as nib

    from neurorad.io.images import _read_nifti_header, nifti_truncation

    klass = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    data = np.arange(60, dtype=order + "f4").reshape(3, 4, 5)
    image = klass(data, np.eye(4), klass.header_class(endianness=order))
    path = tmp_path / "x.nii"
    nib.save(image, str(path))
    raw = path.read_bytes()
    assert raw[:4] == np.array(348 if version == 1 else 540, order + "i4").tobytes()
    header = _read_nifti_header(path)
    assert (header.byte_order, header.header_size) == (order, 348 if version == 1 else 540)
    assert (header.datatype, header.bitpix, header.n_voxels) == (16, 32, 60)
    assert header.expected_bytes == len(raw)
    assert nifti_truncation(path) is None
    path.write_bytes(raw[:-8])
    assert nifti_truncation(path) == (f"file truncated: {len(raw) - 8} bytes of image data and "
                                      f"header, {len(raw)} expected")
