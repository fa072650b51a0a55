"""The study notebooks' sources: jupytext percent scripts shipped inside the package.

Each study notebook is written as a plain Python script in the jupytext *percent* format,
``neurorad/notebooks/<notebook>.py`` (``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell whose lines are commented out, ``# %% tags=["parameters"]`` the parameters
cell). The script is the single source of the notebook:

- ``neurorad run-study`` executes the notebook built from it (:func:`to_notebook`), found
  through the package with :mod:`importlib.resources`, so it works from an installed wheel;
- its ``parameters`` cell is the one list of the notebook's parameters and their defaults
  (:func:`parameters`): the command line checks ``-p KEY`` against it, the notebook records
  every one of them in its provenance, the tests read the defaults from it;
- ``notebooks/<notebook>.ipynb`` of the checkout, what JupyterLab users open, is generated
  from it deterministically (stable cell ids, no outputs) by
  ``python -m neurorad.studies.notebooks``, and a test fails when a committed ``.ipynb``
  differs from its source. With jupytext (a dependency) JupyterLab keeps both in step
  (``jupytext.toml`` pairs them).
"""
from __future__ import annotations

import argparse
import ast
import sys
from importlib import resources
from pathlib import Path

#: Folder of the notebook sources inside the package (package data, not a subpackage).
SOURCE_FOLDER = "notebooks"

#: Metadata every generated notebook carries (the kernel ``neurorad run-study`` also uses).
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def source_file(study: str):
    """The notebook source of ``study`` as an :mod:`importlib.resources` traversable."""
    from neurorad.studies import get_study

    return resources.files("neurorad").joinpath(SOURCE_FOLDER, f"{get_study(study).notebook}.py")


def read_source(study: str) -> str:
    """Text of the notebook source of ``study``."""
    return source_file(study).read_text(encoding="utf-8")


def to_notebook(text: str):
    """The notebook (``nbformat`` v4.5, no outputs) of a percent-format script.

    Cell ids are ``cell-<index>`` (stable across rebuilds, unlike nbformat's random ids),
    and the notebook metadata is :data:`NOTEBOOK_METADATA` only, so the same source always
    gives the same file.
    """
    import jupytext
    import nbformat

    nb = jupytext.reads(text, fmt="py:percent")
    nb.metadata = nbformat.from_dict(NOTEBOOK_METADATA)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def notebook(study: str):
    """The notebook of ``study`` built from its source (what ``run-study`` executes)."""
    return to_notebook(read_source(study))


def notebook_text(study: str) -> str:
    """The ``.ipynb`` file content generated from the source of ``study``."""
    import nbformat

    return nbformat.writes(notebook(study)) + "\n"


def parameters_source(text: str) -> str:
    """Source of the one cell tagged ``parameters`` in a percent-format script."""
    import jupytext

    cells = [c for c in jupytext.reads(text, fmt="py:percent").cells
             if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected one cell tagged 'parameters', found {len(cells)}")
    return cells[0].source


def parse_parameters(source: str) -> dict:
    """``{name: default}`` of a parameters cell, in order.

    Every statement must be ``name = <literal>`` (papermill injects values by name, so
    anything computed belongs in a later cell); the literals are read with
    :func:`ast.literal_eval`, never executed.
    """
    values = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            raise ValueError(f"line {node.lineno} of the parameters cell is not "
                             "`name = literal`")
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def parameters(study: str) -> dict:
    """The parameters of the notebook of ``study`` with their defaults, in cell order."""
    return parse_parameters(parameters_source(read_source(study)))


def parameter_values(study: str, namespace: dict) -> dict:
    """``{name: value}`` of every parameter of ``study`` as set in ``namespace`` (a
    notebook's ``globals()``): what the run records in its provenance."""
    return {name: namespace[name] for name in parameters(study)}


def write_notebooks(out_dir, studies=None) -> list[Path]:
    """Write ``<out_dir>/<notebook>.ipynb`` for ``studies`` (default: all registered)."""
    from neurorad.studies import STUDIES, get_study

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in studies or STUDIES:
        path = out_dir / f"{get_study(name).notebook}.ipynb"
        path.write_text(notebook_text(name), encoding="utf-8")
        written.append(path)
    return written


def stale_notebooks(folder, studies=None) -> list[str]:
    """Names of the studies whose ``<folder>/<notebook>.ipynb`` is missing or differs from
    what its source generates."""
    from neurorad.studies import STUDIES, get_study

    folder = Path(folder)
    stale = []
    for name in studies or STUDIES:
        path = folder / f"{get_study(name).notebook}.ipynb"
        if not path.is_file() or path.read_text(encoding="utf-8") != notebook_text(name):
            stale.append(name)
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m neurorad.studies.notebooks",
        description="Generate the study notebooks (.ipynb, no outputs) from their sources "
        "neurorad/notebooks/*.py.")
    parser.add_argument("out", nargs="?", default="notebooks",
                        help="folder of the .ipynb files (default: notebooks)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook differs from its source")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_notebooks(args.out)
        for name in stale:
            print(f"{name}: {args.out}/ differs from its source; run "
                  "`python -m neurorad.studies.notebooks`", file=sys.stderr)
        return 1 if stale else 0
    for path in write_notebooks(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
