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

import os
import re
from pathlib import Path

import jinja2
import nbformat

from neurorad.reports.safe import active_content, add_content_security_policy

#: The lab template without the three CDN-loaded script blocks.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
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
                     title: str | None = None) -> str:
    """HTML text of an (executed) notebook, without external resources.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
    hide_code : bool
        Leave out code cells' input (outputs and prose stay): a report for readers who do
        not need the code.
    title : str, optional
        The page title (default: the notebook's own).

    Raises
    ------
    RuntimeError
        If the rendered page still references a network resource or holds active content
        (:func:`neurorad.reports.safe.active_content`: a value from data that reached the page
        unescaped).
    """
    if title:
        notebook.metadata["title"] = title
    html, _ = _exporter(hide_code).from_notebook_node(notebook)
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


def render_html(notebook_path: str | os.PathLike, html_path: str | os.PathLike, *,
                hide_code: bool = False, title: str | None = None) -> Path:
    """Render the executed notebook at ``notebook_path`` into ``html_path``.

    Returns the HTML path. Raises FileNotFoundError naming the notebook when it is missing
    (run ``neurorad run-study`` first).
    """
    notebook_path = Path(notebook_path)
    if not notebook_path.is_file():
        raise FileNotFoundError(
            f"{notebook_path}: executed notebook not found; run `neurorad run-study` first")
    notebook = nbformat.read(notebook_path, as_version=4)
    html = notebook_to_html(notebook, hide_code=hide_code, title=title)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    return html_path
