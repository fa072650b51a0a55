"""DICOM-SEG whose segments share a label (one segment per lesion, all "Neoplasm,
Secondary", as real PET SEGs are written): no lesion is lost or merged without being asked.

Expected masks are the arrays written into the SEG (independent of neurorad's reading)."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

from neurorad.cli import main
from neurorad.io.dicom_rt import DicomRtError, seg_segments, seg_to_masks, select_segments
from neurorad.io.images import read_image
from neurorad.io.validate import validate_manifest
from tests.ingest.dicom_factory import write_mr_series, write_seg
from tests.ingest.test_dicom_rt import ORIGIN, SHAPE, SPACING

LESION = "Neoplasm, Secondary"


def _lesions():
    """Segment 1 'Liver' and segments 2-4 'Neoplasm, Secondary' (three separate lesions)."""
    liver = np.zeros(SHAPE, bool)
    liver[0:2, 0:4, 0:4] = True                       # 2 x 4 x 4 = 32 voxels
    lesions = []
    for k, (j, i) in enumerate([(6, 1), (8, 5), (2, 7)]):
        lesion = np.zeros(SHAPE, bool)
        lesion[k + 1, j:j + 2, i:i + 2] = True        # 4 voxels each, disjoint
        lesions.append(lesion)
    return [("Liver", liver)] + [(LESION, lesion) for lesion in lesions]


@pytest.fixture()
def seg(tmp_path):
    frame_uid, _, _ = write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    pairs = _lesions()
    write_seg(tmp_path / "seg.dcm", frame_uid, pairs, ORIGIN, SPACING)
    return tmp_path, read_image(tmp_path / "mr"), [a for _, a in pairs]


def _array(image):
    return sitk.GetArrayFromImage(image).astype(bool)


def test_all_segments_kept_each_named_by_number(seg):
    folder, reference, arrays = seg
    assert seg_segments(folder / "seg.dcm") == {1: "Liver", 2: LESION, 3: LESION, 4: LESION}
    masks = seg_to_masks(folder / "seg.dcm", reference)
    assert list(masks) == ["Liver", f"{LESION}#2", f"{LESION}#3", f"{LESION}#4"]
    for (name, image), expected in zip(masks.items(), arrays):
        np.testing.assert_array_equal(_array(image), expected, err_msg=name)


def test_repeated_label_is_an_error_unless_a_rule_is_given(seg):
    folder, reference, arrays = seg
    with pytest.raises(DicomRtError, match=r"segments 2, 3, 4 share the label 'Neoplasm, "
                                           r"Secondary'.*'Neoplasm, Secondary#2'"):
        seg_to_masks(folder / "seg.dcm", reference, [LESION])
    separate = seg_to_masks(folder / "seg.dcm", reference, [LESION], repeated="separate")
    assert list(separate) == [f"{LESION}#{n}" for n in (2, 3, 4)]
    union = seg_to_masks(folder / "seg.dcm", reference, [LESION], repeated="union")
    np.testing.assert_array_equal(_array(union[LESION]), arrays[1] | arrays[2] | arrays[3])
    assert _array(union[LESION]).sum() == 12
    explicit = seg_to_masks(folder / "seg.dcm", reference, [f"{LESION}#all", f"{LESION}#3", 4])
    np.testing.assert_array_equal(_array(explicit[f"{LESION}#all"]), _array(union[LESION]))
    np.testing.assert_array_equal(_array(explicit[f"{LESION}#3"]), arrays[2])
    np.testing.assert_array_equal(_array(explicit[4]), arrays[3])
    with pytest.raises(DicomRtError, match="segment number 1 is not labelled"):
        seg_to_masks(folder / "seg.dcm", reference, [f"{LESION}#1"])


def test_select_segments_rules():
    segments = {1: "a", 2: "b", 3: "b"}
    assert select_segments(segments) == {"a": (1,), "b#2": (2,), "b#3": (3,)}
    assert select_segments(segments, repeated="union") == {"a": (1,), "b": (2, 3)}
    assert select_segments(segments, ["a", 3]) == {"a": (1,), 3: (3,)}
    with pytest.raises(DicomRtError, match="no segment number 7"):
        select_segments(segments, [7])


def test_rt_masks_command_keeps_every_lesion(seg, capsys):
    folder, _, arrays = seg
    assert main(["rt-masks", str(folder / "seg.dcm"), "--reference", str(folder / "mr"),
                 "-o", str(folder / "labels.nii.gz")]) == 0
    out = capsys.readouterr().out
    assert (f'rois: {{"Liver": 1, "{LESION}#2": 2, "{LESION}#3": 3, "{LESION}#4": 4}}') in out
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "labels.nii.gz")))
    for value, expected in enumerate(arrays, start=1):
        np.testing.assert_array_equal(labels == value, expected)
    assert main(["rt-masks", str(folder / "seg.dcm"), "--reference", str(folder / "mr"),
                 "-o", str(folder / "x.nii.gz"), "--roi", LESION]) == 2
    assert "segments 2, 3, 4 share the label" in capsys.readouterr().err
    assert main(["rt-masks", str(folder / "seg.dcm"), "--reference", str(folder / "mr"),
                 "-o", str(folder / "u.nii.gz"), "--roi", LESION,
                 "--repeated-labels", "union"]) == 0
    union = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "u.nii.gz")))
    np.testing.assert_array_equal(union == 1, arrays[1] | arrays[2] | arrays[3])


def test_validate_warns_and_manifest_label_must_choose(seg):
    folder, _, _ = seg
    manifest = {"neurorad_manifest": 1, "study": "seg", "subjects": [{
        "id": "sub-01", "images": {"T1": {"path": "mr", "format": "dicom"}},
        "masks": {"seg": {"path": "seg.dcm", "format": "dicom-seg"}},
        "rois": {"lesion3": {"mask": "seg", "label": f"{LESION}#3"},
                 "lesions": {"mask": "seg", "label": f"{LESION}#all"}}}]}
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    report = validate_manifest(path)
    assert report.ok, str(report)
    assert [p.message for p in report.warnings] == [
        f"mask seg: segments 2, 3, 4 share the label '{LESION}'; select one by number or as "
        f"'{LESION}#<number>', or their union as '{LESION}#all'"]
    manifest["subjects"][0]["rois"] = {"lesion": {"mask": "seg", "label": LESION}}
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    (error,) = validate_manifest(path).errors
    assert "segments 2, 3, 4 share the label" in error.message


def test_rt_masks_separate_writes_overlapping_structures(tmp_path, capsys):
    """Two overlapping RTSTRUCT structures: refused as one label map (message naming both
    structures), written as one 0/1 file each with --separate."""
    from tests.ingest.dicom_factory import write_rtstruct
    from tests.ingest.test_dicom_rt import _rectangle

    frame_uid, _, _ = write_mr_series(tmp_path / "mr", SHAPE, ORIGIN, SPACING)
    write_rtstruct(tmp_path / "rs.dcm", frame_uid, {
        "GTV": [_rectangle(1.5, 5.5, 2.5, 5.5, 1)],          # columns 2-5, rows 3-5: 12 voxels
        "PTV/1": [_rectangle(0.5, 6.5, 1.5, 6.5, 1)]})       # columns 1-6, rows 2-6: 30 voxels
    args = ["rt-masks", str(tmp_path / "rs.dcm"), "--reference", str(tmp_path / "mr")]
    assert main(args + ["-o", str(tmp_path / "labels.nii.gz")]) == 2
    assert ("structures 'PTV/1' and 'GTV' overlap in 12 voxel(s)"
            in capsys.readouterr().err)
    assert main(args + ["-o", str(tmp_path / "sep"), "--separate"]) == 0
    out = capsys.readouterr().out
    assert 'masks: {"GTV": "1_GTV.nii.gz", "PTV/1": "2_PTV_1.nii.gz"}' in out
    assert 'rois: {"GTV": {mask: "GTV", label: 1}, "PTV/1": {mask: "PTV/1", label: 1}}' in out
    for file, (rows, cols) in (("1_GTV.nii.gz", (slice(3, 6), slice(2, 6))),
                               ("2_PTV_1.nii.gz", (slice(2, 7), slice(1, 7)))):
        expected = np.zeros(SHAPE, np.uint8)
        expected[1, rows, cols] = 1
        written = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "sep" / file)))
        np.testing.assert_array_equal(written, expected)
