"""run-study checks its inputs before any kernel starts and generates the demo cohort for the
default manifest; default paths resolve against the checkout whatever the working directory."""
from __future__ import annotations

from pathlib import Path

import pytest

from neurorad.cli import main
from neurorad.reports.run import check_inputs
from neurorad.studies.common import StudyInputError, project_dir, resolve


def _checkout(root: Path) -> Path:
    (root / "neurorad").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "neurorad" / "__init__.py").write_text("")
    (root / "notebooks").mkdir()
    return root


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if papermill would be started."""
    import neurorad.reports.run as run

    def refuse(*args, **kwargs):
        raise AssertionError("papermill started")

    monkeypatch.setattr(run, "execute_notebook", refuse)


def test_project_dir_is_the_checkout_root_from_any_folder_inside(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURORAD_PROJECT_DIR", raising=False)
    root = _checkout(tmp_path / "repo")
    assert project_dir(root / "notebooks") == root.resolve()
    assert project_dir(root) == root.resolve()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert project_dir(outside) == outside.resolve()
    monkeypatch.chdir(root / "notebooks")
    assert resolve("work/x.yaml") == (root / "work" / "x.yaml").resolve()
    monkeypatch.setenv("NEURORAD_PROJECT_DIR", str(outside))
    assert resolve("work/x.yaml") == (outside / "work" / "x.yaml").resolve()


def test_unknown_parameter_stops_with_the_parameter_names(tmp_path, no_kernel):
    with pytest.raises(StudyInputError, match="unknown notebook parameter.*repeatz"):
        check_inputs("nf2", {"repeatz": 3}, tmp_path)


def test_missing_manifest_names_the_file_and_what_to_do(tmp_path, capsys, no_kernel):
    code = main(["run-study", "pet", "-p", "manifest", str(tmp_path / "nope.yaml"),
                 "--output", str(tmp_path / "reports"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "nope.yaml: manifest not found" in err
    assert "-p manifest PATH" in err and "Traceback" not in err


def test_relative_paths_on_the_command_line_are_relative_to_the_working_directory(
        tmp_path, monkeypatch):
    monkeypatch.delenv("NEURORAD_PROJECT_DIR", raising=False)
    root = _checkout(tmp_path / "repo")
    with pytest.raises(StudyInputError, match=str(root / "notebooks" / "my.yaml")):
        check_inputs("nf2", {"manifest": "my.yaml"}, root / "notebooks")


def test_invalid_manifest_stops_in_one_line(tmp_path, no_kernel):
    bad = tmp_path / "manifest.yaml"
    bad.write_text("neurorad_manifest: 1\nsubjects:\n  - id: s1\n    images: {T1: missing.nii.gz}\n")
    with pytest.raises(StudyInputError) as info:
        check_inputs("glioma", {"manifest": str(bad)}, tmp_path)
    message = str(info.value)
    assert message.startswith(f"{bad}: the manifest has") and "\n" not in message
    assert "neurorad validate" in message


def test_settings_that_do_not_load_stop_before_the_kernel(tmp_path, monkeypatch, no_kernel):
    from neurorad.synth import make_cohort

    manifest = make_cohort("glioma", tmp_path / "c", n_subjects=8, write_images=False,
                           progress=False)
    # write_images=False names absent files: validation fails first, so check settings alone
    monkeypatch.setattr("neurorad.io.validate_manifest",
                        lambda *a, **k: type("R", (), {"ok": True})())
    with pytest.raises(StudyInputError, match="settings 'no-such-preset'"):
        check_inputs("glioma", {"manifest": str(manifest), "settings": "no-such-preset"},
                     tmp_path)


def test_default_manifest_missing_generates_the_demo_cohort(tmp_path, monkeypatch):
    import neurorad.synth.cohort as cohort

    monkeypatch.delenv("NEURORAD_PROJECT_DIR", raising=False)
    root = _checkout(tmp_path / "repo")
    real = cohort.make_cohort
    calls = []

    def small_cohort(study, out_dir, **kwargs):
        calls.append((study, Path(out_dir)))
        return real(study, out_dir, n_subjects=8, progress=False)

    monkeypatch.setattr(cohort, "make_cohort", small_cohort)
    checked = check_inputs("glioma", {}, root / "notebooks")
    assert calls == [("glioma", (root / "work" / "cohorts" / "glioma").resolve())]
    assert (root / "work" / "cohorts" / "glioma" / "manifest.yaml").is_file()
    assert "manifest" not in checked  # the notebook resolves its default the same way
    check_inputs("glioma", {}, root)  # present now: not generated again
    assert len(calls) == 1


def test_yaml_null_in_a_model_list_is_the_null_model_not_an_unknown_one(tmp_path):
    """`-p models '[null, lasso_lr]'` reaches check_inputs as [None, 'lasso_lr']: the check
    passes the models (it stops later, at the missing manifest), while a real typo stops it."""
    missing = tmp_path / "missing.yaml"
    with pytest.raises(StudyInputError, match="manifest not found"):
        check_inputs("nf2", {"models": [None, "lasso_lr"], "manifest": str(missing)})
    with pytest.raises(StudyInputError, match="unknown model.*lasso_typo"):
        check_inputs("nf2", {"models": [None, "lasso_typo"], "manifest": str(missing)})
