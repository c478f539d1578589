"""The permission table ("Who may do what" in docs/process.md): every action, and who may do it.

One table for every service, as data. The checks read it (``permits``): the incident's commands and its
people, tokens, process and refinements (services/incident/policy.py), the post-mortem's edits
(services/postmortem/permissions.py) and the notifier's configuration. docs/process.md's table is
``markdown()`` of it (a test compares the two), and the S2 tests derive their matrices from it: every
endpoint (``ENDPOINTS``) and every page of the web console (``CONSOLE_PAGES``) for every kind of caller,
the status each must get.

Pure data and functions of it: no I/O.
"""

from collections.abc import Iterable
from dataclasses import dataclass

# Who may: the kinds of caller the table names. A caller "holds" those that are true of them for the
# thing asked about (their roles on the incident, being its paged person, being the person asked about…).
ADMIN = "admin"  # organisation-wide: a person registered with admin: true
MANAGER = "manager"  # the incident's roles now (R01)
WORKER = "worker"
SME = "sme"
OBSERVER = "observer"
PR_MANAGER = "pr_manager"
PAST_MANAGER = "past_manager"  # anyone who ever managed the incident, the manager now included
PAGED = "paged"  # the person the incident's page waits on (R11)
OFFERED = "offered"  # the person the pending handover was offered to (R04)
SELF = "self"  # the person the request is about: their own record, their own tokens
SIGNED_IN = "signed_in"  # anyone with a valid bearer token
SESSION = "session"  # the web console's session cookie (of the JSON API, it opens the live streams alone)
LINK = "link"  # whoever holds the signed link a notification carried, for that one thing

INCIDENT_ROLES = (MANAGER, WORKER, SME, OBSERVER, PR_MANAGER)

# How docs/process.md says each, in this order when several may.
WORDS = {
    SIGNED_IN: "anyone signed in",
    MANAGER: "the manager",
    PAST_MANAGER: "the incident's managers (past ones too)",
    WORKER: "a worker",
    SME: "an SME",
    OBSERVER: "an observer",
    PR_MANAGER: "the PR manager",
    OFFERED: "the person it was offered to",
    PAGED: "the paged person",
    SELF: "the person themself",
    ADMIN: "an admin",
    SESSION: "the console's session",
    LINK: "whoever holds its signed link",
}


@dataclass(frozen=True)
class Row:
    """One action: who may do it, what it is in words ("only an admin may {doing}"), and the line of
    docs/process.md's table that lists it (actions on one line have the same ``who``)."""

    action: str
    who: frozenset[str]
    doing: str
    line: str


def _rows(line: str, who: Iterable[str], **doing: str) -> list[Row]:
    return [Row(action, frozenset(who), words, line) for action, words in doing.items()]


TABLE: dict[str, Row] = {
    row.action: row
    for row in [
        *_rows(
            "declare an incident, file a minor report, read anything",
            {SIGNED_IN},
            declare="declare an incident",
            file_report="file a minor report",
            read="read it",
        ),
        *_rows(
            "read people (their contact details — phone, webhook — only their own), an incident's integrity; "
            "back-test a process change",
            {SIGNED_IN},
            read_people="read people",
            read_integrity="check an incident's integrity",
            backtest="back-test a process change",
        ),
        *_rows("read the live event streams", {SIGNED_IN, SESSION}, read_event_streams="read the live event streams"),
        *_rows(
            "send Alertmanager's notifications (acting as the token's person)",
            {SIGNED_IN},
            receive_alerts="send Alertmanager's notifications",
        ),
        *_rows("read a post-mortem's report", {SIGNED_IN, LINK}, read_report="read the post-mortem's report"),
        *_rows(
            "offer a handover; change severity; request status; brief observers; request affected-user info; "
            "complete a checklist step; resolve; reopen",
            {MANAGER},
            offer_handover="offer the handover",
            change_severity="change its severity",
            request_status="request a status update",
            brief_observers="brief its observers",
            request_affected_info="request affected-user information",
            complete_checklist_step="complete a checklist step",
            resolve="resolve it",
            reopen="reopen it",
        ),
        *_rows("accept or decline a handover", {OFFERED}, answer_handover="answer the handover"),
        *_rows("acknowledge a page", {PAGED, LINK}, acknowledge="acknowledge the page"),
        *_rows("force a handover", {ADMIN}, force_handover="force a handover"),
        *_rows(
            "add or remove workers, SMEs, observers; assign the PR manager",
            {MANAGER, ADMIN},
            manage_roles="add or remove its workers, SMEs and observers, or assign its PR manager",
        ),
        *_rows("give severity input", {SME, OBSERVER}, give_severity_input="give severity input"),
        *_rows("post a status update (their own)", {WORKER}, post_status_update="post a status update"),
        *_rows(
            "post public updates; report affected-user information",
            {PR_MANAGER},
            post_public_update="post a public update",
            report_affected_info="report affected-user information",
        ),
        *_rows(
            "edit the post-mortem's narrative, add action items",
            {PAST_MANAGER, SME, ADMIN},
            edit_postmortem="edit the post-mortem or add action items",
        ),
        *_rows(
            "publish the post-mortem; apply a process refinement",
            {PAST_MANAGER, ADMIN},
            publish_postmortem="publish the post-mortem",
            apply_refinement="apply a process refinement from the post-mortem",
        ),
        *_rows(
            "configure the process, the directory, people, tokens and webhook subscriptions; deactivate and "
            "activate people; edit a person's name, groups and admin; extend a token's expiry",
            {ADMIN},
            configure="configure the process, the directory, people and tokens",
            deactivate_person="deactivate people",
            activate_person="activate people",
            edit_person="change a person's name, groups or admin",
            extend_token="extend a token's expiry",
        ),
        *_rows(
            "edit their own email, phone, timezone, working and waking hours, webhook",
            {SELF, ADMIN},
            edit_own_person="edit a person",
        ),
        *_rows(
            "list their tokens, set an earlier expiry, revoke one (sessions opened with it end too)",
            {SELF, ADMIN},
            manage_own_tokens="list, change or revoke a person's tokens",
        ),
    ]
}


def permits(action: str, holds: Iterable[str]) -> bool:
    """Whether a caller holding ``holds`` (kinds of caller above) may do ``action``."""
    return not TABLE[action].who.isdisjoint(holds)


def allowed_words(who: Iterable[str]) -> str:
    """Who may, as docs/process.md says it: "the manager or an admin"."""
    said = [words for kind, words in WORDS.items() if kind in set(who)]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} or {said[-1]}"


def markdown() -> str:
    """docs/process.md's "Who may do what" table: one line per group of actions, who may in words."""
    lines: dict[str, frozenset[str]] = {}
    for row in TABLE.values():
        assert lines.setdefault(row.line, row.who) == row.who, f"{row.action}: its line lists other callers"
    body = [f"| {line} | {allowed_words(who)} |" for line, who in lines.items()]
    return "\n".join(["| action | allowed |", "|---|---|", *body]) + "\n"


# Every route of every service (method, service, path as the router declares it) -> the actions it
# performs, for the S2 tests (a test checks every service's routes are here, and nothing else is). A
# route that does several by what it is asked (a person's own fields, or their name) lists each.
ENDPOINTS: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("incident", "POST", "/v1/people"): ("configure",),
    ("incident", "GET", "/v1/people"): ("read_people",),
    ("incident", "GET", "/v1/people/{person_id}"): ("read_people",),
    ("incident", "PATCH", "/v1/people/{person_id}"): ("edit_own_person", "edit_person"),
    ("incident", "POST", "/v1/people/{person_id}/deactivate"): ("deactivate_person",),
    ("incident", "POST", "/v1/people/{person_id}/activate"): ("activate_person",),
    ("incident", "POST", "/v1/tokens"): ("configure",),
    ("incident", "GET", "/v1/people/{person_id}/tokens"): ("manage_own_tokens",),
    ("incident", "PATCH", "/v1/tokens/{token_id}"): ("manage_own_tokens", "extend_token"),
    ("incident", "DELETE", "/v1/tokens/{token_id}"): ("manage_own_tokens",),
    ("incident", "GET", "/v1/process"): ("read",),
    ("incident", "PUT", "/v1/process"): ("configure",),
    ("incident", "GET", "/v1/directory/aspects"): ("read",),
    ("incident", "GET", "/v1/directory/aspects/{aspect}"): ("read",),
    ("incident", "PUT", "/v1/directory/aspects/{aspect}"): ("configure",),
    ("incident", "GET", "/v1/directory/coverage"): ("read",),
    ("incident", "POST", "/v1/reports"): ("file_report",),
    ("incident", "POST", "/v1/process/refinements"): ("apply_refinement",),
    ("incident", "POST", "/v1/integrations/alertmanager"): ("receive_alerts",),
    ("incident", "POST", "/v1/incidents"): ("declare",),
    ("incident", "GET", "/v1/incidents"): ("read",),
    ("incident", "GET", "/v1/incidents/{incident_id}"): ("read",),
    ("incident", "GET", "/v1/incidents/{incident_id}/integrity"): ("read_integrity",),
    ("incident", "GET", "/v1/incidents/{incident_id}/events"): ("read", "read_event_streams"),
    ("incident", "GET", "/v1/events"): ("read", "read_event_streams"),
    ("incident", "POST", "/v1/incidents/{incident_id}/acknowledge"): ("acknowledge",),
    ("incident", "GET", "/links/acknowledge/{value}"): ("acknowledge",),
    ("incident", "POST", "/links/acknowledge/{value}"): ("acknowledge",),
    ("incident", "POST", "/v1/incidents/{incident_id}/workers"): ("manage_roles",),
    ("incident", "DELETE", "/v1/incidents/{incident_id}/workers/{person}"): ("manage_roles",),
    ("incident", "POST", "/v1/incidents/{incident_id}/smes"): ("manage_roles",),
    ("incident", "DELETE", "/v1/incidents/{incident_id}/smes/{person}"): ("manage_roles",),
    ("incident", "POST", "/v1/incidents/{incident_id}/observers"): ("manage_roles",),
    ("incident", "DELETE", "/v1/incidents/{incident_id}/observers/{person}"): ("manage_roles",),
    ("incident", "PUT", "/v1/incidents/{incident_id}/pr-manager"): ("manage_roles",),
    ("incident", "POST", "/v1/incidents/{incident_id}/handover"): ("offer_handover",),
    ("incident", "POST", "/v1/incidents/{incident_id}/handover/accept"): ("answer_handover",),
    ("incident", "POST", "/v1/incidents/{incident_id}/handover/decline"): ("answer_handover",),
    ("incident", "POST", "/v1/incidents/{incident_id}/handover/force"): ("force_handover",),
    ("incident", "POST", "/v1/incidents/{incident_id}/severity-input"): ("give_severity_input",),
    ("incident", "POST", "/v1/incidents/{incident_id}/severity"): ("change_severity",),
    ("incident", "POST", "/v1/incidents/{incident_id}/status-requests"): ("request_status",),
    ("incident", "POST", "/v1/incidents/{incident_id}/status-updates"): ("post_status_update",),
    ("incident", "POST", "/v1/incidents/{incident_id}/observer-briefings"): ("brief_observers",),
    ("incident", "POST", "/v1/incidents/{incident_id}/public-updates"): ("post_public_update",),
    ("incident", "POST", "/v1/incidents/{incident_id}/affected-info-requests"): ("request_affected_info",),
    ("incident", "POST", "/v1/incidents/{incident_id}/affected-info-reports"): ("report_affected_info",),
    ("incident", "POST", "/v1/incidents/{incident_id}/checklist/{step}/done"): ("complete_checklist_step",),
    ("incident", "POST", "/v1/incidents/{incident_id}/resolve"): ("resolve",),
    ("incident", "POST", "/v1/incidents/{incident_id}/reopen"): ("reopen",),
    ("postmortem", "GET", "/v1/postmortems/{incident_id}"): ("read",),
    ("postmortem", "GET", "/v1/postmortems/{incident_id}/report.md"): ("read_report",),
    ("postmortem", "GET", "/v1/postmortems/{incident_id}/report.html"): ("read_report",),
    ("postmortem", "GET", "/v1/postmortems/{incident_id}/link"): ("read_report",),
    ("postmortem", "GET", "/links/report/{value}"): ("read_report",),
    ("postmortem", "PUT", "/v1/postmortems/{incident_id}/sections/{section}"): ("edit_postmortem",),
    ("postmortem", "POST", "/v1/postmortems/{incident_id}/action-items"): ("edit_postmortem",),
    ("postmortem", "POST", "/v1/postmortems/{incident_id}/action-items/{item_id}/apply"): ("apply_refinement",),
    ("postmortem", "POST", "/v1/postmortems/{incident_id}/publish"): ("publish_postmortem",),
    ("postmortem", "POST", "/v1/backtests"): ("backtest",),
    ("postmortem", "GET", "/v1/postmortems/{incident_id}/action-items/{item_id}/backtest"): ("backtest",),
    ("notifier", "GET", "/v1/deliveries"): ("read",),
    ("notifier", "GET", "/v1/deliveries/{delivery_id}"): ("read",),
    ("notifier", "POST", "/v1/deliveries/{delivery_id}/redeliver"): ("configure",),
    ("notifier", "GET", "/v1/endpoints"): ("configure",),
    ("notifier", "GET", "/v1/signing-secrets"): ("configure",),
    ("notifier", "POST", "/v1/subscriptions"): ("configure",),
    ("notifier", "GET", "/v1/subscriptions"): ("configure",),
    ("notifier", "GET", "/v1/subscriptions/{subscription_id}"): ("configure",),
    ("notifier", "PUT", "/v1/subscriptions/{subscription_id}/secrets"): ("configure",),
    ("notifier", "DELETE", "/v1/subscriptions/{subscription_id}"): ("configure",),
    ("timers", "GET", "/v1/timers"): ("read",),
}


# Every page of the web console (the incident service's HTML, a session cookie its credential) -> the
# actions it performs, for the S2 tests as ENDPOINTS is (a test checks every console route is here or in
# SIGN_IN_PAGES, and nothing else is). The incident page's forms share one route,
# ``/incidents/{incident_id}/do/{action}``: each form is listed with its action in the path. A page that
# only shows is "read" (anyone signed in); what a form may change is the table's row for it.
_INCIDENT_PAGE = "/incidents/{incident_id}"
_FORMS = {
    "acknowledge": "acknowledge",
    "accept_handover": "answer_handover",
    "decline_handover": "answer_handover",
    "offer_handover": "offer_handover",
    "force_handover": "force_handover",
    **{f"{verb}_{role}": "manage_roles" for verb in ("add", "remove") for role in ("worker", "sme", "observer")},
    "assign_pr_manager": "manage_roles",
    "give_severity_input": "give_severity_input",
    "change_severity": "change_severity",
    "request_status": "request_status",
    "post_status_update": "post_status_update",
    "brief_observers": "brief_observers",
    "post_public_update": "post_public_update",
    "request_affected_info": "request_affected_info",
    "report_affected_info": "report_affected_info",
    "complete_checklist_step": "complete_checklist_step",
    "resolve": "resolve",
    "reopen": "reopen",
}
CONSOLE_PAGES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/"): ("read",),  # the incident list; without a session, the sign-in page itself
    ("GET", "/incidents/new"): ("read",),
    ("GET", "/directory/lookup"): ("read",),
    ("POST", "/incidents/new"): ("declare",),
    ("GET", _INCIDENT_PAGE): ("read",),
    ("GET", _INCIDENT_PAGE + "/live"): ("read",),
    ("GET", _INCIDENT_PAGE + "/row"): ("read",),
    **{("POST", f"{_INCIDENT_PAGE}/do/{form}"): (action,) for form, action in _FORMS.items()},
    ("GET", _INCIDENT_PAGE + "/postmortem"): ("read",),
    ("POST", _INCIDENT_PAGE + "/postmortem/sections/{section}"): ("edit_postmortem",),
    ("POST", _INCIDENT_PAGE + "/postmortem/action-items"): ("edit_postmortem",),
    ("POST", _INCIDENT_PAGE + "/postmortem/publish"): ("publish_postmortem",),
    ("GET", "/directory"): ("read",),
    ("POST", "/directory/aspects"): ("configure",),
    ("GET", "/people"): ("read_people",),
    ("POST", "/people"): ("configure",),
    ("GET", "/people/{person_id}"): ("read_people",),
    ("POST", "/people/{person_id}/edit"): ("edit_own_person",),
    ("POST", "/people/{person_id}/deactivate"): ("deactivate_person",),
    ("POST", "/people/{person_id}/activate"): ("activate_person",),
    ("POST", "/people/{person_id}/tokens/{token_id}/revoke"): ("manage_own_tokens",),
}
# The console's routes open to anyone, which decide nothing of the table: signing in (with a token or a
# one-time link by email) and out. S9's tests hold them (CSRF, cookies, throttling).
SIGN_IN_PAGES = frozenset(
    {
        ("POST", "/session"),
        ("POST", "/session/end"),
        ("POST", "/session/email"),
        ("GET", "/session/link/{secret}"),
        ("POST", "/session/link"),
    }
)
