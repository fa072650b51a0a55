"""Text from data (subject ids, class, ROI, image and study names, descriptions, parameters)
made inert before it enters a report's Markdown or HTML, and the page-level defences.

Reports are mailed around and opened in browsers, and a manifest is input a lab may receive
from anyone, so a class named ``<img src=x onerror=...>`` must display as those characters,
never as markup. Three layers:

1. :func:`markdown_text` / :func:`markdown_code` / :func:`html_text` escape each value where it
   is put into Markdown or HTML (the methods paragraph, the provenance block, the index page);
2. :data:`CONTENT_SECURITY_POLICY` is written into every rendered page
   (:func:`add_content_security_policy`): no script of any kind runs (inline, event handler,
   ``javascript:`` link) and nothing is loaded from anywhere but the page itself (images are
   embedded as ``data:`` URIs, styles inline) — reports need neither;
3. :func:`active_content` lists what a browser would execute in a page, and rendering refuses
   a page that has any (``neurorad.reports.render``), so a value that reached the page
   unescaped by a path not covered by (1) stops the rendering instead of shipping.
"""
from __future__ import annotations

import html as _html
import re
from html.parser import HTMLParser

#: What a rendered report may do: show its own inline styles and embedded images. Everything
#: else (scripts, event handlers, frames, fonts or images from elsewhere, form posts, a
#: ``<base>`` that redirects relative links) is forbidden.
CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                           "font-src data:; script-src 'none'; object-src 'none'; "
                           "frame-src 'none'; base-uri 'none'; form-action 'none'")

# Characters with a meaning in CommonMark / mistune (links, images, emphasis, code, raw HTML,
# entities, math, tables, strikethrough) and at line starts (headings, quotes, lists).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&:])")
# Line breaks and other control characters would start new blocks (headings, lists).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _one_line(value) -> str:
    return _CONTROL.sub(" ", str(value))


def markdown_text(value) -> str:
    """``value`` as Markdown that displays literally: every character Markdown or HTML could
    read as markup is backslash-escaped, line breaks become spaces.

    >>> print(markdown_text("<b>[x](y)</b>"))
    \\<b\\>\\[x\\]\\(y\\)\\</b\\>
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(value))


def markdown_code(value) -> str:
    """``value`` as a Markdown code span (shown in monospace, never interpreted): the fence
    is one backtick longer than the longest run of backticks inside.

    >>> markdown_code("a`b")
    '``a`b``'
    """
    text = _one_line(value)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_text(value) -> str:
    """``value`` as HTML text or attribute content (``& < > " '`` escaped)."""
    return _html.escape(str(value), quote=True)


def content_security_policy_meta() -> str:
    """The ``<meta http-equiv="Content-Security-Policy">`` element of every report page."""
    return (f'<meta http-equiv="Content-Security-Policy" '
            f'content="{html_text(CONTENT_SECURITY_POLICY)}">')


def add_content_security_policy(page: str) -> str:
    """``page`` with :func:`content_security_policy_meta` as the first element of ``<head>``
    (a policy applies only to what follows it).

    Raises ValueError when the page has no ``<head>``.
    """
    match = re.search(r"<head(\s[^>]*)?>", page, re.I)
    if match is None:
        raise ValueError("page has no <head> to put the Content-Security-Policy in")
    return page[:match.end()] + "\n" + content_security_policy_meta() + page[match.end():]


# Elements that run code, embed other documents or change where the page sends things.
_ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
                "form", "portal"}
# URL schemes that run code when followed or loaded.
_ACTIVE_SCHEME = re.compile(r"^\s*(javascript|vbscript|data\s*:\s*text/html)", re.I)
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background",
                   "poster", "srcdoc", "data"}


class _ActiveContentFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        tag = tag.lower()
        if tag in _ACTIVE_TAGS:
            self.found.append(f"<{tag}> element")
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                self.found.append(f"event handler {name}= on <{tag}>")
            elif name == "srcdoc":
                self.found.append(f"srcdoc= on <{tag}>")
            elif name in _URL_ATTRIBUTES and value and _ACTIVE_SCHEME.match(
                    re.sub(r"[\x00-\x20]", "", value)):
                self.found.append(f"{name}={value[:40]!r} on <{tag}>")
        if (tag == "meta" and any(n.lower() == "http-equiv" and (v or "").lower() == "refresh"
                                  for n, v in attrs)):
            self.found.append("<meta http-equiv=refresh>")

    handle_startendtag = handle_starttag


def active_content(page: str) -> list[str]:
    """Everything in ``page`` a browser would execute or that redirects the reader: script,
    frame, object, embed, base and form elements, ``on*=`` event handlers, ``srcdoc``,
    ``javascript:`` / ``vbscript:`` / ``data:text/html`` URLs, meta refresh. ``[]`` for a
    report as neurorad renders it."""
    finder = _ActiveContentFinder()
    finder.feed(page)
    finder.close()
    return finder.found
