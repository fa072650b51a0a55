"""Loading manifests: data model, data root, cases, target table, schema problems."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurorad.io.manifest import (Case, ImageRef, ManifestError, MaskRef, RoiRef, file_sha256,
                                  load_manifest, parse_manifest)

from .conftest import lesion_labelmap, write_image


def _errors(path, data_root=None):
    _, problems = parse_manifest(path, data_root)
    return [p for p in problems if p.severity == "error"]


def test_load_builds_the_data_model(cohort):
    manifest = load_manifest(cohort.write())
    assert manifest.study == "tiny" and manifest.data_root == cohort.root.resolve()
    assert [s.id for s in manifest.subjects] == ["s1", "s2", "s3"]
    s1 = manifest.subjects[0]
    assert s1.group == "P1"
    assert s1.images == {
        "T1": ImageRef(cohort.root.resolve() / "s1/T1.nii.gz", None, "auto"),
        "T2": ImageRef(cohort.root.resolve() / "s1/T2.nrrd", None, "auto"),
    }
    assert s1.masks == {"mask": MaskRef(cohort.root.resolve() / "s1/mask.nii.gz")}
    assert s1.rois == {"lesion_1": RoiRef("mask", 1), "lesion_2": RoiRef("mask", 2)}
    assert s1.targets == {"variant_origin": "germline", "uptake": 2.5, "exon": 8}
    assert manifest.targets["exon"].role == "annotation"
    assert manifest.targets["variant_origin"].classes == ("germline", "mosaic")
    assert manifest.problems == []


def test_group_defaults_to_id(cohort):
    del cohort.subject("s3")["group"]
    assert load_manifest(cohort.write()).subjects[2].group == "s3"


def test_cases_one_per_subject_roi_image(cohort):
    cases = list(load_manifest(cohort.write()).cases())
    assert len(cases) == 3 * 2 * 2
    assert cases[0] == Case("s1", "P1", "lesion_1", 1, cohort.root.resolve() / "s1/mask.nii.gz",
                            "T1", cohort.root.resolve() / "s1/T1.nii.gz")
    assert [(c.roi, c.image_name) for c in cases[:4]] == [
        ("lesion_1", "T1"), ("lesion_1", "T2"), ("lesion_2", "T1"), ("lesion_2", "T2")]


def test_several_named_masks_and_long_forms(cohort):
    s1 = cohort.subject("s1")
    write_image(cohort.root / "s1" / "edema.nii.gz", lesion_labelmap((5,)))
    del s1["mask"]
    digest = "ab" * 32
    s1["masks"] = {"tumour": f"s1/mask.nii.gz",
                   "edema": {"path": "s1/edema.nii.gz", "sha256": digest.upper()}}
    s1["rois"] = {"core": {"mask": "tumour", "label": 1}, "edema": {"mask": "edema", "label": 5}}
    s1["images"]["PET"] = {"path": "pet/s1", "format": "dicom"}
    s1 = load_manifest(cohort.write()).subjects[0]
    assert s1.masks["edema"].sha256 == digest  # normalised to lower case
    assert s1.rois == {"core": RoiRef("tumour", 1), "edema": RoiRef("edema", 5)}
    assert s1.images["PET"].format == "dicom"


def test_rtstruct_masks_are_kept_in_the_model(cohort):
    s1 = cohort.subject("s1")
    del s1["mask"]
    s1["masks"] = {"rt": {"path": "s1/rtstruct.dcm", "format": "rtstruct", "reference": "T2"}}
    s1["rois"] = {"gtv": {"mask": "rt", "label": "GTV"}}
    manifest = load_manifest(cohort.write())
    assert manifest.subjects[0].masks["rt"].format == "rtstruct"
    assert manifest.subjects[0].masks["rt"].reference == "T2"
    case = next(manifest.cases())
    assert (case.label, case.mask_format, case.mask_name) == ("GTV", "rtstruct", "rt")


def test_data_root_precedence(cohort, tmp_path, monkeypatch):
    raw = cohort.copy_raw()
    raw["data_root"] = "declared"
    path = cohort.write(raw)
    assert load_manifest(path).data_root == (cohort.root / "declared").resolve()
    monkeypatch.setenv("NEURORAD_DATA_ROOT", str(tmp_path / "from_env"))
    assert load_manifest(path).data_root == (tmp_path / "from_env").resolve()
    manifest = load_manifest(path, data_root=tmp_path / "argument")
    assert manifest.data_root == (tmp_path / "argument").resolve()
    assert manifest.subjects[0].images["T1"].path == (tmp_path / "argument/s1/T1.nii.gz").resolve()


def test_absolute_paths_are_kept(cohort):
    cohort.subject("s1")["images"]["T1"] = str(cohort.root / "s1" / "T1.nii.gz")
    manifest = load_manifest(cohort.write(), data_root="/elsewhere")
    assert manifest.subjects[0].images["T1"].path == cohort.root / "s1" / "T1.nii.gz"


def test_target_table_types(cohort):
    table = load_manifest(cohort.write()).target_table()
    assert list(table.index) == ["s1", "s2", "s3"] and table.index.name == "subject"
    assert list(table.columns) == ["group", "variant_origin", "uptake", "exon"]
    assert list(table["group"]) == ["P1", "P1", "P2"]
    assert isinstance(table["variant_origin"].dtype, pd.CategoricalDtype)
    assert list(table["variant_origin"].cat.categories) == ["germline", "mosaic"]
    assert list(table["exon"].cat.categories) == [8, 11]  # undeclared: sorted values
    assert table["uptake"].dtype == np.float64
    assert table.loc["s2", "uptake"] == 3.0 and np.isnan(table.loc["s3", "uptake"])


def test_manifest_sha256(cohort):
    path = cohort.write()
    assert load_manifest(path).sha256() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_sha256_of_a_folder_concatenates_sorted_files(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.dcm").write_bytes(b"BBB")
    (tmp_path / "d" / "a.dcm").write_bytes(b"AA")
    (tmp_path / "d" / "sub" / "c.dcm").write_bytes(b"C")
    assert file_sha256(tmp_path / "d") == hashlib.sha256(b"AABBBC").hexdigest()
    assert file_sha256(tmp_path / "d" / "a.dcm") == hashlib.sha256(b"AA").hexdigest()


def test_load_raises_listing_every_error(cohort):
    raw = cohort.copy_raw()
    raw["studdy"] = "typo"
    raw["subjects"][0]["imgaes"] = {}
    raw["subjects"][1]["id"] = "s1"
    with pytest.raises(ManifestError) as info:
        load_manifest(cohort.write(raw))
    message = str(info.value)
    assert "3 error(s)" in message
    assert "unknown key 'studdy' (did you mean 'study'?)" in message
    assert "subject s1" in message and "unknown key 'imgaes' (did you mean 'images'?)" in message
    assert "duplicate subject id 's1'" in message
    assert len(info.value.problems) == 3
    manifest = load_manifest(cohort.manifest_path, strict=False)
    assert len(manifest.problems) == 3 and len(manifest.subjects) == 3


def test_extension_keys_are_ignored(cohort):
    raw = cohort.copy_raw()
    raw["x_generator"] = {"seed": 3}
    raw["subjects"][0]["x_note"] = "left side"
    assert load_manifest(cohort.write(raw)).problems == []


@pytest.mark.parametrize("edit, expected", [
    (lambda r: r.pop("neurorad_manifest"), "neurorad_manifest: missing"),
    (lambda r: r.update(neurorad_manifest=2), "unsupported format version 2"),
    (lambda r: r.pop("study"), "study: missing"),
    (lambda r: r.update(subjects={"s1": {}}), "subjects: must be a list"),
    (lambda r: r.update(geometry_tolerance="small"), "geometry_tolerance: must be a number"),
    (lambda r: r.update(geometry_tolerance=-1), "geometry_tolerance: must be >= 0"),
    (lambda r: r["subjects"][0].pop("id"), "subjects[0]: missing id"),
    (lambda r: r["subjects"][0].update(id=7), "subjects[0].id: must be a string, got int 7"),
    (lambda r: r["subjects"][0].pop("images"), "missing images"),
    (lambda r: r["subjects"][0].update(images=["T1.nii"]), "images: must be a mapping"),
    (lambda r: r["subjects"][0]["images"].update(T1={"sha256": "00"}), "images.T1: missing path"),
    (lambda r: r["subjects"][0]["images"].update(T1={"path": "a.nii", "sha256": "xyz"}),
     "images.T1.sha256: must be 64 hexadecimal digits"),
    (lambda r: r["subjects"][0]["images"].update(T1={"path": "a.nii", "format": "png"}),
     "images.T1.format: unknown format 'png'"),
    (lambda r: r["subjects"][0]["images"].update(T1__b="a.nii"), "must not contain '__'"),
    (lambda r: r["subjects"][0]["rois"].update(lesion_1=0), "label 0 is the background"),
    (lambda r: r["subjects"][0]["rois"].update(lesion_1="one"), "label must be an integer"),
    (lambda r: r["subjects"][0]["rois"].update(lesion_1={"mask": "other", "label": 1}),
     "refers to mask 'other', which the subject does not have"),
    (lambda r: r["subjects"][0].update(masks={"m": "x.nii"}), "give either 'mask'"),
    (lambda r: r["subjects"][0].pop("mask"), "rois.lesion_1: the subject has no mask"),
    (lambda r: r["subjects"][0].update(masks={"a": "a.nii", "b": "b.nii"}) or
     r["subjects"][0].pop("mask"), "with several masks (a, b) write {mask: NAME, label: VALUE}"),
    (lambda r: r["targets"].update(grade={"type": "ordinal"}), "unknown type 'ordinal'"),
    (lambda r: r["targets"]["exon"].update(role="colour"), "unknown role 'colour'"),
    (lambda r: r["targets"]["variant_origin"].update(classes=["a", "b", "c"]),
     "a binary target needs exactly 2 classes"),
    (lambda r: r["targets"]["uptake"].update(classes=[1, 2]), "a continuous target has no classes"),
])
def test_schema_errors_name_the_place(cohort, edit, expected):
    raw = cohort.copy_raw()
    edit(raw)
    messages = [p.message for p in _errors(cohort.write(raw))]
    assert any(expected in m for m in messages), messages


def test_subject_schema_errors_carry_subject_and_manifest_file(cohort):
    cohort.subject("s2")["images"]["T1"] = 42
    [problem] = _errors(cohort.write())
    assert problem.subject == "s2"
    assert problem.file.endswith("study.yaml")
    assert "subjects[1] (s2).images.T1" in problem.message and "int 42" in problem.message


def test_duplicate_yaml_keys_are_errors(cohort):
    path = cohort.write()
    text = path.read_text(encoding="utf-8").replace("T1: s1/T1.nii.gz", "T1: s1/T1.nii.gz\n    T1: s1/T2.nrrd", 1)
    path.write_text(text)
    messages = [p.message for p in _errors(path)]
    assert any("duplicate key 'T1' on line" in m for m in messages), messages


def test_invalid_yaml_and_missing_manifest(cohort, tmp_path):
    cohort.manifest_path.write_text("subjects: [\n  - id: s1\n")
    [problem] = _errors(cohort.manifest_path)
    assert "not valid YAML" in problem.message
    [problem] = _errors(tmp_path / "nope.yaml")
    assert "nope.yaml" in problem.file and "missing" in problem.message


# ----------------------------------------------------------------------------- targets
@pytest.mark.parametrize("edit, subject, expected", [
    (lambda r: r["subjects"][1]["targets"].pop("uptake"), "s2",
     "target 'uptake' missing (write `uptake: null` when it is unknown)"),
    (lambda r: r["subjects"][1]["targets"].update(uptake="high"), "s2",
     "continuous target needs a number, got str 'high'"),
    (lambda r: r["subjects"][1]["targets"].update(uptake=float("nan")), "s2", "is not finite"),
    (lambda r: r["subjects"][1]["targets"].update(variant_origin="somatic"), "s2",
     "'somatic' is not one of the declared classes ['germline', 'mosaic']"),
    (lambda r: r["subjects"][1]["targets"].update(variant_origin=True), "s2",
     "binary target needs a class (string or integer), got bool True"),
    (lambda r: r["subjects"][1]["targets"].update(exon=[8, 9]), "s2", "categorical target needs"),
    (lambda r: r["subjects"][1]["targets"].update(grade=2), "s2", "unknown target 'grade'"),
    (lambda r: r["subjects"][1]["targets"].update(upatke=2.0), "s2", "(did you mean 'uptake'?)"),
])
def test_subject_target_errors(cohort, edit, subject, expected):
    raw = cohort.copy_raw()
    edit(raw)
    problems = _errors(cohort.write(raw))
    assert any(p.subject == subject and expected in p.message for p in problems), problems


def test_single_class_target_is_an_error_and_an_annotation_warning(cohort):
    for sid in ("s1", "s2", "s3"):
        cohort.subject(sid)["targets"]["variant_origin"] = "germline"
        cohort.subject(sid)["targets"]["exon"] = 8
    _, problems = parse_manifest(cohort.write())
    by_place = {p.message.split(":")[0]: p for p in problems}
    assert by_place["targets.variant_origin"].severity == "error"
    assert "same class 'germline'" in by_place["targets.variant_origin"].message
    assert by_place["targets.exon"].severity == "warning"


def test_binary_target_without_declared_classes_needs_two_values(cohort):
    cohort.raw["targets"]["variant_origin"] = {"type": "binary"}
    cohort.subject("s3")["targets"]["variant_origin"] = "unknown"
    messages = [p.message for p in _errors(cohort.write())]
    assert any("binary target has 3 classes" in m for m in messages), messages


def test_constant_continuous_target_and_mixed_types(cohort):
    cohort.subject("s2")["targets"]["uptake"] = 2.5
    cohort.subject("s2")["targets"]["exon"] = "eleven"
    messages = [p.message for p in parse_manifest(cohort.write())[1]]
    assert any("targets.uptake" in m and "same value 2.5" in m for m in messages), messages
    assert any("targets.exon" in m and "mix strings and numbers" in m for m in messages), messages


def test_null_targets_are_explicitly_missing(cohort):
    cohort.subject("s1")["targets"]["uptake"] = None
    # s1 and s3 null, s2 = 3.0: a single value left -> error, but no "missing" error
    messages = [p.message for p in _errors(cohort.write())]
    assert not any("missing" in m for m in messages)
    assert any("targets.uptake" in m and "same value" in m for m in messages)


def test_example_manifest_has_no_schema_problem(monkeypatch):
    monkeypatch.delenv("NEURORAD_DATA_ROOT", raising=False)
    example = Path(__file__).resolve().parents[2] / "data_manifests" / "example_manifest.yaml"
    manifest, problems = parse_manifest(example)
    assert problems == []
    # by hand: nf2-001 2 ROIs x 4 images, nf2-002 2 x 4, nf2-003 1 x 4
    assert len(list(manifest.cases())) == 20
    rt = manifest.subjects[1].masks["rt"]
    assert (rt.format, rt.reference) == ("rtstruct", "T1c")
    assert manifest.subjects[1].rois["vs_left"] == RoiRef("rt", "GTV_VS_L")
    assert manifest.data_root == (example.parent / "../data/nf2").resolve()


def test_mask_reference_must_name_an_image(cohort):
    s1 = cohort.subject("s1")
    s1["mask"] = {"path": "s1/rt.dcm", "format": "rtstruct", "reference": "CT"}
    s1["rois"] = {"gtv": "GTV"}
    [problem] = _errors(cohort.write())
    assert problem.subject == "s1"
    assert "mask.reference: names image 'CT', which the subject does not have (images: T1, T2)" \
        in problem.message


def test_target_problems_do_not_block_loading_for_extraction(cohort):
    for sid in ("s1", "s2", "s3"):
        cohort.subject(sid)["targets"]["variant_origin"] = "germline"
    path = cohort.write()
    with pytest.raises(ManifestError, match="same class 'germline'"):
        load_manifest(path)
    manifest = load_manifest(path, targets_required=False)
    assert [s.id for s in manifest.subjects] == ["s1", "s2", "s3"]
    # a structural error still blocks, targets_required or not
    raw = cohort.copy_raw()
    raw["subjects"][0]["imgaes"] = {}
    with pytest.raises(ManifestError, match="imgaes"):
        load_manifest(cohort.write(raw), targets_required=False)
