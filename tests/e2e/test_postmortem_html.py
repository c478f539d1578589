"""The HTML report opened in headless Chromium (Debian's `chromium`, installed by the session set-up
when missing): every section and both pictures are on the page, it needs no network, and the
screenshot shows something. WARROOM_KEEP_SCREENSHOT=<path> keeps the screenshot to look at."""

import os
import re
import shutil

from tests.support.browser import chromium  # noqa: F401 — the session fixture
from tests.support.postmortem import PEOPLE, scripted_report

PNG = b"\x89PNG\r\n\x1a\n"


async def test_the_html_report_renders_every_section_and_both_pictures_offline(
    database_url,
    nats_url,
    chromium,  # noqa: F811 — the fixture
    tmp_path,
):
    document, _, html = await scripted_report(database_url, nats_url)
    # Self-contained: nothing to fetch (the SVG namespace is a name, not a request).
    assert not re.search(r"""\b(src|href)\s*=|url\(|@import|<script|<link""", html, re.I)
    report = tmp_path / "report.html"
    report.write_text(html)

    page = chromium.render(report, tmp_path)

    dom = page.dom
    for number, section in enumerate(document["sections"], start=1):
        assert f'id="section-{section["id"]}"' in dom
        assert re.search(rf'<span class="number">{number}\.</span>\s*{section["title"]}', dom)
    severity = re.search(r'<svg id="severity-chart".*?</svg>', dom, re.S).group(0)
    assert re.search(r'<path class="step" d="M [\d.]+ [\d.]+ H [\d.]+ V [\d.]+ H [\d.]+"', severity)
    assert "Level 1 · Critical" in severity and "Level 2 · Serious" in severity
    tenure = re.search(r'<svg id="tenure-chart".*?</svg>', dom, re.S).group(0)
    bars = re.findall(r'<rect class="bar[^"]*"[^>]*><title>([^:<]+):', tenure)
    assert bars == [PEOPLE["ann"], PEOPLE["bob"], PEOPLE["ann"]]  # one bar per tenure interval, in order
    assert dom.count('<tr><td class="time">') >= len(document["timeline"])

    shot = page.screenshot.read_bytes()
    assert shot.startswith(PNG) and len(shot) > 50_000  # a blank 1280×2000 page compresses to a few KB
    if keep := os.environ.get("WARROOM_KEEP_SCREENSHOT"):  # a path: to look at the page after the run
        shutil.copy(page.screenshot, keep)
