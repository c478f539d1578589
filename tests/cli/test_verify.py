"""S8 from the command line: `warroom verify ID` (the service's check, and its export checked by warroom) and
`warroom verify --file F` (an export, offline): exit 0 intact, 1 broken naming the event — against the real
services, the store changed behind their back."""

import json
from pathlib import Path

import httpx
import psycopg

from tests.cli.conftest import Person, Stack
from tests.support.incident import auth
from tools.localstack import free_port


def _incident(stack: Stack) -> tuple[dict, Person, Person]:
    """An incident with 4 events (declared, Wes added as a worker, two status requests), its manager and Wes."""
    sam, wes = stack.person("Sam"), stack.person("Wes")
    incident = stack.declare(sam, stack.aspect([sam]))
    assert stack.run("worker", "add", incident["id"], wes.id, token=sam.token).returncode == 0
    for _ in range(2):
        assert stack.run("status-request", incident["id"], token=sam.token).returncode == 0
    return incident, sam, wes


def _export(stack: Stack, incident: dict, token: str, folder: Path) -> Path:
    with httpx.Client(base_url=stack.incident_url, headers=auth(token), timeout=10) as client:
        answer = client.get(f"/v1/incidents/{incident['id']}/events", headers={"Accept": "application/x-ndjson"})
    assert answer.status_code == 200 and answer.text.count("\n") == 4
    path = folder / "history.ndjson"
    path.write_text(answer.text)
    return path


def _offline(stack: Stack, path: Path):
    """`warroom verify --file` with no token and no service to ask (nothing listens where it would)."""
    return stack.run("verify", "--file", str(path), WARROOM_URL=f"http://127.0.0.1:{free_port()}")


def test_s8_an_intact_incident_verifies_online_and_its_export_offline(stack: Stack, tmp_path: Path):
    incident, sam, wes = _incident(stack)
    online = stack.run("verify", incident["id"][:8], token=sam.token)
    assert online.returncode == 0, online.stderr
    assert "intact, 4 events, head sha256:" in online.stdout
    as_json = json.loads(stack.run("--json", "verify", incident["id"], token=sam.token).stdout)
    assert as_json["intact"] is True and as_json["head"] == as_json["export"]["head"]
    offline = _offline(stack, _export(stack, incident, sam.token, tmp_path))
    assert offline.returncode == 0, offline.stderr
    assert f"head {as_json['head']}" in offline.stdout


def test_s8_verify_file_on_a_tampered_export_fails_at_the_right_line(stack: Stack, tmp_path: Path):
    incident, sam, wes = _incident(stack)
    path = _export(stack, incident, sam.token, tmp_path)
    lines = path.read_text().splitlines()
    edited = json.loads(lines[1])
    assert edited["data"]["person"] == wes.id
    edited["data"]["person"] = sam.id  # Sam, not Wes, was added as a worker
    path.write_text("\n".join([lines[0], json.dumps(edited), *lines[2:]]) + "\n")
    changed = _offline(stack, path)
    assert changed.returncode == 1 and changed.stdout == ""
    assert changed.stderr.startswith("broken at sequence 2 (line 2)"), changed.stderr
    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n")  # the worker's event left out
    missing = _offline(stack, path)
    assert missing.returncode == 1 and missing.stderr.startswith("broken at sequence 2 (line 2)"), missing.stderr
    assert "sequence 3 stands where 2 should" in missing.stderr
    as_json = json.loads(stack.run("--json", "verify", "--file", str(path)).stdout)
    assert as_json == {**as_json, "intact": False, "broken_at": 2, "line": 2, "events": 1}


def test_s8_verify_id_after_an_update_made_in_postgresql_exits_1_naming_the_event(stack: Stack):
    incident, sam, wes = _incident(stack)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:  # Sam, not Wes, was added as a worker
        changed = conn.execute(
            "UPDATE incident.incident_events SET state = convert_to(replace(convert_from(state, 'UTF8'), %s, %s), "
            "'UTF8') WHERE originator_id = %s AND originator_version = 2",
            (wes.id, sam.id, incident["id"]),
        )
        assert changed.rowcount == 1
    broken = stack.run("verify", incident["id"], token=sam.token)
    assert broken.returncode == 1 and broken.stdout == ""
    assert broken.stderr.startswith("broken at sequence 2"), broken.stderr
