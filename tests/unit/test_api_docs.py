"""The API's pages (/docs, /redoc) on every service name only the service's own URLs, and each of those
answers: the pages work without internet (no CDN, no web fonts)."""

import importlib
import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared import api_docs
from shared.settings import Settings

SERVICES = ("incident", "notifier", "timers", "postmortem")
PAGES = ("/docs", "/redoc")
# Anything with a scheme or a protocol-relative "//host" leaves the service.
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


class References(HTMLParser):
    """Every src, href and spec-url (ReDoc's) of a page, and every URL its inline scripts name."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += re.findall(r"""url\s*:\s*['"]([^'"]+)['"]""", data)
            self.urls += re.findall(r"https?://[^\s'\"<>]+", data)


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


def service_app(name: str) -> FastAPI:
    # No lifespan runs: the pages and the OpenAPI document need neither PostgreSQL nor NATS.
    app: FastAPI = importlib.import_module(f"services.{name}.bootstrap").create_app(Settings())
    return app


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("page", PAGES)
def test_the_api_pages_of_every_service_name_only_its_own_urls_and_each_answers(service, page):
    client = TestClient(service_app(service))
    answer = client.get(page)
    assert answer.status_code == 200, answer.text
    assert "text/html" in answer.headers["content-type"]
    # The browser itself refuses anything the bundles might fetch from elsewhere.
    assert answer.headers["content-security-policy"] == api_docs.POLICY
    urls = references(answer.text)
    assert urls, "the page names its script"
    external = [url for url in urls if EXTERNAL.match(url)]
    assert not external, f"{page} refers outside the service: {external}"
    assert "googleapis" not in answer.text and "cdn." not in answer.text
    assert "/openapi.json" in urls
    for url in urls:
        fetched = client.get(url)
        assert fetched.status_code == 200 and fetched.content, (
            f"{page} names {url}, which answers {fetched.status_code}"
        )


def test_the_vendored_assets_and_their_licences_are_in_the_package():
    names = {path.name for path in api_docs.ASSETS.iterdir()}
    assert {api_docs.SWAGGER_JS, api_docs.SWAGGER_CSS, api_docs.REDOC_JS, api_docs.FAVICON} <= names
    assert {"swagger-ui-dist.LICENSE", "swagger-ui-dist.NOTICE", "redoc.LICENSE"} <= names


def test_the_pages_follow_a_proxy_prefix_and_an_app_without_openapi_gets_none():
    client = TestClient(service_app("timers"), root_path="/timers")
    urls = references(client.get("/docs").text)
    assert "/timers/openapi.json" in urls
    assert f"/timers{api_docs.PREFIX}/{api_docs.SWAGGER_JS}" in urls
    bare = FastAPI(openapi_url=None)
    api_docs.serve(bare)
    assert TestClient(bare).get("/docs").status_code == 404
