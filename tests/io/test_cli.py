"""`neurorad validate`: output and exit status."""
from __future__ import annotations

from neurorad.cli import main


def test_validate_ok_exits_0(cohort, capsys):
    assert main(["validate", str(cohort.write())]) == 0
    out = capsys.readouterr().out
    assert "3 subject(s)" in out and out.strip().endswith("OK: 0 error(s), 0 warning(s)")


def test_validate_errors_exit_1_and_name_subject_and_file(cohort, capsys):
    (cohort.root / "s2" / "T1.nii.gz").unlink()
    assert main(["validate", str(cohort.write())]) == 1
    out = capsys.readouterr().out
    assert "ERROR   subject s2: s2/T1.nii.gz: image T1: missing" in out
    assert out.strip().endswith("FAILED: 1 error(s), 0 warning(s)")


def test_warnings_alone_exit_0(cohort, capsys):
    cohort.subject("s3")["images"]["T1"] = "s1/T1.nii.gz"
    assert main(["validate", str(cohort.write())]) == 0
    assert "WARNING subject s3" in capsys.readouterr().out


def test_data_root_option(cohort, tmp_path_factory, capsys):
    manifest = tmp_path_factory.mktemp("elsewhere") / "study.yaml"
    manifest.write_text(cohort.write().read_text(encoding="utf-8"))
    assert main(["validate", str(manifest)]) == 1
    assert main(["validate", str(manifest), "--data-root", str(cohort.root)]) == 0


def test_no_images_option(cohort, capsys):
    (cohort.root / "s1" / "T1.nii.gz").write_bytes(b"junk")
    assert main(["validate", str(cohort.write())]) == 1
    assert main(["validate", str(cohort.write()), "--no-images"]) == 0


def test_missing_manifest_exits_1(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml: manifest: missing" in capsys.readouterr().out
