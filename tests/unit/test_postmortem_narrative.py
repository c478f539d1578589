"""S10 for narratives: Markdown renders in the HTML report, what people wrote never becomes markup of its own
(raw HTML shows as text), links open only safe addresses, and the page still loads nothing from outside."""

import re

import pytest

from services.postmortem import render
from services.postmortem.narrative import safe_link, to_html
from tests.unit.test_postmortem_render import doc

HOSTILE = (
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
)


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_s10_markdown_renders_bold_emphasis_lists_and_code():
    html = to_html("**bold** and *calm*\n\n- one\n- two\n\n`df -h`")

    assert "<strong>bold</strong>" in html and "<em>calm</em>" in html
    assert "<li>one</li>" in html and "<code>df -h</code>" in html


def test_s10_raw_html_in_a_narrative_shows_as_text():
    html = to_html('<script>alert(1)</script> <img src=x onerror="alert(2)"> <b>bold?</b>')

    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html


@pytest.mark.parametrize("url", HOSTILE)
def test_s10_a_link_never_opens_a_script_or_a_document_of_its_own(url):
    for written in (f"[click]({url})", f"<{url}>", f"![x]({url})"):
        html = to_html(written)
        assert hrefs(html) == [], f"{written!r} became {html!r}"
    assert not safe_link(url)


def test_s10_safe_links_open_without_telling_the_site_where_they_came_from():
    html = to_html("[runbook](https://wiki.example/runbook) [us](/v1/incidents) [top](#top) [mail](mailto:ops@x.test)")

    assert hrefs(html) == ["https://wiki.example/runbook", "/v1/incidents", "#top", "mailto:ops@x.test"]
    assert html.count('rel="noopener noreferrer nofollow"') == 4


def test_s10_an_image_is_a_link_to_it_so_the_report_loads_nothing_from_outside():
    html = to_html("![graph](https://metrics.example/p.png)")

    assert "<img" not in html and "src=" not in html
    assert hrefs(html) == ["https://metrics.example/p.png"]


def test_s10_headings_sit_below_the_pages_own_and_line_breaks_stay():
    html = to_html("# Why\nfirst line\nsecond line")

    assert "<h4>Why</h4>" in html and "<h1>" not in html
    assert "first line<br />\nsecond line" in html


def test_s10_the_html_report_renders_a_narrative_written_in_markdown_and_escapes_its_html():
    written = "The **disk** filled up.\n\n<script>alert(1)</script>"
    sections = [dict(s, text=written, written=True) if s["id"] == "cause" else s for s in doc()["sections"]]
    page = render.html({**doc(), "sections": sections})

    cause = re.search(r'<section id="section-cause">.*?</section>', page, re.S).group(0)
    assert "The <strong>disk</strong> filled up." in cause
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cause and "<script" not in page
    assert not re.search(r"""\b(src|href)\s*=|url\(|@import|<link""", page, re.I)  # still self-contained
