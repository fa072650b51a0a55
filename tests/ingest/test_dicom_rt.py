"""RTSTRUCT / DICOM-SEG masks on an image grid, against voxel counts worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from neurorad.io.dicom_rt import (DicomRtError, fill_polygon, masks_to_labelmap,
                                  rtstruct_roi_names, rtstruct_to_masks, seg_segments,
                                  seg_to_masks, write_labelmap)
from neurorad.io.images import read_image
from tests.ingest.dicom_factory import write_mr_series, write_rtstruct, write_seg

# MR grid: 4 slices of 12 rows x 10 columns; voxel (k, j, i) centre at
# x = -10 + i, y = -8 + j, z = 20 + 2 k (mm).
SHAPE, ORIGIN, SPACING = (4, 12, 10), (-10.0, -8.0, 20.0), (1.0, 1.0, 2.0)
CIRCLE_CENTRE, CIRCLE_RADIUS = (4.35, 5.55), 3.25     # (column, row) index units, slice 3


def _rectangle(i0, i1, j0, j1, k):
    """Contour through index corners (i0, j0)-(i1, j1) on slice k, in patient mm."""
    corners = [(i0, j0), (i1, j0), (i1, j1), (i0, j1)]
    return np.array([[ORIGIN[0] + i, ORIGIN[1] + j, ORIGIN[2] + 2 * k] for i, j in corners])


def _circle(k, n=720):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ci, cj = CIRCLE_CENTRE
    return np.column_stack([ORIGIN[0] + ci + CIRCLE_RADIUS * np.cos(t),
                            ORIGIN[1] + cj + CIRCLE_RADIUS * np.sin(t),
                            np.full(n, ORIGIN[2] + 2 * k)])


@pytest.fixture()
def mr_with_rtstruct(tmp_path):
    frame_uid, _, _ = write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    write_rtstruct(tmp_path / "rs.dcm", frame_uid, {
        # columns 2..5 (1.5 <= c < 5.5) x rows 3..5 on slices 1 and 2: 4 x 3 x 2 = 24 voxels
        "GTV": [_rectangle(1.5, 5.5, 2.5, 5.5, 1), _rectangle(1.5, 5.5, 2.5, 5.5, 2)],
        # slice 0: 8 x 10 = 80 voxels minus a 4 x 4 hole = 64
        "ring": [_rectangle(0.5, 8.5, 0.5, 10.5, 0), _rectangle(2.5, 6.5, 3.5, 7.5, 0)],
        "circle": [_circle(3)],
    })
    reference = read_image(tmp_path / "mr")
    return tmp_path, reference


def test_rtstruct_square_ring_and_circle_voxels(mr_with_rtstruct):
    folder, reference = mr_with_rtstruct
    assert rtstruct_roi_names(folder / "rs.dcm") == ["GTV", "ring", "circle"]
    masks = rtstruct_to_masks(folder / "rs.dcm", reference)
    gtv = sitk.GetArrayFromImage(masks["GTV"]).astype(bool)
    expected = np.zeros(SHAPE, bool)
    expected[1:3, 3:6, 2:6] = True
    np.testing.assert_array_equal(gtv, expected)
    ring = sitk.GetArrayFromImage(masks["ring"]).astype(bool)
    assert ring.sum() == 64 and ring[0].sum() == 64
    assert not ring[0, 4:8, 3:7].any() and ring[0, 1:11, 1:9].sum() == 64
    # circle: voxel centres within the radius, counted independently on the grid
    rows, cols = np.mgrid[0:SHAPE[1], 0:SHAPE[2]]
    distance = np.hypot(cols - CIRCLE_CENTRE[0], rows - CIRCLE_CENTRE[1])
    assert np.abs(distance - CIRCLE_RADIUS).min() > 0.05     # no centre near the edge
    circle = sitk.GetArrayFromImage(masks["circle"]).astype(bool)
    np.testing.assert_array_equal(circle[3], distance < CIRCLE_RADIUS)
    assert circle[3].sum() == 32 and not circle[:3].any()
    assert masks["GTV"].GetOrigin() == reference.GetOrigin()


def test_rtstruct_on_a_flipped_grid_keeps_physical_position(mr_with_rtstruct):
    folder, reference = mr_with_rtstruct
    flipped = sitk.Image(reference.GetSize(), sitk.sitkUInt8)
    flipped.SetSpacing(reference.GetSpacing())
    # x runs right-to-left: voxel i at x = -1 - i (same centres as the MR grid, reversed)
    flipped.SetOrigin((-1.0, ORIGIN[1], ORIGIN[2]))
    flipped.SetDirection((-1, 0, 0, 0, 1, 0, 0, 0, 1))
    gtv = sitk.GetArrayFromImage(rtstruct_to_masks(folder / "rs.dcm", flipped, ["GTV"])["GTV"])
    expected = np.zeros(SHAPE, bool)
    expected[1:3, 3:6, 10 - 6:10 - 2] = True        # columns 2..5 mirrored: 4..7
    np.testing.assert_array_equal(gtv.astype(bool), expected)


def test_rtstruct_errors_name_the_structure(mr_with_rtstruct, tmp_path):
    folder, reference = mr_with_rtstruct
    with pytest.raises(DicomRtError, match=r"no structure 'gtv' \(did you mean 'GTV'\?\)"):
        rtstruct_to_masks(folder / "rs.dcm", reference, ["gtv"])
    off_plane = _rectangle(1.5, 5.5, 2.5, 5.5, 1)
    off_plane[:, 2] += 1.0                           # halfway between slices 1 and 2
    write_rtstruct(tmp_path / "bad.dcm", "1.2.3", {"GTV": [off_plane]})
    with pytest.raises(DicomRtError, match="GTV.*slice plane"):
        rtstruct_to_masks(tmp_path / "bad.dcm", reference)
    with pytest.raises(DicomRtError, match="Modality"):
        rtstruct_to_masks(next((folder / "mr").iterdir()), reference)


def test_fill_polygon_shared_edge_goes_to_one_side():
    left = fill_polygon(np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0], [0.0, 4.0]]), (6, 6))
    right = fill_polygon(np.array([[3.0, 0.0], [5.0, 0.0], [5.0, 4.0], [3.0, 4.0]]), (6, 6))
    assert not (left & right).any()
    assert left.sum() == 3 * 4 and right.sum() == 2 * 4       # columns 0-2 | 3-4, rows 0-3


def _seg_arrays():
    tumour = np.zeros(SHAPE, bool)
    tumour[1:3, 2:7, 3:6] = True                       # 2 x 5 x 3 = 30 voxels
    oedema = np.zeros(SHAPE, bool)
    oedema[2, 8:10, 1:9] = True                        # 16 voxels
    return {"tumour": tumour, "oedema": oedema}


@pytest.mark.parametrize("fractional", [False, True])
def test_seg_on_the_image_grid_round_trips(tmp_path, fractional):
    frame_uid, _, _ = write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    arrays = _seg_arrays()
    write_seg(tmp_path / "seg.dcm", frame_uid, arrays, ORIGIN, SPACING, fractional=fractional)
    reference = read_image(tmp_path / "mr")
    assert seg_segments(tmp_path / "seg.dcm") == {1: "tumour", 2: "oedema"}
    masks = seg_to_masks(tmp_path / "seg.dcm", reference)
    for label, array in arrays.items():
        np.testing.assert_array_equal(sitk.GetArrayFromImage(masks[label]).astype(bool), array)
    by_number = seg_to_masks(tmp_path / "seg.dcm", reference, [2])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(by_number[2]).astype(bool),
                                  arrays["oedema"])
    with pytest.raises(DicomRtError, match="no segment 'necrosis'"):
        seg_to_masks(tmp_path / "seg.dcm", reference, ["necrosis"])


def test_seg_resampled_on_a_coarser_grid(tmp_path):
    frame_uid, _, _ = write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    block = np.zeros(SHAPE, bool)
    block[:, 2:8, 4:9] = True            # x = -6..-2 mm, y = -6..-1 mm, all slices
    write_seg(tmp_path / "seg.dcm", frame_uid, {"block": block}, ORIGIN, SPACING)
    # reference: 2 mm in-plane voxels starting at x = -9.5, y = -7.5 -> centres at
    # x = -9.5, -7.5, -5.5, -3.5, -1.5, ... ; nearest SEG voxel of -5.5 is -6 or -5 (in),
    # of -1.5 is -2 or -1: ITK rounds half up to -1 (column 9: out). By hand: columns whose
    # centre rounds (half up) into [-6, -2] are x = -5.5 and -3.5 -> columns 2, 3;
    # y centres -7.5 + 2 r: -5.5, -3.5, -1.5 -> rows 1, 2, 3 (-1.5 rounds to -1, in).
    reference = sitk.Image((6, 6, 4), sitk.sitkUInt8)
    reference.SetSpacing((2.0, 2.0, 2.0))
    reference.SetOrigin((-9.5, -7.5, 20.0))
    mask = sitk.GetArrayFromImage(seg_to_masks(tmp_path / "seg.dcm", reference)["block"])
    expected = np.zeros((4, 6, 6), np.uint8)
    expected[:, 1:4, 2:4] = 1
    np.testing.assert_array_equal(mask, expected)


def test_labelmap_from_masks(mr_with_rtstruct, tmp_path):
    folder, reference = mr_with_rtstruct
    masks = rtstruct_to_masks(folder / "rs.dcm", reference, ["GTV", "circle"])
    labels = write_labelmap(masks, tmp_path / "labels.nii.gz")
    assert labels == {"GTV": 1, "circle": 2}
    written = sitk.ReadImage(str(tmp_path / "labels.nii.gz"))
    array = sitk.GetArrayFromImage(written)
    assert (array == 1).sum() == 24 and (array == 2).sum() == 32
    assert written.GetSpacing() == pytest.approx(reference.GetSpacing())
    overlapping = rtstruct_to_masks(folder / "rs.dcm", reference, ["GTV", "ring"])
    overlapping["GTV2"] = masks["GTV"]
    with pytest.raises(ValueError, match="'GTV2' and 'GTV' overlap in 24 voxel"):
        masks_to_labelmap(overlapping)
