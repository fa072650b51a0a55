"""Executing a notebook in the caller's interpreter and rendering it offline."""
from __future__ import annotations

import re
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from neurorad.reports.render import external_resources, notebook_to_html, render_html
from neurorad.reports.run import kernel_name

PLOT = ("import sys\nimport matplotlib\nmatplotlib.use('agg')\n"
        "import matplotlib.pyplot as plt\n%matplotlib inline\n"
        "print('KERNEL-PYTHON', sys.executable)\n"
        "plt.plot([0, 1], [1, 0]); plt.show()")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """A two-cell notebook with a figure, executed by papermill in the resolved kernel."""
    import papermill

    folder = tmp_path_factory.mktemp("nb")
    nb = new_notebook(cells=[new_markdown_cell("# Tiny report\nSome prose."),
                             new_code_cell("SECRET_CODE_MARKER = 1\n" + PLOT)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "in.ipynb")
    papermill.execute_notebook(str(folder / "in.ipynb"), str(folder / "out.ipynb"),
                               kernel_name=kernel_name(), progress_bar=False)
    return folder / "out.ipynb"


def test_kernel_runs_this_interpreter(executed):
    nb = nbformat.read(executed, as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert f"KERNEL-PYTHON {sys.executable}" in text


def test_report_embeds_figure_and_loads_nothing_from_network(executed, tmp_path):
    html = render_html(executed, tmp_path / "r.html", title="My title").read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="data:image/png;base64,', html)
    assert external_resources(html) == []
    assert "<title>My title</title>" in html and "Some prose." in html
    assert "SECRET_CODE_MARKER" in html


def test_hide_code_drops_inputs_but_keeps_outputs(executed):
    nb = nbformat.read(executed, as_version=4)
    html = notebook_to_html(nb, hide_code=True)
    assert "SECRET_CODE_MARKER" not in html
    assert "KERNEL-PYTHON" in html and "data:image/png;base64," in html


def test_missing_notebook_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.ipynb"):
        render_html(tmp_path / "nope.ipynb", tmp_path / "x.html")


@pytest.mark.parametrize("snippet", [
    '<script src="https://cdn.example.org/require.js"></script>',
    "<script type='text/javascript' src=//cdn.example.org/x.js></script>",
    '<link rel="stylesheet" href="http://fonts.example.org/a.css">',
    "<style>@import url('https://fonts.example.org/css');</style>",
    "<style>@import \"https://fonts.example.org/b.css\";</style>",
    '<img src="https://example.org/logo.png">',
    'const m = (await import("https://cdn.example.org/mermaid.mjs")).default;',
])
def test_external_resources_are_detected(snippet):
    assert len(external_resources(f"<html>{snippet}</html>")) == 1


def test_plain_links_and_inline_data_are_not_resources():
    page = ('<a href="https://example.org">ref</a><img src="data:image/png;base64,AAAA">'
            "<script>var x = 1;</script>")
    assert external_resources(page) == []


@pytest.mark.skipif(sys.platform == "win32", reason="Unix domain sockets: POSIX only")
def test_run_study_kernel_uses_unix_sockets_not_tcp(tmp_path):
    """run_study's kernel is reached through Unix sockets: it opens no TCP port at all."""
    from neurorad.reports.run import execute_notebook

    parameters = new_code_cell("output_dir = ''")
    parameters.metadata["tags"] = ["parameters"]
    probe = new_code_cell("from ipykernel.kernelapp import IPKernelApp\n"
                          "app = IPKernelApp.instance()\n"
                          "print('TRANSPORT', app.transport, 'SHELL-PORT', app.shell_port)")
    nb = new_notebook(cells=[parameters, probe])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    out = execute_notebook(nb, tmp_path / "reports" / "probe.ipynb", {}, cwd=tmp_path,
                           progress=False)
    text = "".join(o.get("text", "") for o in nbformat.read(out, as_version=4).cells[-1].outputs)
    assert "TRANSPORT ipc SHELL-PORT" in text, text
    assert not list(tmp_path.glob("**/kernel-ipc*"))  # sockets beside the connection file, not here


def test_saved_outputs_are_read_from_the_runs_output_dir(tmp_path):
    """`run-study -p output_dir ELSEWHERE`: the summary and the index card read headline.json
    from where the run wrote it (papermill records the parameter), not the notebook's folder."""
    import nbformat

    from neurorad.reports.render import study_outputs_dir

    elsewhere = tmp_path / "elsewhere"
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["papermill"] = {"parameters": {"output_dir": str(elsewhere)}}
    executed = tmp_path / "reports" / "nf2" / "01.ipynb"
    executed.parent.mkdir(parents=True)
    nbformat.write(notebook, executed)
    assert study_outputs_dir(executed) == elsewhere
    # a relative or missing parameter: the notebook's own folder (run_study's default)
    notebook.metadata["papermill"] = {"parameters": {"output_dir": "reports/nf2"}}
    nbformat.write(notebook, executed)
    assert study_outputs_dir(executed) == executed.parent
    del notebook.metadata["papermill"]
    nbformat.write(notebook, executed)
    assert study_outputs_dir(executed) == executed.parent
