"""S2's source: one permission table (shared/permissions.py) that the checks read, docs/process.md prints and
the S2 matrix (tests/integration/test_s2_permission_matrix.py) is generated from."""

import importlib
import re
from pathlib import Path

import pytest

from services.incident import policy
from services.incident.console import commands as console_commands
from services.postmortem import permissions as postmortem_permissions
from shared import permissions
from shared.permissions import CONSOLE_PAGES, ENDPOINTS, SIGN_IN_PAGES, TABLE
from shared.settings import Settings
from tests.support.routes import routes_of

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("incident", "notifier", "timers", "postmortem")


def test_s2_the_docs_permission_table_is_the_one_the_code_holds():
    text = (ROOT / "docs" / "process.md").read_text()
    found = re.search(r"\| action \| allowed \|\n(?:\|.*\|\n)+", text)
    assert found is not None, "docs/process.md has no permission table"
    assert found.group(0) == permissions.markdown(), "regenerate it: shared.permissions.markdown()"


@pytest.mark.parametrize("service", SERVICES)
def test_s2_every_route_of_the_api_and_the_links_is_in_the_permission_table(service):
    """A route added without its row in ENDPOINTS (so without its cells in the S2 matrix) fails here."""
    app = importlib.import_module(f"services.{service}.bootstrap").create_app(Settings())
    served = routes_of(app, "/v1/", "/links/")
    listed = {(method, path) for (owner, method, path) in ENDPOINTS if owner == service}
    assert served - listed == set(), "routes the permission table does not list"
    assert listed - served == set(), "routes the permission table lists that the service does not answer"


def test_s2_every_endpoint_does_actions_of_the_table_and_every_action_has_an_endpoint():
    done = {action for actions in ENDPOINTS.values() for action in actions}
    assert done - set(TABLE) == set()
    assert set(TABLE) - done == set()


def test_s2_the_checks_read_the_table():
    """The incident's role checks and the post-mortem's are the table's rows, not lists of their own."""
    assert policy.PERMISSIONS == {action: row.who for action, row in TABLE.items()}
    assert policy.DOING == {action: row.doing for action, row in TABLE.items()}
    for permission in (postmortem_permissions.EDIT, postmortem_permissions.PUBLISH, postmortem_permissions.APPLY):
        assert permission.action in TABLE


def test_s2_who_may_in_words_joins_the_callers_as_the_docs_say_them():
    assert permissions.allowed_words({permissions.MANAGER}) == "the manager"
    assert permissions.allowed_words({permissions.ADMIN, permissions.MANAGER}) == "the manager or an admin"
    three = {permissions.ADMIN, permissions.SME, permissions.PAST_MANAGER}
    assert permissions.allowed_words(three) == "the incident's managers (past ones too), an SME or an admin"


# Routes of the incident service that are neither the API, the links nor the console: exempt from a session.
_OPEN = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/rules"}


def test_s2_every_page_of_the_console_is_in_the_permission_table():
    """A console page or form added without its row in CONSOLE_PAGES (so without its cells in the console's S2
    matrix) fails here; the incident page's forms, one route, are listed one per action the console knows."""
    app = importlib.import_module("services.incident.bootstrap").create_app(Settings())
    served = {(m, p) for m, p in routes_of(app) if not p.startswith(("/v1/", "/links/")) and p not in _OPEN}
    forms = "/incidents/{incident_id}/do/"
    listed = {(m, forms + "{action}" if p.startswith(forms) else p) for m, p in CONSOLE_PAGES} | SIGN_IN_PAGES
    assert served - listed == set(), "console routes the permission table does not list"
    assert listed - served == set(), "console routes the permission table lists that the service does not answer"
    known = {f"{verb}_{role}" for verb in ("add", "remove") for role in console_commands.ROLES}
    known |= set(console_commands._COMMANDS)
    assert {p.removeprefix(forms) for _, p in CONSOLE_PAGES if p.startswith(forms)} == known
    assert {action for actions in CONSOLE_PAGES.values() for action in actions} <= set(TABLE)
