"""Printed documents: a Django template rendered to HTML, laid out by WeasyPrint.

Fonts are named in the stylesheet (templates/documents/_print.css): "Noto
Serif CJK SC" and "Noto Sans CJK SC", found through fontconfig (Debian's
fonts-noto-cjk) and embedded, subset, in the PDF, so the document prints the
same on any office's machine whatever fonts it has.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from relief import collector


class DocumentError(Exception):
    """A document cannot be produced (no notice, nothing to list); the message
    is translated and meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """The template rendered with `context` as a PDF.

    The context also gets `page_counter`: the CSS `content` of the page footer
    ("第 " counter(page) " 页 共 " counter(pages) " 页"), in the active language."""
    # WeasyPrint is imported here: it loads Pango and its fonts, which the
    # rest of the application (every web request) does not need.
    from weasyprint import HTML, URLFetcher

    html = render_to_string(template_name, {"page_counter": page_counter(), **context})
    with collector.paused():
        document = HTML(
            string=html,
            base_url=_static_base(),
            # Local files and data: URLs only: a document never waits on the network.
            url_fetcher=URLFetcher(allowed_protocols=("file", "data")),
        )
        return document.write_pdf()


def page_counter() -> SafeString:
    """The page footer as CSS `content`: the translated "Page %(page)s of
    %(pages)s" with its placeholders turned into the page counters."""
    text = _("Page %(page)s of %(pages)s")
    parts = re.split(r"%\((page|pages)\)s", text)
    # re.split keeps the counter names at the odd positions.
    content = [
        f"counter({part})" if i % 2 else css_string(part) for i, part in enumerate(parts) if part
    ]
    return mark_safe(" ".join(content))  # every piece is escaped above


def css_string(text: str) -> str:
    """`text` as a quoted CSS string, safe inside a <style> element."""
    escaped = "".join(f"\\{ord(c):x} " if c in '"\\<>&\n\r' or ord(c) < 32 else c for c in text)
    return f'"{escaped}"'


def _static_base() -> str:
    """The static directory as base URL: templates may refer to images and
    stylesheets there by their path under static/."""
    first = settings.STATICFILES_DIRS[0]
    directory = first[1] if isinstance(first, tuple) else first
    return Path(directory).resolve().as_uri() + "/"
