"""The index page linking the four study reports with their headline metrics.

Each notebook ends by writing ``headline.json`` into its report folder
(:func:`neurorad.studies.headline.write_headline`):
the grouped-validation headline metric with its interval, the leaky estimate beside it, and
the published number it is compared with. :func:`build_index` reads those files, so the index
always shows what the last run actually measured.
"""
from __future__ import annotations

import html
import math
import os
import time
from pathlib import Path

from neurorad.reports.safe import content_security_policy_meta
from neurorad.studies import STUDIES
from neurorad.studies.headline import read_headline


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "&ndash;"
    return f"{value:.3f}"


def _row(study: str, reports_dir: Path) -> str:
    title = html.escape(STUDIES[study].title)
    report = reports_dir / f"{study}.html"
    link = (f'<a href="{study}.html">{title}</a>' if report.is_file()
            else f"{title} <em>(report not rendered)</em>")
    head = read_headline(reports_dir / study)
    if head is None:
        return f"<tr><td>{link}</td><td colspan='5'><em>not run yet</em></td></tr>"
    what = " / ".join(html.escape(x) for x in (head.task, head.target_class, head.model,
                                               head.metric) if x)
    grouped = f"{_fmt(head.estimate)} [{_fmt(head.ci_low)}; {_fmt(head.ci_high)}]"
    chance = head.contains_chance
    verdict = "" if chance is None else (" (interval contains chance)" if chance
                                         else " (interval excludes chance)")
    published = (_fmt(head.published) if head.published is not None else "none published")
    if head.published_text:
        published += f"<br><small>{html.escape(head.published_text)}</small>"
    notes = html.escape(head.notes)
    return (f"<tr><td>{link}</td><td>{what}</td><td>{grouped}{verdict}</td>"
            f"<td>{_fmt(head.leaky)}</td><td>{published}</td><td>{notes}</td></tr>")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head>{csp}<meta charset="utf-8"><title>neurorad study reports</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 75em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #bbb; padding: 0.4em 0.6em; vertical-align: top; }}
th {{ background: #eee; }}
</style></head>
<body>
<h1>neurorad study reports</h1>
<p>Reproductions of four neuro-radiomics studies. The headline metric is estimated with
validation grouped by subject (all ROIs of a subject in the same fold), with its 95%
interval; the leaky column splits at ROI level, as the original studies did, and shows how
much of a published number such splitting can explain.</p>
<table>
<tr><th>Study</th><th>Headline</th><th>Grouped estimate [95% CI]</th><th>Leaky</th>
<th>Published</th><th>Notes</th></tr>
{rows}
</table>
<p><small>Generated {when} UTC.</small></p>
</body></html>
"""


def build_index(reports_dir: str | os.PathLike, studies=tuple(STUDIES)) -> Path:
    """Write ``<reports_dir>/index.html`` linking every study report with its headline."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    rows = "\n".join(_row(s, reports_dir) for s in studies)
    page = _PAGE.format(csp=content_security_policy_meta(), rows=rows, when=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
    path = reports_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
