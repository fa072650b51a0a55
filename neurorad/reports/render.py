"""Render an executed study notebook to one self-contained, offline-readable HTML file.

nbconvert's ``lab`` template loads require.js, MathJax and mermaid from a CDN. A clinical
lab often reads reports on machines without internet (or must not leak that a report was
opened), so we render with a template that drops those three blocks: the notebooks use no
widgets, LaTeX or diagrams, and figures are already embedded as base64 PNG. After rendering
the HTML is checked for any remaining external resource and rendering fails if one is found.

Every page also carries a Content-Security-Policy forbidding scripts and remote loads, and
rendering refuses a page with active content (script elements, event handlers,
``javascript:`` links): see :mod:`neurorad.reports.safe`, which also escapes the values
from data that the study notebooks display.
"""
from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import jinja2
import nbformat

from neurorad.reports.safe import active_content, add_content_security_policy

#: The lab template without the three CDN-loaded script blocks, with the report layout of
#: :mod:`neurorad.reports.layout`: the summary in its slot, code inputs folded in
#: ``<details>`` (plain HTML, no script), figures as ``<figure>`` with numbered captions.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style type="text/css">{{ resources.get('neurorad_css', '') }}</style>
{%- endblock html_head_css -%}
{% block markdowncell scoped %}
{%- if cell.metadata.get('neurorad_slot') == 'summary' -%}
{{ resources.get('neurorad_summary', '') }}
{%- else -%}{{ super() }}{%- endif -%}
{% endblock markdowncell %}
{% block input_group -%}
{%- if resources.get('neurorad_fold_code') -%}
<details class="nr-code"><summary>Show code</summary>
{{ super() }}
</details>
{%- else -%}{{ super() }}{%- endif -%}
{% endblock input_group %}
{% block data_png scoped %}
{%- set fig = output.metadata.get('neurorad') or {} -%}
{%- if fig.get('number') -%}
<div class="jp-RenderedImage jp-OutputArea-output">
<figure class="nr-figure" id="figure-{{ fig.number }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" \
alt="Figure {{ fig.number }}: {{ fig.caption | escape_html }}">
<figcaption><strong>Figure {{ fig.number }}.</strong> {{ fig.caption | escape_html }}\
</figcaption>
</figure>
</div>
{%- else -%}{{ super() }}{%- endif -%}
{% endblock data_png %}
"""

#: Layout of the report pages (after the lab style sheet, so it wins): a readable column,
#: the summary box, folded code, figures and tables that shrink or scroll on a phone.
REPORT_CSS = """
body.jp-Notebook { max-width: 70rem; margin: 0 auto; padding: 1rem 1.5rem; }
.jp-Cell { padding: 0.2rem 0; }
.nr-summary, .nr-toc, figure.nr-figure figcaption { font-family: var(--jp-content-font-family);
  line-height: var(--jp-content-line-height, 1.6); }
.nr-summary, .nr-toc { font-size: var(--jp-content-font-size1, 14px); }
@media (min-width: 900px) { .nr-toc-long > ol { columns: 2; column-gap: 2.5rem; } }
.nr-toc li { break-inside: avoid; }
.nr-summary { border: 1px solid #b9c9dc; background: #f4f7fb; border-radius: 6px;
  padding: 0.6rem 1.1rem 0.9rem; margin: 0.8rem 0 1.2rem; }
.nr-summary h2, .nr-toc h2 { margin-top: 0.4rem; font-size: 1.25rem; }
.nr-summary-table { border-collapse: collapse; }
.nr-summary-table th { text-align: left; vertical-align: top; padding: 0.25rem 1rem 0.25rem 0;
  white-space: nowrap; color: #334; }
.nr-summary-table td { padding: 0.25rem 0; }
.nr-estimate { font-size: 1.12em; }
.nr-toc { margin: 0 0 1.5rem; }
.nr-toc ol { margin: 0.2rem 0; padding-left: 1.6rem; }
figure.nr-figure { margin: 0.6rem 0 1.2rem; }
figure.nr-figure img { max-width: 100%; height: auto; }
figure.nr-figure figcaption { font-size: 0.92em; color: #222; max-width: 48rem; margin-top: 0.3rem; }
.nr-key-figure img { max-width: min(100%, 40rem); }
details.nr-code { margin: 0.1rem 0; }
details.nr-code > summary { cursor: pointer; color: #667; font-size: 0.8rem; width: max-content;
  font-family: var(--jp-ui-font-family); }
details.nr-code[open] > summary { margin-bottom: 0.3rem; }
.jp-OutputArea-output, .nr-table-wrap { overflow-x: auto; max-width: 100%; }
table.nr-table { border-collapse: collapse; margin: 0.4rem 0; font-size: 0.9em; }
table.nr-table caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.3rem 0; }
.jp-RenderedHTMLCommon table.nr-table th, .jp-RenderedHTMLCommon table.nr-table td {
  border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left;
  vertical-align: top; }
.jp-RenderedHTMLCommon table.nr-table td { white-space: nowrap; }
.jp-RenderedHTMLCommon table.nr-table thead th { border-bottom: 2px solid #999; }
@media (max-width: 640px) {
  body.jp-Notebook { padding: 0.5rem 0.7rem; }
  .jp-RenderedHTMLCommon h1 { font-size: 1.6rem; }
  .nr-summary { padding: 0.4rem 0.7rem 0.7rem; }
  .nr-summary-table th, .nr-summary-table td { display: block; padding: 0.1rem 0; }
  .nr-summary-table th { padding-top: 0.5rem; white-space: normal; }
}
"""

# Anything the browser would fetch from another host when the page is opened.
_EXTERNAL_PATTERNS = [
    re.compile(r"<script[^>]*\ssrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<link[^>]*\shref\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<img[^>]*\ssrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<iframe[^>]*\ssrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"@import\s+[\"'](?:https?:)?//[^\"')\s]+", re.I),  # url(...) form below
    re.compile(r"url\(\s*[\"']?(?:https?:)?//[^\"')\s]+", re.I),
    re.compile(r"import\(\s*[\"'](?:https?:)?//[^\"']+", re.I),
]


def external_resources(html: str) -> list[str]:
    """Every reference in ``html`` that a browser would load from the network.

    Plain hyperlinks (``<a href=...>``) are not resources (nothing is fetched until the
    reader clicks), so they are allowed.
    """
    found = []
    for pattern in _EXTERNAL_PATTERNS:
        found.extend(m.group(0) for m in pattern.finditer(html))
    return found


def _exporter(hide_code: bool):
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"neurorad_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="neurorad_offline.html.j2",
        embed_images=True,
    )
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def notebook_to_html(notebook: nbformat.NotebookNode, *, hide_code: bool = False,
                     title: str | None = None, study_dir: str | os.PathLike | None = None,
                     entry=None) -> str:
    """HTML text of an (executed) notebook laid out as a report, without external resources.

    The report opens with the title, the summary (:mod:`neurorad.reports.summary`, from
    the saved outputs in ``study_dir``) and a table of contents; code inputs are folded in
    ``<details>`` elements (closed; no script needed to open them); figures carry numbered
    captions; results that are only a Python ``repr`` are left out
    (:func:`neurorad.reports.layout.prepare`).

    Parameters
    ----------
    notebook : nbformat.NotebookNode
    hide_code : bool
        Leave out code cells' input entirely (outputs and prose stay) instead of folding it.
    title : str, optional
        The page title (default: the notebook's own).
    study_dir : path, optional
        The study's output folder (``headline.json``, ``key_figure.png``); without it the
        summary says that no headline was saved.
    entry : object, optional
        The study's registry entry (``title``, ``question``) for the summary.

    Raises
    ------
    RuntimeError
        If the rendered page still references a network resource or holds active content
        (:func:`neurorad.reports.safe.active_content`: a value from data that reached the page
        unescaped).
    """
    from types import SimpleNamespace

    from neurorad.reports import layout, summary

    notebook, figures = layout.prepare(notebook)
    if title:
        notebook.metadata["title"] = title
    head = summary.read_outputs(study_dir) if study_dir is not None else None
    key = layout.key_figure(figures)
    if key is not None:
        key = summary.KeyFigure(base64.b64decode(key.png_base64), key.caption, key.number)
    elif study_dir is not None:
        key = summary.read_key_figure(study_dir)
    entry = entry or SimpleNamespace(title=title or notebook.metadata.get("title", ""))
    resources = {"neurorad_summary": summary.summary_html(entry, head, key),
                 "neurorad_fold_code": not hide_code, "neurorad_css": REPORT_CSS}
    html, _ = _exporter(hide_code).from_notebook_node(notebook, resources=resources)
    html = layout.add_toc(html)
    remaining = external_resources(html)
    if remaining:
        raise RuntimeError(
            "rendered report would load resources from the network: "
            + "; ".join(remaining[:5]))
    active = active_content(html)
    if active:
        raise RuntimeError("rendered report would hold active content (refusing to write "
                           "it): " + "; ".join(active[:5]))
    return add_content_security_policy(html)


def study_outputs_dir(notebook_path: str | os.PathLike) -> Path:
    """Folder holding a study run's saved outputs (``headline.json``, ``key_figure.png``).

    The executed notebook's ``output_dir`` parameter, as papermill recorded it, when it is an
    absolute path (``run_study`` makes it one); otherwise the notebook's own folder, which is
    where ``run_study`` puts both by default.
    """
    notebook_path = Path(notebook_path)
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
        given = notebook.metadata.get("papermill", {}).get("parameters", {}).get("output_dir")
    except (OSError, ValueError):
        given = None
    if isinstance(given, str) and Path(given).is_absolute():
        return Path(given)
    return notebook_path.parent


def render_html(notebook_path: str | os.PathLike, html_path: str | os.PathLike, *,
                hide_code: bool = False, title: str | None = None, entry=None) -> Path:
    """Render the executed notebook at ``notebook_path`` into ``html_path``.

    The study's saved outputs (headline, key figure) are read from the run's ``output_dir``
    (:func:`study_outputs_dir`). Returns the HTML path. Raises FileNotFoundError naming
    the notebook when it is missing (run ``neurorad run-study`` first).
    """
    notebook_path = Path(notebook_path)
    if not notebook_path.is_file():
        raise FileNotFoundError(
            f"{notebook_path}: executed notebook not found; run `neurorad run-study` first")
    notebook = nbformat.read(notebook_path, as_version=4)
    html = notebook_to_html(notebook, hide_code=hide_code, title=title,
                            study_dir=study_outputs_dir(notebook_path), entry=entry)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    return html_path
