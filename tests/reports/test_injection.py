"""Names from a hostile manifest reach a rendered report as text, never as markup, and every
page forbids scripts and remote loads (issue 14, finding 1)."""
from __future__ import annotations

import html
from html.parser import HTMLParser

import nbformat
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from IPython.core.formatters import format_display_data
from IPython.display import Markdown
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from neurorad.io.manifest import load_manifest
from neurorad.reports.index import build_index
from neurorad.studies.headline import Headline, write_headline
from neurorad.reports.methods import ValidationDesign, methods_markdown
from neurorad.reports.provenance import collect_provenance, provenance_markdown
from neurorad.reports.render import notebook_to_html, render_html
from neurorad.reports.safe import (CONTENT_SECURITY_POLICY, active_content, markdown_code,
                                   markdown_text)

PAYLOADS = [
    "<script>alert('s')</script>",
    '<img src="y" onerror="alert(\'cls\')">',
    "<svg onload=alert(1)>",
    '<iframe srcdoc="<script>alert(2)</script>"></iframe>',
    "<details open ontoggle=alert(3)>x</details>",
    '<a href="javascript:alert(4)">click</a>',
    "[click me](javascript:alert(5))",
    "![pixel](https://evil.example/p.png)",
    "<https://evil.example/autolink>",
    "$<img src=x onerror=alert(6)>$",
    "``<b>bold</b>``",
    "x\n# heading <script>alert(7)</script>",
]
# Markup a payload would create if it survived; none of it may appear in the page's body.
FORBIDDEN_TAGS = {"script", "svg", "iframe", "details", "b"}


class _Body(HTMLParser):
    """Tags, attributes and text of the page body (where the notebook's content is)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.in_body = True
        elif self.in_body:
            self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self.in_body:
            self.text.append(data)


def _parse(page: str) -> _Body:
    body = _Body()
    body.feed(page)
    return body


def _assert_inert(page: str) -> None:
    body = _parse(page)
    for tag, attrs in body.tags:
        assert tag not in FORBIDDEN_TAGS, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src"):
            value = attrs.get(name) or ""
            assert not value.lower().startswith(("javascript", "https://evil")), (tag, attrs)
        if tag == "img":  # only the report's own embedded figures
            assert attrs.get("src", "").startswith("data:image/png;base64,"), attrs
    text = " ".join(body.text)
    # Each payload is shown: its characters are in the page's text (line breaks as spaces).
    for payload in PAYLOADS:
        assert " ".join(payload.split()) in " ".join(text.split()), payload


def _hostile_manifest(tmp_path):
    """A valid manifest whose every name a report shows is a payload."""
    image = sitk.GetImageFromArray(np.arange(27, dtype=np.float32).reshape(3, 3, 3))
    mask = sitk.GetImageFromArray(np.ones((3, 3, 3), dtype=np.uint8))
    sitk.WriteImage(image, str(tmp_path / "img.nii.gz"))
    sitk.WriteImage(mask, str(tmp_path / "mask.nii.gz"))
    classes = PAYLOADS[:6]
    subjects = [{"id": f"s{i}", "group": f"p{i}",
                 "images": {PAYLOADS[(i + 6) % len(PAYLOADS)].replace("__", "_"): "img.nii.gz"},
                 "mask": "mask.nii.gz", "rois": {PAYLOADS[i % len(PAYLOADS)]: 1},
                 "targets": {"histology": classes[i % len(classes)]}}
                for i in range(12)]
    manifest = {"neurorad_manifest": 1, "study": PAYLOADS[0], "description": PAYLOADS[1],
                "targets": {"histology": {"type": "categorical",
                                          "description": PAYLOADS[2]}},
                "subjects": subjects}
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return path


def _display(obj) -> dict:
    """The output cell IPython's ``display(obj)`` records (its MIME bundle)."""
    data, metadata = format_display_data(obj)
    return new_output("display_data", data=data, metadata=metadata)


def test_report_of_a_hostile_manifest_shows_every_payload_as_text(tmp_path):
    path = _hostile_manifest(tmp_path)
    manifest = load_manifest(path)
    targets = manifest.target_table()
    classes = sorted(targets["histology"].astype(str).unique())
    images = sorted({name for s in manifest.subjects for name in s.images})
    rois = sorted({name for s in manifest.subjects for name in s.rois})
    text = methods_markdown(
        study_sentence=(f"Study {manifest.study} ({manifest.description}): classes "
                        f"{', '.join(classes)}; ROIs {', '.join(rois)}."),
        n_subjects=12, n_groups=12, n_rois=12, images=images,
        settings={"discretisation": [], "families": PAYLOADS[:2]}, settings_id=PAYLOADS[3],
        validation=ValidationDesign(scheme="grouped_cv", models=tuple(PAYLOADS[4:6])),
        packages={"neurorad": PAYLOADS[6]}, seed=0, extra_sentences=PAYLOADS[7:])
    prov = collect_provenance({"models": PAYLOADS, "target_class": PAYLOADS[1]},
                              manifest_path=path, settings_id=PAYLOADS[8],
                              extra={PAYLOADS[9]: PAYLOADS[10]})
    counts = targets["histology"].value_counts().rename("patients").to_frame().T
    table = pd.DataFrame({"roi": rois, "image": (images * 12)[:len(rois)]},
                         index=pd.Index(rois, name=PAYLOADS[11]))
    notebook = new_notebook(cells=[
        new_markdown_cell("# Report"),
        new_code_cell("display(counts)", outputs=[_display(counts), _display(table)]),
        new_code_cell("display(Markdown(text))", outputs=[_display(Markdown(text))]),
        new_code_cell("display(Markdown(prov))", outputs=[
            _display(Markdown("## Provenance\n" + provenance_markdown(prov)))]),
    ])
    page = notebook_to_html(notebook, hide_code=True)
    assert active_content(page) == []
    _assert_inert(page)


def test_rendered_page_carries_the_policy_first_in_head(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# x")])
    nbformat.write(nb, tmp_path / "in.ipynb")
    page = render_html(tmp_path / "in.ipynb", tmp_path / "out.html").read_text(encoding="utf-8")
    head = page[page.index("<head"):page.index("</head>")]
    first = head[head.index(">") + 1:].lstrip()
    assert first.startswith('<meta http-equiv="Content-Security-Policy"')
    policy = html.unescape(first.split('content="', 1)[1].split('"', 1)[0])
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'none'"
    assert directives["img-src"] == "data:"  # embedded figures only, nothing remote
    assert policy == CONTENT_SECURITY_POLICY
    # The page works without scripts: the template has none of its own.
    assert "<script" not in page.lower()


def test_index_page_escapes_headline_text_and_carries_the_policy(tmp_path):
    write_headline(Headline(study="glioma", metric=PAYLOADS[3], model=PAYLOADS[4],
                            estimate=0.7, ci_low=0.6, ci_high=0.8, target_class=PAYLOADS[1],
                            notes=PAYLOADS[5], published_text=PAYLOADS[0]),
                   tmp_path / "glioma")
    page = build_index(tmp_path, studies=("glioma",)).read_text(encoding="utf-8")
    assert active_content(page) == []
    assert "Content-Security-Policy" in page.split("</head>")[0]
    body = _parse(page)
    assert not {t for t, _ in body.tags} & FORBIDDEN_TAGS
    assert PAYLOADS[1] in " ".join(body.text)


@pytest.mark.parametrize("markup", [
    '<img src=x onerror="alert(1)">', "<script>1</script>", '<a href="javascript:x()">a</a>',
    '<iframe srcdoc="x"></iframe>', '<details ontoggle="x()">d</details>',
    '<a href=" java\tscript:x()">a</a>', '<meta http-equiv="refresh" content="0;url=x">',
])
def test_unescaped_markup_makes_rendering_fail(markup):
    """A value that reached the page unescaped (a path the escaping missed) stops rendering."""
    nb = new_notebook(cells=[new_code_cell("x", outputs=[new_output(
        "display_data", data={"text/html": markup})])])
    assert active_content(markup)
    with pytest.raises(RuntimeError, match="active content"):
        notebook_to_html(nb)


def test_escapes_keep_text_and_fences_outlast_backticks():
    assert markdown_text("a\nb\r\nc") == "a b c"
    assert markdown_code("x``y") == "```x``y```"
    assert markdown_code("`x") == "`` `x ``"
