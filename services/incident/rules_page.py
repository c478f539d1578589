"""GET /rules: the rules of the process (docs/process.md) as one HTML page, without a token.

Every problem that names a rule links here (``type``: ``{WARROOM_PUBLIC_URL}/rules#r05``), so the
page is what a stressed person opens from an error: it needs nothing but itself (no scripts, styles
or fonts from elsewhere — its Content-Security-Policy says so) and reads on a phone.

``rules.md`` beside this module is a symbolic link to docs/process.md: the repository keeps one
copy, a wheel carries the file's content as package data, and the image copies docs/process.md to
where the link points.
"""

import functools
import html
import re
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt

router = APIRouter(include_in_schema=False)

# Inline styles only; nothing may be fetched from elsewhere.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "public, max-age=300",
}

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 0 auto; padding: 0 1rem 3rem;
       color: #1b1b1b; background: #fff; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem; } h3 { font-size: 1.1rem; }
table { border-collapse: collapse; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }
code { background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; }
:target { background: #fff3c4; }
@media (prefers-color-scheme: dark) {
  body { color: #e8e8e8; background: #161616; } code { background: #2a2a2a; } th, td { border-color: #444; }
  :target { background: #4a3f10; }
}
"""


# How docs/process.md anchors a section, alone on the line above its heading (GitHub shows it too).
_ANCHOR = re.compile(r'<a id="([a-z0-9-]+)"></a>')


def document() -> str:
    return resources.files(__package__).joinpath("rules.md").read_text(encoding="utf-8")


@functools.cache
def page() -> str:
    """The page, rendered once (the document cannot change while the service runs)."""
    source = document()
    title = next((line[2:].strip() for line in source.splitlines() if line.startswith("# ")), "Rules")
    # The document is the repository's own (trusted): its raw HTML is the anchors, one per rule.
    markdown = MarkdownIt("commonmark", {"html": True}).enable("table")
    env: dict = {}
    tokens = _anchored_headings(markdown.parse(source, env))
    body = markdown.renderer.render(tokens, markdown.options, env)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n"
    )


def _anchored_headings(tokens: list) -> list:
    """Each anchor paragraph becomes the id of the heading below it: ``#r05`` lands on R05's title,
    which ``:target`` then marks."""
    kept, anchor = [], None
    for token in tokens:
        if anchor is not None and token.type == "heading_open":
            token.attrSet("id", anchor)
            anchor = None
        kept.append(token)
        if (
            token.type == "paragraph_close"
            and kept[-2].type == "inline"
            and (found := _ANCHOR.fullmatch(kept[-2].content.strip()))
        ):
            anchor = found.group(1)
            del kept[-3:]
    return kept


@router.get("/rules", response_class=HTMLResponse)
async def rules() -> HTMLResponse:
    return HTMLResponse(page(), headers=HEADERS)
