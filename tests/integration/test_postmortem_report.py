"""The report of a scripted incident (fixed times): its Markdown against a golden file, its sections'
facts, and the same document in JSON, Markdown and HTML.

Regenerate the golden file after an intended change with WARROOM_UPDATE_GOLDEN=1.
"""

import os
import re
from pathlib import Path

from tests.support.postmortem import scripted_report, section

GOLDEN = Path(__file__).parents[1] / "golden" / "postmortem_report.md"


async def test_the_markdown_report_of_a_scripted_incident_matches_the_golden_file(database_url, nats_url):
    document, markdown, html = await scripted_report(database_url, nats_url)

    if os.environ.get("WARROOM_UPDATE_GOLDEN"):
        GOLDEN.write_text(markdown)
    assert markdown == GOLDEN.read_text()
    # The three formats tell the same story.
    assert [s["title"] for s in document["sections"]] == re.findall(r"^## \d\. (.+)$", markdown, re.M)
    for s in document["sections"]:
        assert f'id="section-{s["id"]}"' in html
        assert s["text"] in markdown and s["text"] in html.replace("&#39;", "'")


async def test_sections_of_the_scripted_report_carry_the_generated_facts(database_url, nats_url):
    document, _, _ = await scripted_report(database_url, nats_url)

    problem = section(document, "problem")["generated"]
    assert (problem["title"], problem["initial_severity"], problem["highest_severity"]) == (
        "Checkout returns 500",
        2,
        1,
    )
    managers = section(document, "participants")["generated"]["managers"]
    assert [(m["name"], [(t["from"][11:16], t["to"][11:16]) for t in m["tenures"]]) for m in managers] == [
        ("Ann Archer", [("09:00", "09:15"), ("10:45", "12:00")]),
        ("Bob Baker", [("09:15", "10:45")]),
    ]
    participants = section(document, "participants")["generated"]
    assert [p["name"] for p in participants["observers"]] == ["Eve Evans"]
    assert [p["name"] for p in participants["pr_managers"]] == ["Pia Park"]
    handling = section(document, "handling")["generated"]
    assert (handling["escalations"], handling["manager_changes"], handling["status_updates"]) == (1, 2, 2)
    solution = section(document, "solution")["generated"]
    assert solution["resolution"] == "Reverted the payment gateway configuration change"
    assert section(document, "prevention")["generated"]["action_items"] == [1]
    assert section(document, "handling_lessons")["generated"]["action_items"] == [2, 3]
    assert document["durations"] == {
        "to_acknowledge": 18 * 60.0,
        "to_first_status_update": 70 * 60.0,
        "to_resolve": 180 * 60.0,
        "at_level": {"2": 45 * 60.0, "1": 135 * 60.0},
    }
