"""The summary that opens a study report and the study's card on the index page.

Both are built from two things only, so a new study gets them without code of its own:

- the study's **registry entry** (title, the question it asks), passed as ``entry``: any
  object with ``title`` and optionally ``question`` attributes;
- the study's **saved outputs** in its output folder: ``headline.json`` (written by
  ``write_headline``: grouped estimate and interval, leaky estimate, published value,
  permutation p, cohort) and ``key_figure.png``/``key_figure.json`` (written by
  :func:`neurorad.reports.figures.show_figure` with ``key=True``).

Every text that comes from data is escaped here: the HTML is inserted verbatim.
"""
from __future__ import annotations

import base64
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from neurorad.reports.figures import KEY_FIGURE, KEY_FIGURE_META
from neurorad.reports.format import (format_interval, format_number, format_p, metric_label,
                                     model_label)
from neurorad.reports.safe import html_text as _e
from neurorad.studies.headline import HEADLINE_FILE

#: Where the table of contents goes (replaced after rendering, when the headings are known).
TOC_MARK = "<!--neurorad:toc-->"


@dataclass
class KeyFigure:
    """The key figure of a report: PNG bytes, caption and (in a report) its number."""

    png: bytes
    caption: str
    number: int | None = None

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _real(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def read_outputs(study_dir: str | os.PathLike) -> dict | None:
    """The saved ``headline.json`` of a study as a dict (None when it is missing)."""
    path = Path(study_dir) / HEADLINE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def read_key_figure(study_dir: str | os.PathLike) -> KeyFigure | None:
    """The key figure saved in ``study_dir`` (None when the notebook saved none)."""
    png = Path(study_dir) / KEY_FIGURE
    if not png.is_file():
        return None
    meta = Path(study_dir) / KEY_FIGURE_META
    caption = (json.loads(meta.read_text(encoding="utf-8")).get("caption", "")
               if meta.is_file() else "")
    return KeyFigure(png.read_bytes(), caption)


def clear_outputs(study_dir: str | os.PathLike) -> list[Path]:
    """Remove the saved headline and key figure of a previous run from ``study_dir``, so a
    run that stops early shows "no headline was saved" instead of the old numbers.
    Returns the files removed."""
    removed = []
    for name in (HEADLINE_FILE, KEY_FIGURE, KEY_FIGURE_META):
        path = Path(study_dir) / name
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def metric_phrase(head: dict) -> str:
    """'ROC AUC of SVM (outcome, class glioblastoma)' from a headline dict (not escaped)."""
    what = f"{metric_label(head.get('metric', ''))} of {model_label(head.get('model', ''))}"
    context = [str(x).replace("_", " ") for x in (head.get("task"), head.get("target_class"))
               if x]
    if len(context) == 2:
        context = [context[0], f"class {context[1]}"]
    return what + (f" ({', '.join(context)})" if context else "")


def headline_text(head: dict) -> str:
    """``0.712 [0.523; 0.881]`` (grouped estimate and interval)."""
    return format_interval(_real(head.get("estimate")), _real(head.get("ci_low")),
                           _real(head.get("ci_high")))


def published_text(head: dict) -> str:
    """The published number with its interval when one was published, or 'none published'."""
    value = _real(head.get("published"))
    if value is None:
        return "none published"
    text = format_interval(value, _real(head.get("published_ci_low")),
                           _real(head.get("published_ci_high")))
    return text + (f", {head['published_text']}" if head.get("published_text") else "")


def chance_verdict(head: dict) -> str:
    """'the interval excludes chance (0.5)' / 'contains' / '' when chance is unknown."""
    chance, low, high = (_real(head.get(k)) for k in ("chance", "ci_low", "ci_high"))
    if chance is None or low is None or high is None:
        return ""
    inside = low <= chance <= high
    return (f"the interval {'contains' if inside else 'excludes'} chance "
            f"({chance:g})")


def leaky_text(head: dict) -> str:
    """The leaky-vs-grouped contrast in words."""
    leaky, grouped = _real(head.get("leaky")), _real(head.get("estimate"))
    if leaky is None:
        return ("not evaluated: " + head["leaky_note"]) if head.get("leaky_note") else \
            "not evaluated in this study"
    gap = leaky - grouped if grouped is not None else None
    text = (f"{format_number(leaky)} with ROI-level (leaky) splits versus "
            f"{format_number(grouped)} grouped by patient")
    if gap is not None:
        text += f" (difference {gap:+.3f})"
    return text


def permutation_text(head: dict) -> str:
    """'p = 0.034 over 99 label permutations (...)' or 'not run'.

    A permutation p cannot go below ``1 / (n + 1)``; at that floor the text says so.
    """
    n = head.get("n_permutations") or 0
    p = _real(head.get("permutation_p"))
    if not n or p is None:
        return "not run"
    floor = 1.0 / (n + 1)
    where = f"{n} label permutations of the grouped validation"
    if p <= floor * (1 + 1e-9):
        return f"p = {floor:.3f}, the smallest possible with {where}"
    return f"p = {format_p(p)} over {where}"


def _row(label: str, value_html: str) -> str:
    return f"<tr><th scope=\"row\">{_e(label)}</th><td>{value_html}</td></tr>"


def summary_html(entry, head: dict | None, key_figure: KeyFigure | None = None, *,
                 toc: bool = True) -> str:
    """The summary section that opens a study report.

    Parameters
    ----------
    entry : object
        Registry entry: ``title`` and optionally ``question``.
    head : dict or None
        The saved headline (:func:`read_outputs`); None when the run did not get that far.
    key_figure : KeyFigure, optional
        Shown under the table; its number links to the figure in the report.
    toc : bool
        Leave the mark where :func:`neurorad.reports.layout.add_toc` puts the contents.
    """
    rows = []
    question = getattr(entry, "question", "") or (head or {}).get("question", "")
    if question:
        rows.append(_row("Question", _e(question)))
    if head is None:
        rows.append(_row("Result", "<em>no headline was saved: the run stopped before the "
                         "end (see the report below)</em>"))
    else:
        if head.get("cohort"):
            rows.append(_row("Cohort", _e(head["cohort"])))
        verdict = chance_verdict(head)
        rows.append(_row(
            "Headline",
            f"{_e(metric_phrase(head))}, validated grouped by patient: "
            f"<strong class=\"nr-estimate\">{_e(headline_text(head))}</strong>"
            + (f"; {_e(verdict)}" if verdict else "")))
        rows.append(_row("Published", _e(published_text(head))))
        rows.append(_row("Leaky vs grouped", _e(leaky_text(head))))
        rows.append(_row("Permutation control", _e(permutation_text(head))))
        if head.get("notes"):
            rows.append(_row("Run", _e(head["notes"])))
    parts = ['<section class="nr-summary" aria-labelledby="nr-summary-title">',
             '<h2 id="nr-summary-title">Summary</h2>',
             '<table class="nr-summary-table">', *rows, "</table>"]
    if key_figure is not None:
        label = f"Figure {key_figure.number}" if key_figure.number else "Key figure"
        ref = (f'<a href="#figure-{key_figure.number}">{_e(label)}.</a>'
               if key_figure.number else f"{_e(label)}.")
        parts += ['<figure class="nr-figure nr-key-figure">',
                  f'<img src="{key_figure.data_uri()}" alt="{_e(label)}: '
                  f'{_e(key_figure.caption)}">',
                  f"<figcaption><strong>{ref}</strong> {_e(key_figure.caption)}</figcaption>",
                  "</figure>"]
    parts.append("</section>")
    if toc:
        parts.append(TOC_MARK)
    return "\n".join(parts)


def thumbnail(png: bytes, width: int = 480) -> bytes:
    """A PNG at most ``width`` pixels across: ``png`` shrunk by the smallest integer factor
    that fits, each output pixel the mean of a factor x factor block (box filter; smaller
    images are returned unchanged)."""
    import matplotlib.image as mpimg
    import numpy as np

    image = mpimg.imread(io.BytesIO(png), format="png")
    factor = -(-image.shape[1] // width)
    if factor <= 1:
        return png
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:h, :w].reshape(h // factor, factor, w // factor, factor, -1)
    small = blocks.mean(axis=(1, 3))
    small = small[..., 0] if small.shape[-1] == 1 else small  # grey-level PNG
    out = io.BytesIO()
    mpimg.imsave(out, np.clip(small, 0, 1), format="png")
    return out.getvalue()


def card_html(study: str, entry, head: dict | None, key_figure: KeyFigure | None, *,
              report_exists: bool) -> str:
    """One study's card on the index page: title (linked to the report), question,
    headline with interval, published value, leaky contrast, permutation p, thumbnail."""
    title = _e(entry.title)
    link = (f'<a href="{_e(study)}.html">{title}</a>' if report_exists
            else f"{title} <em>(report not rendered)</em>")
    parts = [f'<article class="nr-card" id="study-{_e(study)}">', f"<h2>{link}</h2>"]
    question = getattr(entry, "question", "") or (head or {}).get("question", "")
    if question:
        parts.append(f'<p class="nr-question">{_e(question)}</p>')
    if key_figure is not None:
        thumb = KeyFigure(thumbnail(key_figure.png), key_figure.caption)
        parts.append(f'<img class="nr-thumb" src="{thumb.data_uri()}" '
                     f'alt="{_e(key_figure.caption or "key figure")}">')
    if head is None:
        parts.append("<p><em>not run yet</em></p>")
    else:
        verdict = chance_verdict(head)
        parts += [
            '<dl class="nr-card-numbers">',
            f"<dt>{_e(metric_phrase(head))}, grouped</dt>",
            f'<dd><strong class="nr-estimate">{_e(headline_text(head))}</strong>'
            + (f"<br><small>{_e(verdict)}</small>" if verdict else "") + "</dd>",
            f"<dt>Published</dt><dd>{_e(published_text(head))}</dd>",
            f"<dt>Leaky vs grouped</dt><dd>{_e(leaky_text(head))}</dd>",
            f"<dt>Permutation control</dt><dd>{_e(permutation_text(head))}</dd>",
            "</dl>",
        ]
        if head.get("notes"):
            parts.append(f'<p class="nr-notes">{_e(head["notes"])}</p>')
    parts.append("</article>")
    return "\n".join(parts)
