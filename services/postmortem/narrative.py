"""A post-mortem narrative, written in Markdown, as HTML for the report page (S10).

People write Markdown and expect to read it rendered: emphasis, lists, code, quotes, tables, links.
What they wrote still never becomes markup of its own:

- raw HTML is not recognised: ``<script>`` shows as the text ``<script>``;
- a link opens only an http, https or mailto address, or one on the same site (an allow-list, so no
  ``javascript:``, ``data:`` or ``vbscript:`` however it is spelled), and tells the site it opens
  nothing about the report (``rel="noreferrer"``: a report opened by a signed link has it in its URL);
- an image is a link to it instead: the page loads nothing from outside itself (an image would be a
  request to somebody's server on opening the report, and a hole in the page offline);
- headings start at level 4, below the page's own (the title, each section, "Narrative").

A single line break is kept as one, as people see it in the text box they typed into.
"""

import re
from collections.abc import Sequence
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
LINK_REL = "noopener noreferrer nofollow"
# The page's headings: h1 the title, h2 each section, h3 its parts ("Narrative").
HEADING_SHIFT = 3


def to_html(text: str) -> Markup:
    """The narrative's Markdown as HTML, safe to put in the page as it is."""
    return Markup(_parser().render(text))


def safe_link(url: str) -> bool:
    """Whether a link may point there: an allowed scheme, or none (the same site, a #fragment)."""
    scheme = _SCHEME.match(url.strip())
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"]).disable("image")
    md.validateLink = safe_link  # type: ignore[method-assign]  # markdown-it's documented hook
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    return md


def _link_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return renderer.renderToken(tokens, idx, options, env)


def _heading(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    token.tag = f"h{min(6, int(token.tag[1:]) + HEADING_SHIFT)}"
    return renderer.renderToken(tokens, idx, options, env)
