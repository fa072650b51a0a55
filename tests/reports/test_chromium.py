"""A report and the index page as a browser draws them: headless Chromium at 1280 px and at a
phone's 390 px. Nothing may stick out sideways (wide tables scroll inside their own box), the
screenshots are kept as test artefacts, and the page's own Content-Security-Policy stays on.

Skipped where no Chromium is installed (Debian: ``apt-get install chromium``). Screenshots go
to ``$NEURORAD_TEST_ARTEFACTS/chromium`` when that variable is set, else to the test's
temporary folder.
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from neurorad.reports.index import build_index
from neurorad.studies.headline import Headline, write_headline
from neurorad.reports.render import render_html

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed")

WIDTHS = {"desktop": 1280, "phone": 390}

# Loads the page in a frame of the given width and writes into the harness's own DOM how wide
# the page's content is and which visible elements reach past the frame's right edge
# (Chromium's --dump-dom prints it). Content that scrolls inside its own box is allowed.
HARNESS = """<!DOCTYPE html><html><body>
<iframe id="f" src="{page}" style="width:{width}px;height:900px;border:0"></iframe>
<script>
document.getElementById('f').onload = function () {{
  var doc = this.contentDocument, root = doc.documentElement, wide = [];
  doc.querySelectorAll('body *').forEach(function (e) {{
    if (e.closest('details:not([open]) > :not(summary), .jp-OutputArea-output, .nr-table-wrap')) return;
    var r = e.getBoundingClientRect();
    if (r.width && r.right > root.clientWidth + 1) wide.push(e.tagName + '.' + e.className);
  }});
  document.body.setAttribute('data-result', JSON.stringify({{
    scroll: root.scrollWidth, client: root.clientWidth, wide: wide.slice(0, 5),
    csp: !!doc.querySelector('meta[http-equiv="Content-Security-Policy"]') }}));
}};
</script></body></html>
"""


def _chromium(*args: str, timeout: int = 120) -> str:
    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                             "--disable-background-networking", "--hide-scrollbars",
                             "--no-first-run", *args], capture_output=True, text=True,
                            timeout=timeout)
    return result.stdout


def _figure_png(width_in: float = 7.0) -> str:
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from neurorad.reports.figures import figure_png

    fig, ax = plt.subplots(figsize=(width_in, 3.2), dpi=100)
    ax.bar(["null", "LASSO LR", "SVM", "RF"], [0.5, 0.7, 0.72, 0.68], color="#1f77b4")
    ax.axhline(0.5, ls=":", color="grey")
    ax.set(ylabel="ROC AUC", title="grouped by patient")
    png = figure_png(fig)
    plt.close(fig)
    return base64.b64encode(png).decode("ascii")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A rendered study report (summary, key figure, a 14-column table, long log line) and
    the index with one run and several not-run studies."""
    root = tmp_path_factory.mktemp("chromium")
    study = root / "dai"
    study.mkdir()
    png = _figure_png()
    figure = new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                        metadata={"neurorad": {"caption": "ROC AUC of each model, grouped "
                                               "by patient (blue) and split by ROI (red).",
                                               "key": True}})
    wide = "<table class='dataframe'><tr>" + "".join(
        f"<th>discretisation_fbn{2 ** i}</th>" for i in range(14)) + "</tr><tr>" + "".join(
        f"<td>0.{i:03d} [0.100; 0.900]</td>" for i in range(14)) + "</tr></table>"
    nb = new_notebook(cells=[
        new_markdown_cell("# Diffuse axonal injury: diffusion kurtosis MRI\n\n"
                          "**Published design**: 31 patients and 12 volunteers."),
        new_code_cell("import neurorad  # setup"),
        new_markdown_cell("## Grouped vs leaky validation"),
        new_code_cell("show_figure(...)", outputs=[figure]),
        new_markdown_cell("## Performance versus discretisation level"),
        new_code_cell("display(table)", outputs=[
            new_output("display_data", data={"text/html": wide, "text/plain": "table"}),
            new_output("stream", name="stdout", text="x" * 400 + "\n")]),
        new_markdown_cell("## Provenance\n- **Parameters**: `maps=['FA', 'MK']`"),
    ])
    nb.cells[1].outputs = []
    import nbformat

    nbformat.write(nb, study / "03_dai_dki.ipynb")
    (study / "key_figure.png").write_bytes(base64.b64decode(png))
    write_headline(Headline(study="dai", metric="roc_auc", model="svm", estimate=0.7123,
                            ci_low=0.5234, ci_high=0.8811, task="outcome", leaky=0.9712,
                            published=0.997, published_text="journal", chance=0.5,
                            permutation_p=0.01, n_permutations=99,
                            cohort="43 subjects (31 patients, 12 volunteers), 15 ROIs each "
                                   "on 10 DKI maps"), study)
    render_html(study / "03_dai_dki.ipynb", root / "dai.html",
                title="Diffuse axonal injury: diffusion kurtosis MRI")
    build_index(root)
    return root


def _artefacts(tmp_path: Path) -> Path:
    base = os.environ.get("NEURORAD_TEST_ARTEFACTS")
    out = Path(base) / "chromium" if base else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("page", ["dai.html", "index.html"])
@pytest.mark.parametrize("device", list(WIDTHS))
def test_page_fits_the_viewport_and_is_drawn(pages, page, device, tmp_path):
    import json

    import matplotlib.image as mpimg

    width = WIDTHS[device]
    harness = pages / f"harness_{device}_{page}"
    harness.write_text(HARNESS.format(page=page, width=width), encoding="utf-8")
    dom = _chromium("--allow-file-access-from-files", "--virtual-time-budget=10000",
                    "--dump-dom", harness.as_uri())
    match = re.search(r"data-result=\"([^\"]+)\"", dom)
    assert match, dom[-500:]
    result = json.loads(match.group(1).replace("&quot;", '"'))
    assert result["scroll"] <= result["client"], result   # no sideways scrolling
    assert result["wide"] == [], result
    assert result["csp"], result

    shot = _artefacts(tmp_path) / f"{Path(page).stem}_{device}_{width}px.png"
    _chromium(f"--screenshot={shot}", f"--window-size={width},2200", (pages / page).as_uri())
    image = mpimg.imread(shot)
    assert image.shape[1] == width
    assert image[..., :3].std() > 0.05  # something was drawn, not a blank page
