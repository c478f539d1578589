"""An incident run from the terminal with the installed `warroom`, against the real services."""

import json
import time

import httpx

from tests.cli.conftest import Stack


def test_cli_an_incident_is_declared_staffed_updated_and_resolved_from_the_command_line(stack: Stack):
    sam, wes = stack.person("Sam"), stack.person("Wes")
    aspect = stack.aspect([sam])

    declared = stack.run(
        "--json", "declare", "--aspect", aspect, "--severity", "2", "--title", "Checkout down", token=sam.token
    )
    assert declared.returncode == 0, declared.stderr
    incident = json.loads(declared.stdout)
    assert incident["manager"] == sam.id and incident["title"] == "Checkout down"
    short = incident["id"][:8]

    shown = stack.run("show", short, token=sam.token)
    assert shown.returncode == 0, shown.stderr
    assert "Checkout down" in shown.stdout and "open" in shown.stdout
    assert "Manager     Sam" in shown.stdout  # roles by name, aligned
    assert "Due" in shown.stdout and "acknowledges the page" in shown.stdout
    assert "Sam declared it at level 2" in shown.stdout  # the last events

    added = stack.run("worker", "add", incident["id"], wes.id, token=sam.token)
    assert added.returncode == 0, added.stderr
    assert "Wes is a worker" in added.stdout

    update = ("--learned", "disk full", "--tried", "cleanup", "--outcome", "partial")
    posted = stack.run("update", short, *update, "--working-on", "resize", "--remaining", "verify", token=wes.token)
    assert posted.returncode == 0, posted.stderr
    assert "Status update posted" in posted.stdout

    refused = stack.run("severity", short, "1", "--reason", "it is worse", token=wes.token)
    assert refused.returncode == 1
    assert refused.stderr.startswith("refused (R13): only the incident's manager may change its severity")
    assert "Sam" in refused.stderr and refused.stdout == ""

    resolved = stack.run(
        "--json", "resolve", short, "--resolution", "disk resized", "--test-plan", "load test passed", token=sam.token
    )
    assert resolved.returncode == 0, resolved.stderr
    assert json.loads(resolved.stdout)["status"] == "resolved"

    shown = stack.run("show", incident["id"], token=wes.token)
    assert "status update from Wes" in shown.stdout and "Learned: disk full" in shown.stdout
    assert "Sam resolved it: “disk resized”" in shown.stdout


def test_cli_json_anywhere_on_the_line_prints_the_apis_json(stack: Stack):
    sam = stack.person("Sam")
    aspect = stack.aspect([sam])
    declared = stack.run("declare", "--aspect", aspect, "--severity", "3", "--title", "Slow", "--json", token=sam.token)
    incident = json.loads(declared.stdout)

    listed = stack.run("list", "--status", "open", "--json", token=sam.token)
    assert listed.returncode == 0, listed.stderr
    assert incident["id"] in [i["id"] for i in json.loads(listed.stdout)["incidents"]]
    shown = json.loads(stack.run("--json", "show", incident["id"], token=sam.token).stdout)
    assert shown["id"] == incident["id"] and shown["due"]["acknowledgement_due_at"]
    acknowledged = json.loads(stack.run("--json", "ack", incident["id"], token=sam.token).stdout)
    assert acknowledged["acknowledged"] is True and acknowledged["version"] == 2


def test_cli_people_are_found_by_part_of_a_name_and_named_by_their_email(stack: Stack):
    sam, wes = stack.person("Sam"), stack.person("Wesley")
    incident = stack.declare(sam, stack.aspect([sam]))
    for _ in range(50):  # the people list is a projection: a registration shows there a moment later
        listed = stack.run("people", wes.email.split("@")[0], token=sam.token)
        if wes.email in listed.stdout:
            break
        time.sleep(0.1)
    assert listed.returncode == 0, listed.stderr
    assert "Wesley" in listed.stdout and wes.id in listed.stdout and "NAME" in listed.stdout

    added = stack.run("--json", "observer", "add", incident["id"], wes.email.upper(), token=sam.token)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["observers"] == [wes.id]
    unknown = stack.run("worker", "add", incident["id"], "nobody@example.com", token=sam.token)
    assert unknown.returncode == 2 and "nobody has the email nobody@example.com" in unknown.stderr


def test_cli_report_open_asks_for_a_signed_link_and_opens_it_in_the_browser(stack: Stack, tmp_path):
    sam = stack.person("Sam")
    incident = stack.declare(sam, stack.aspect([sam]), "Lost orders")
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"  # stands in for the person's browser: notes the URL it is given
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    for _ in range(50):  # the post-mortem service learns of the incident a moment after it is declared
        result = stack.run("report", incident["id"], "--open", token=sam.token, BROWSER=f"{browser} %s")
        if result.returncode == 0:
            break
        time.sleep(0.1)
    assert result.returncode == 0, result.stderr
    url = opened.read_text().strip()
    assert url in result.stdout and "Opened the report" in result.stdout
    page = httpx.get(url, timeout=10)  # no token: the signed link is enough
    assert page.status_code == 200 and "Lost orders" in page.text


def test_cli_the_report_is_printed_from_the_postmortem_service(stack: Stack):
    sam = stack.person("Sam")
    aspect = stack.aspect([sam])
    incident = stack.declare(sam, aspect, "Lost orders", 2)
    for _ in range(50):  # the post-mortem service drafts it from the declaration, a moment later
        printed = stack.run("report", incident["id"], token=sam.token)
        if printed.returncode == 0:
            break
        time.sleep(0.1)
    assert printed.returncode == 0, printed.stderr
    assert "# Post-mortem: Lost orders" in printed.stdout
