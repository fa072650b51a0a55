"""Lay an executed study notebook out as a report: summary first, figures numbered, no reprs.

:func:`prepare` works on a copy of the notebook before nbconvert renders it:

- the first Markdown cell is split after its ``# Title`` line and an empty *summary slot*
  cell is put between the two halves (the template fills the slot with
  :func:`neurorad.reports.summary.summary_html`);
- every figure output is numbered in reading order; its caption comes from the output's
  metadata (:func:`neurorad.reports.figures.show_figure`), or else from the nearest heading
  above it, so no figure goes out without ``Figure N.``;
- consecutive code cells without outputs (parameters, imports) become one fold;
- results that are only a Python ``repr`` (the ``text/plain`` value of a cell's last
  expression: ``Headline(...)``, ``<Axes: ...>``, ``[<matplotlib.lines.Line2D at 0x...>]``)
  are dropped: a reader cannot use them.

After rendering, :func:`add_toc` writes the table of contents from the headings nbconvert
gave ids to, and :func:`python_reprs` finds any repr that still reached the page (tests).
"""
from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass

from neurorad.reports.figures import METADATA_KEY
from neurorad.reports.safe import html_text
from neurorad.reports.summary import TOC_MARK

#: Cell-metadata key of the summary slot.
SLOT_KEY = "neurorad_slot"

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


@dataclass
class FigureRef:
    """A figure of the report: number, caption, whether it is the key figure, PNG (base64)."""

    number: int
    caption: str
    key: bool
    png_base64: str


def _markdown_headings(source: str) -> list[str]:
    return [m.group(2) for m in _HEADING.finditer(source)]


def _is_repr_only(output) -> bool:
    return (output.get("output_type") == "execute_result"
            and set(output.get("data", {})) <= {"text/plain"})


def _split_title(nb) -> None:
    """Put the summary slot after the title line of the first Markdown cell."""
    from nbformat.v4 import new_markdown_cell

    slot = new_markdown_cell("")
    slot.metadata[SLOT_KEY] = "summary"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.lstrip().splitlines()
        if lines and re.match(r"#\s", lines[0]):
            rest = "\n".join(lines[1:]).strip()
            cell.source = lines[0]
            nb.cells.insert(i + 1, slot)
            if rest:
                after = new_markdown_cell(rest)
                nb.cells.insert(i + 2, after)
            return
        break
    nb.cells.insert(0, slot)


def prepare(notebook, *, summary: bool = True) -> tuple[object, list[FigureRef]]:
    """A report-ready copy of ``notebook`` and its figures in order (see module docstring)."""
    nb = copy.deepcopy(notebook)
    figures: list[FigureRef] = []
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _markdown_headings(cell.source)
            heading = found[-1] if found else heading
            continue
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if _is_repr_only(output):
                continue
            data = output.get("data", {})
            if "text/markdown" in data:
                found = _markdown_headings(str(data["text/markdown"]))
                heading = found[-1] if found else heading
            if "image/png" in data:
                meta = dict(output.get("metadata", {}).get(METADATA_KEY) or {})
                caption = str(meta.get("caption") or heading or "Figure")
                number = len(figures) + 1
                output.setdefault("metadata", {})[METADATA_KEY] = {
                    **meta, "caption": caption, "number": number}
                figures.append(FigureRef(number, caption, bool(meta.get("key")),
                                         str(data["image/png"]).replace("\n", "")))
            kept.append(output)
        cell.outputs = kept
    nb.cells = _merge_silent_code(nb.cells)
    if summary:
        _split_title(nb)
    return nb, figures


def _merge_silent_code(cells) -> list:
    """Consecutive code cells without outputs (parameters, imports, set-up) joined into one,
    so the report shows one "Show code" fold for them instead of a stack of folds."""
    merged = []
    for cell in cells:
        silent = cell.cell_type == "code" and not cell.get("outputs")
        previous = merged[-1] if merged else None
        if (silent and previous is not None and previous.cell_type == "code"
                and not previous.get("outputs")):
            previous.source = previous.source.rstrip("\n") + "\n\n" + cell.source
            continue
        merged.append(cell)
    return merged


def key_figure(figures: list[FigureRef]) -> FigureRef | None:
    """The figure marked key (the first one when several are), else None."""
    return next((f for f in figures if f.key), None)


_RENDERED_HEADING = re.compile(r'<h([23])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def table_of_contents(page: str) -> str:
    """An ``<nav>`` listing the page's level-2 headings with their level-3 headings nested,
    linked by the ids nbconvert gave them ('' when there are fewer than two)."""
    start = page.find(TOC_MARK)
    body = page[start:] if start >= 0 else page
    entries = []
    for level, ident, inner in _RENDERED_HEADING.findall(body):
        inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)
        text = html.unescape(_TAG.sub("", inner)).strip()
        if text:
            entries.append((int(level), ident, text))
    if len([e for e in entries if e[0] == 2]) < 2:
        return ""
    long = " nr-toc-long" if len(entries) > 8 else ""  # two columns on wide screens
    out = [f'<nav class="nr-toc{long}" aria-labelledby="nr-toc-title">',
           '<h2 id="nr-toc-title">Contents</h2>', "<ol>"]
    open_sub = False
    for level, ident, text in entries:
        link = f'<a href="#{ident}">{html_text(text)}</a>'
        if level == 2:
            if open_sub:
                out.append("</ol></li>")
                open_sub = False
            elif len(out) > 3:
                out.append("</li>")
            out.append(f"<li>{link}")
        else:
            if not open_sub:
                out.append("<ol>")
                open_sub = True
            out.append(f"<li>{link}</li>")
    out.append("</ol></li>" if open_sub else "</li>")
    out += ["</ol>", "</nav>"]
    return "\n".join(out)


def add_toc(page: str) -> str:
    """``page`` with its table of contents in place of the summary's mark."""
    if TOC_MARK not in page:
        return page
    return page.replace(TOC_MARK, table_of_contents(page), 1)


_REPRS = [
    re.compile(r"\b[A-Z]\w*\((?:\w+=)"),                     # dataclass: Headline(study=
    re.compile(r"&lt;[\w.]+(?: object)? at 0x[0-9a-f]+&gt;"),  # <Foo object at 0x7f...>
    re.compile(r"&lt;(?:Figure size|Axes:|matplotlib\.)"),     # matplotlib results
    re.compile(r"\bdtype: \w+"),                              # a printed Series
]
_DETAILS = re.compile(r"<details\b.*?</details>", re.S | re.I)
_STYLE = re.compile(r"<style\b.*?</style>", re.S | re.I)


def python_reprs(page: str) -> list[str]:
    """Python reprs visible on a rendered page (folded code and style sheets ignored)."""
    visible = _STYLE.sub("", _DETAILS.sub("", page))
    found = []
    for pattern in _REPRS:
        found.extend(m.group(0) for m in pattern.finditer(visible))
    return found
