"""S2's source: one permission table (shared/permissions.py) that the checks read, docs/process.md prints and
the S2 matrix (tests/integration/test_s2_permission_matrix.py) is generated from."""

import importlib
import re
from pathlib import Path

import pytest

from services.incident import policy
from services.postmortem import permissions as postmortem_permissions
from shared import permissions
from shared.permissions import ENDPOINTS, TABLE
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
