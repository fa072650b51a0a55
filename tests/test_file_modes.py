"""Outputs follow the umask; the study kernel's sockets live in the private Jupyter runtime
folder (issue 14, finding 12)."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).parent / "batch"))
from batch_helpers import make_cohort, roi_stats_extractor  # noqa: E402


@pytest.fixture
def umask():
    previous = os.umask(0o027)
    yield 0o027
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_extract_outputs_and_cache_follow_the_umask(tmp_path, umask):
    from neurorad.batch import extract_manifest

    cohort = make_cohort(tmp_path / "data", n_subjects=1)
    out = tmp_path / "out"
    extract_manifest(cohort.manifest, "ibsi-phantom", out, scheduler="synchronous",
                     progress=False, extractor=roi_stats_extractor, device="cpu")
    files = [out / "features.parquet", out / "failures.parquet", out / "provenance.json",
             out / "cache" / "input_hashes.json", *(out / "cache").glob("*.parquet")]
    assert len(files) == 4 + 4
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: oct(0o640) for p in files}


@pytest.mark.skipif(os.name == "nt", reason="Unix domain sockets")
def test_study_kernel_sockets_are_in_the_private_runtime_folder(tmp_path, monkeypatch):
    import papermill
    from jupyter_core.paths import jupyter_runtime_dir

    from neurorad.reports.run import _kernel_manager_class, kernel_name

    runtime = tmp_path / "runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    probe = ("import json, os, sys\n"
             "from ipykernel.kernelapp import IPKernelApp\n"
             "app = IPKernelApp.instance()\n"
             "print(json.dumps({'transport': app.transport, 'ip': app.ip, "
             "'connection_file': app.connection_file}))")
    nb = new_notebook(cells=[new_code_cell(probe)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                               kernel_name=kernel_name(), progress_bar=False, cwd=str(work),
                               kernel_manager_class=_kernel_manager_class())
    import json

    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    info = json.loads(out.cells[0].outputs[0]["text"])
    assert info["transport"] == "ipc"
    assert Path(jupyter_runtime_dir()) == runtime
    assert Path(info["ip"]).parent == runtime and Path(info["connection_file"]).parent == runtime
    assert stat.S_IMODE(runtime.stat().st_mode) & 0o077 == 0  # private to the user
    assert list(work.iterdir()) == []  # nothing in the working directory
