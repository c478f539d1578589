"""`warroom backtest`: the installed command against the real incident and post-mortem services — the
totals and differences in words (or the API's JSON), a refused proposal exits 1, a command line it cannot
act on exits 2 before asking anything."""

import json
import time
from pathlib import Path

import httpx

from tests.cli.conftest import Stack
from tests.support.incident import ADMIN_TOKEN, auth


def strict_acknowledgement(stack: Stack, folder: Path) -> Path:
    """A change: level 1's pages are to be acknowledged within a second (every other level as it is)."""
    with httpx.Client(base_url=stack.incident_url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
        levels = admin.get("/v1/process").json()["levels"]
    change = {"levels": [{**level, "acknowledge_within": "PT1S"} if level["level"] == 1 else level for level in levels]}
    path = folder / "change.json"
    path.write_text(json.dumps(change))
    return path


def backtested(stack: Stack, token: str, *args: str):
    """`warroom backtest ARGS`, once the post-mortem service knows the incident (422 until it does)."""
    deadline = time.monotonic() + 20
    while True:
        result = stack.run("backtest", *args, token=token)
        if result.returncode == 0 or time.monotonic() > deadline or "no such incident" not in result.stderr:
            return result
        time.sleep(0.3)


def test_cli_backtest_prints_what_a_stricter_acknowledgement_would_have_judged_differently(stack: Stack, tmp_path):
    sam = stack.person("Sam")
    incident = stack.declare(sam, stack.aspect([sam]), "Checkout down", 1)
    change = strict_acknowledgement(stack, tmp_path)
    time.sleep(1.5)  # Sam has not acknowledged: a second was not enough

    text = backtested(stack, sam.token, "--change", str(change), "--incident", incident["id"][:8])
    as_json = stack.run("--json", "backtest", "--change", str(change), "--incident", incident["id"], token=sam.token)

    assert text.returncode == 0, text.stderr
    assert "Back-test of a change on 1 incident among the 1 listed" in text.stdout
    said = "1 acknowledgement would have been late or missed, against 0 under the versions they ran with."
    assert said in text.stdout
    assert "1 page would have escalated, against 0" in text.stdout
    assert f"{incident['id'][:8]} “Checkout down”" in text.stdout
    assert "The history is the real one" in text.stdout
    body = json.loads(as_json.stdout)
    (judged,) = body["incidents"]
    assert judged["incident_id"] == incident["id"]
    assert [d["kind"] for d in judged["differences"]] == ["acknowledgement"]
    assert judged["after"]["pages"][0]["escalated"] is True and judged["before"]["pages"][0]["escalated"] is False


def test_cli_backtest_exits_1_for_a_refused_proposal_and_2_for_a_command_line_it_cannot_act_on(stack: Stack, tmp_path):
    pat = stack.person("Pat")
    unfit = tmp_path / "unfit.json"
    unfit.write_text(json.dumps({"handover_warning_after": "PT9H"}))
    not_json = tmp_path / "not.json"
    not_json.write_text("{levels: nope")

    refused = stack.run("backtest", "--change", str(unfit), token=pat.token)
    neither = stack.run("backtest", token=pat.token)
    both = stack.run("backtest", "--change", str(unfit), "--document", str(unfit), token=pat.token)
    garbled = stack.run("backtest", "--change", str(not_json), token=pat.token)
    missing = stack.run("backtest", "--document", str(tmp_path / "absent.json"), token=pat.token)
    when = stack.run("backtest", "--change", str(unfit), "--since", "last tuesday", token=pat.token)

    assert refused.returncode == 1
    assert "handover_warning_after must come before manager_shift_limit" in refused.stderr
    for usage in (neither, both):
        assert usage.returncode == 2 and "exactly one of --change" in usage.stderr
    assert garbled.returncode == 2 and "is not JSON" in garbled.stderr
    assert missing.returncode == 2 and "cannot be read" in missing.stderr
    assert when.returncode == 2 and "is not an ISO 8601 moment" in when.stderr
