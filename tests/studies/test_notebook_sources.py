"""Notebook sources (jupytext percent scripts in the package) and the .ipynb generated from
them: committed notebooks match their sources, generation is deterministic, parameters are
read from the one parameters cell."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from neurorad.studies import STUDIES
from neurorad.studies.notebooks import (notebook_text, parameters, parameters_source,
                                        parse_parameters, read_source, stale_notebooks,
                                        to_notebook, write_notebooks)

ROOT = Path(__file__).resolve().parents[2]


def test_committed_notebooks_are_generated_from_their_sources():
    assert stale_notebooks(ROOT / "notebooks") == [], (
        "run `python -m neurorad.studies.notebooks` and commit notebooks/*.ipynb")


def test_a_notebook_that_differs_from_its_source_is_reported(tmp_path):
    write_notebooks(tmp_path)
    assert stale_notebooks(tmp_path) == []
    path = tmp_path / f"{STUDIES['pet'].notebook}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][1]["source"] = nb["cells"][1]["source"] + ["\n# edited in the .ipynb only"]
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (tmp_path / f"{STUDIES['dai'].notebook}.ipynb").unlink()
    assert stale_notebooks(tmp_path) == ["pet", "dai"]


def test_generation_is_deterministic_with_stable_cell_ids():
    for study in STUDIES:
        first, second = notebook_text(study), notebook_text(study)
        assert first == second
        nb = nbformat.reads(first, as_version=4)
        nbformat.validate(nb)
        assert [c.id for c in nb.cells] == [f"cell-{i:02d}" for i in range(len(nb.cells))]


def test_percent_script_cells_become_notebook_cells():
    text = ('# %% [markdown]\n# # Title\n# Some *prose*.\n\n'
            '# %% tags=["parameters"]\nn = 3  # count\n\n'
            '# %%\n# %matplotlib inline\nprint(n)\n')
    nb = to_notebook(text)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[0].source == "# Title\nSome *prose*."
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[2].source == "%matplotlib inline\nprint(n)"
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_parameters_are_the_values_the_parameters_cell_assigns():
    for study in STUDIES:
        source = parameters_source(read_source(study))
        namespace: dict = {}
        exec(source, namespace)  # a second method: run the cell as the kernel would
        expected = {k: v for k, v in namespace.items() if k != "__builtins__"}
        assert parameters(study) == expected, study
        assert list(parameters(study))[:3] == ["manifest", "data_root", "settings"]
    assert parameters("nf2")["manifest"] == "work/cohorts/nf2/manifest.yaml"


def test_parameters_cell_must_be_literal_assignments():
    assert parse_parameters("a = 1\nb = [2, 'x']  # note\nc = None\n") == {
        "a": 1, "b": [2, "x"], "c": None}
    with pytest.raises(ValueError, match="line 2"):
        parse_parameters("a = 1\nb = a + 1\n")
    with pytest.raises(ValueError):
        parse_parameters("import os\n")
    with pytest.raises(ValueError, match="found 0"):
        parameters_source("# %%\nx = 1\n")
