"""Exit codes a script can rely on: 1 refused, 2 usage, 3 unreachable; and what a person reads then."""

import json

from tests.cli.conftest import Stack
from tools.localstack import free_port


def test_cli_an_unreachable_service_exits_3_naming_the_url_tried(stack: Stack):
    url = f"http://127.0.0.1:{free_port()}"
    result = stack.run("list", token="any", WARROOM_URL=url)
    assert result.returncode == 3
    assert f"cannot reach the incident service at {url}" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_a_command_line_warroom_cannot_act_on_exits_2(stack: Stack):
    missing = stack.run("declare", "--aspect", "servers", "--title", "T", token="any")
    assert missing.returncode == 2 and "--severity" in missing.stderr
    assert stack.run("resolve", token="any").returncode == 2
    assert stack.run("no-such-command", token="any").returncode == 2


def test_cli_update_without_a_terminal_names_the_missing_parts_and_exits_2_before_the_api(stack: Stack):
    sam = stack.person("Sam")
    aspect = stack.aspect([sam])
    incident = stack.declare(sam, aspect, "T", 2)
    result = stack.run("update", incident["id"], "--learned", "disk full", "--tried", "cleanup", token=sam.token)
    assert result.returncode == 2
    assert "--outcome, --working-on, --remaining" in result.stderr
    blank = stack.run("update", incident["id"], "--learned", "  ", token=sam.token)
    assert blank.returncode == 2 and "--learned is blank" in blank.stderr
    history = json.loads(stack.run("--json", "show", incident["id"], token=sam.token).stdout)
    assert history["version"] == 1  # nothing reached the service


def test_cli_a_refusal_exits_1_with_title_detail_and_rule(stack: Stack):
    unknown = stack.run("show", "0" * 36, token=stack.person("Pat").token)
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr and "Not found (HTTP 404)" in unknown.stderr
    unsigned = stack.run("list", token="not-a-token")
    assert unsigned.returncode == 1 and "warroom login" in unsigned.stderr


def test_cli_verify_needs_an_incident_or_a_file_not_both_and_exits_2(stack: Stack):
    for args in ((), ("some-id", "--file", "history.ndjson")):
        verify = stack.run("verify", *args)
        assert verify.returncode == 2 and "give an incident's ID, or --file" in verify.stderr, verify.stderr
