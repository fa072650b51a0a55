"""A rendered report reads like a results section: summary first, then contents; code folded
in <details>; figures with numbered captions; no Python reprs; escaped data text."""
from __future__ import annotations

import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from neurorad.studies.headline import Headline, write_headline
from neurorad.reports.layout import prepare, python_reprs, table_of_contents
from neurorad.reports.render import notebook_to_html, render_html
from neurorad.reports.run import kernel_name

SETUP = ("import matplotlib\nmatplotlib.use('agg')\n%matplotlib inline\n"
         "import matplotlib.pyplot as plt\nfrom dataclasses import dataclass\n"
         "from neurorad.reports.figures import show_figure\n"
         "@dataclass\nclass Headline:\n    study: str = 'x'\n")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """An executed study-like notebook with a key figure, an uncaptioned figure, a repr
    and a saved headline, in its study folder."""
    import papermill

    folder = tmp_path_factory.mktemp("study")
    nb = new_notebook(cells=[
        new_markdown_cell("# Tiny study\n\n**Published design**: INTRO_PROSE."),
        new_code_cell(SETUP),
        new_markdown_cell("## Grouped vs leaky"),
        new_code_cell("fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\n"
                      f"show_figure(ax, 'Estimates <by> split.', key=True, "
                      f"output_dir={str(folder)!r})"),
        new_markdown_cell("### Curves"),
        new_code_cell("plt.plot([0, 1], [0, 1])"),
        new_markdown_cell("## Headline"),
        new_code_cell("Headline()"),
        new_code_cell("print('DONE-MARKER')"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "in.ipynb")
    papermill.execute_notebook(str(folder / "in.ipynb"), str(folder / "out.ipynb"),
                               kernel_name=kernel_name(), progress_bar=False)
    write_headline(Headline(study="tiny", metric="roc_auc", model="svm", estimate=0.7123,
                            ci_low=0.5234, ci_high=0.8811, task="outcome", leaky=0.9712,
                            published=0.997, published_text="journal", chance=0.5,
                            permutation_p=0.01, n_permutations=99,
                            cohort="12 patients <3 ROIs each>"), folder)
    html = render_html(folder / "out.ipynb", folder / "report.html", title="Tiny study")
    return folder, html.read_text(encoding="utf-8")


def _at(page: str, tag: str, cls: str) -> int:
    """Offset of the first ``<tag ... class="cls" ...>`` (attribute order is not fixed)."""
    match = re.search(rf'<{tag}\b[^>]*\bclass="{cls}"', page)
    assert match, f"no <{tag} class={cls}>"
    return match.start()


def test_summary_opens_the_report_before_any_code(study):
    _, page = study
    summary = _at(page, "section", "nr-summary")
    assert page.index('<h1 id="Tiny-study"') < summary < page.index('<details class="nr-code"')
    assert summary < page.index("INTRO_PROSE")
    section = page[summary:page.index("</section>", summary)]
    assert "0.712 [0.523; 0.881]" in section
    assert "the interval excludes chance (0.5)" in section
    assert "0.997, journal" in section
    assert "0.971 with ROI-level (leaky) splits versus 0.712 grouped by patient" in section
    assert "p = 0.010, the smallest possible with 99 label permutations" in section
    assert "12 patients &lt;3 ROIs each&gt;" in section  # escaped
    # The key figure, linked to its numbered place in the report.
    assert '<a href="#figure-1">Figure 1.</a></strong> Estimates &lt;by&gt; split.' in section
    assert re.search(r'<img [^>]*src="data:image/png;base64,', section)


def test_contents_follow_the_summary_and_link_every_section(study):
    _, page = study
    nav = page[_at(page, "nav", "nr-toc[^\"]*"):page.index("</nav>")]
    assert page.index("</section>") < _at(page, "nav", "nr-toc[^\"]*")
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', nav)
    assert links == [("Grouped-vs-leaky", "Grouped vs leaky"), ("Curves", "Curves"),
                     ("Headline", "Headline")]
    for ident, _ in links:
        assert f'id="{ident}"' in page
    # Nested: the level-3 heading sits in the list of its level-2 section.
    assert re.search(r"Grouped vs leaky</a>\s*<ol>\s*<li><a href=\"#Curves\"", nav)


def test_code_is_folded_in_details_and_can_be_left_out(study):
    folder, page = study
    outside = re.sub(r"<details\b.*?</details>", "", page, flags=re.S)
    assert "hl-ipython3" not in outside and "show_figure" not in outside
    assert page.count('<details class="nr-code"><summary>Show code</summary>') == 5
    assert "DONE-MARKER" in outside  # outputs stay visible
    assert "<script" not in page
    bare = notebook_to_html(nbformat.read(folder / "out.ipynb", as_version=4),
                            hide_code=True, study_dir=folder)
    assert "<details" not in bare and "show_figure" not in bare and "DONE-MARKER" in bare


def test_figures_carry_numbered_captions(study):
    _, page = study
    body = page[page.index("</nav>"):]
    captions = re.findall(r"<figcaption><strong>(Figure \d+)\.</strong> ([^<]*)</figcaption>",
                          body)
    assert captions == [("Figure 1", "Estimates &lt;by&gt; split."), ("Figure 2", "Curves")]
    images = re.findall(r"<img [^>]*>", body)
    assert len(images) == 2 and all('alt="Figure ' in i for i in images)


def test_no_python_reprs_reach_the_page(study):
    folder, page = study
    executed = (folder / "out.ipynb").read_text(encoding="utf-8")
    assert "Headline(study=" in executed and "matplotlib.lines.Line2D" in executed
    assert python_reprs(page) == []
    assert python_reprs("<pre>Headline(study='x')</pre>") == ["Headline(study="]
    assert python_reprs("<p>&lt;Axes: xlabel='x'&gt;</p>") == ["&lt;Axes:"]


def test_summary_without_saved_outputs_says_so(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# Title only")])
    page = notebook_to_html(nb, study_dir=tmp_path)
    assert "no headline was saved" in page
    prepared, figures = prepare(nb)
    assert [c.cell_type for c in prepared.cells] == ["markdown", "markdown"]
    assert prepared.cells[1].metadata["neurorad_slot"] == "summary" and figures == []


def test_table_of_contents_needs_two_sections():
    one = '<!--neurorad:toc--><h2 id="A">A<a class="anchor-link" href="#A">¶</a></h2>'
    assert table_of_contents(one) == ""
    two = one + '<h2 id="B">B &amp; C</h2>'
    assert '<a href="#B">B &amp; C</a>' in table_of_contents(two)


def test_run_study_clears_the_previous_headline_before_running(tmp_path, monkeypatch):
    """A rerun that fails before writing its headline must not show the last run's."""
    import neurorad.reports.run as run

    parameters = new_code_cell("output_dir = ''")
    parameters.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[parameters, new_code_cell("raise SystemExit('stops early')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    monkeypatch.setattr(run, "notebook", lambda study: nb)
    monkeypatch.setattr(run, "check_inputs", lambda study, params, cwd: dict(params))
    stale = tmp_path / "reports" / "pet"
    write_headline(Headline("pet", "spearman_rho", "lasso", 0.9, 0.8, 0.95), stale)
    (stale / "key_figure.png").write_bytes(b"old")
    with pytest.raises(Exception, match="stops early"):
        run.run_study("pet", {}, tmp_path / "reports", progress=False, cwd=tmp_path)
    assert not (stale / "headline.json").exists() and not (stale / "key_figure.png").exists()


def test_consecutive_code_cells_without_output_share_one_fold():
    from nbformat.v4 import new_output

    shown = new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1")])
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("a = 1"),
                             new_code_cell("b = 2"), shown, new_code_cell("c = 3")])
    prepared, _ = prepare(nb)
    code = [c for c in prepared.cells if c.cell_type == "code"]
    assert [c.source for c in code] == ["a = 1\n\nb = 2", "print(1)", "c = 3"]
    assert nb.cells[1].source == "a = 1"  # the notebook itself is not changed
