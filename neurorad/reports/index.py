"""The index page: one card per study with its headline metrics and key figure.

Each notebook ends by writing ``headline.json`` (:func:`neurorad.studies.headline.write_headline`)
and its key figure (``key_figure.png``, :func:`neurorad.reports.figures.show_figure`) into its
report folder. :func:`build_index` reads those files and the study's registry entry, so the
index always shows what the last run actually measured, and a new study gets its card
without code of its own (:func:`neurorad.reports.summary.card_html`).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from neurorad.reports.safe import content_security_policy_meta
from neurorad.studies import STUDIES


def study_card(study: str, reports_dir: str | os.PathLike) -> str:
    """The index card of ``study`` from the saved outputs of its executed notebook in
    ``<reports_dir>/<study>/`` (the run's ``output_dir``, by default that same folder)."""
    from neurorad.reports.render import study_outputs_dir
    from neurorad.reports.summary import card_html, read_key_figure, read_outputs

    reports_dir = Path(reports_dir)
    study_dir = study_outputs_dir(reports_dir / study / f"{STUDIES[study].notebook}.ipynb")
    return card_html(study, STUDIES[study], read_outputs(study_dir), read_key_figure(study_dir),
                     report_exists=(reports_dir / f"{study}.html").is_file())


_PAGE = """<!DOCTYPE html>
<html lang="en"><head>{csp}<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>neurorad study reports</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
  padding: 1rem 1.5rem; max-width: 80rem; color: #1b1b1b; line-height: 1.4; }}
h1 {{ font-size: 1.7rem; margin-bottom: 0.3rem; }}
.nr-cards {{ display: grid; gap: 1.1rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }}
.nr-card {{ border: 1px solid #c9d3de; border-radius: 8px; padding: 0.8rem 1rem 1rem;
  background: #fbfcfe; display: flex; flex-direction: column; min-width: 0; }}
.nr-card h2 {{ font-size: 1.1rem; margin: 0.1rem 0 0.4rem; }}
.nr-question {{ margin: 0 0 0.5rem; color: #333; }}
.nr-thumb {{ width: 100%; height: auto; border: 1px solid #e3e7ec; background: #fff;
  margin-bottom: 0.5rem; }}
.nr-card-numbers {{ margin: 0; }}
.nr-card-numbers dt {{ font-weight: 600; font-size: 0.85rem; color: #445; margin-top: 0.4rem; }}
.nr-card-numbers dd {{ margin: 0.05rem 0 0; }}
.nr-estimate {{ font-size: 1.15rem; }}
.nr-notes {{ font-size: 0.85rem; color: #555; margin: 0.5rem 0 0; }}
</style></head>
<body>
<h1>neurorad study reports</h1>
<p>Reproductions of published neuro-radiomics studies. Each headline metric is estimated with
validation grouped by subject (all ROIs of a subject in the same fold), with its 95%
interval, next to the number the study published. The leaky estimate splits at ROI level, as
the original studies did, and shows how much of a published number such splitting can
explain; the label-permutation p-value tests the grouped result against chance.</p>
<div class="nr-cards">
{cards}
</div>
<p><small>Generated {when} UTC.</small></p>
</body></html>
"""


def build_index(reports_dir: str | os.PathLike, studies=tuple(STUDIES)) -> Path:
    """Write ``<reports_dir>/index.html``: one card per study (:func:`study_card`) with its
    headline, interval, published value and key-figure thumbnail, linking its report."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    cards = "\n".join(study_card(s, reports_dir) for s in studies)
    page = _PAGE.format(csp=content_security_policy_meta(), cards=cards,
                        when=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
    path = reports_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
