"""The report's formats: words for durations and intervals, the two pictures' geometry, a page that
needs nothing from outside, and Markdown that people's text cannot break."""

import re
from datetime import UTC, datetime, timedelta

from services.postmortem import charts, render
from services.postmortem.domain import fold
from services.postmortem.report import document
from services.postmortem.timeline import Entry
from services.postmortem.wording import human, span

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DECLARED = {
    "title": "Disk | full",
    "description": "d",
    "aspect": "db",
    "severity": 2,
    "manager": "ann",
    "smes": ["ann"],
    "declared_by": "dan",
    "process_version": 1,
    "paged": "ann",
}
PROCESS = {
    "levels": [
        {
            "level": n,
            "name": name,
            "checklist": [],
            "status_update_every": "PT1H",
            "public_update_every": None,
            "acknowledge_within": "PT5M",
        }
        for n, name in ((1, "Critical"), (2, "Serious"), (3, "Minor"))
    ]
}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def doc() -> dict:
    events = [
        ("declared", DECLARED, 0),
        ("severity_changed", {"previous": 2, "severity": 1, "reason": "worse", "by": "ann"}, 1),
        ("manager_changed", {"previous": "ann", "manager": "bob", "how": "accepted", "by": "bob"}, 2),
        ("severity_changed", {"previous": 1, "severity": 3, "reason": "better", "by": "bob"}, 3),
        ("resolved", {"resolution": "r", "test_plan": "t", "by": "bob"}, 4),
    ]
    entries = [
        Entry("inc-1", at(h), f"e{n}", n, f"warroom.incident.{kind}.v1", None, data)
        for n, (kind, data, h) in enumerate(events, start=1)
    ]
    item = {
        "id": 1,
        "title": "Split | the\ndisk",
        "owner": "bob",
        "due": at(48).date(),
        "kind": "prevention",
        "change": None,
        "created_by": "ann",
        "created_at": at(5),
        "applied_version": None,
        "applied_at": None,
        "applied_by": None,
    }
    return document(
        fold(entries),
        entries,
        PROCESS,
        {"ann": "Ann", "bob": "Bob"},
        [{"section": "cause", "text": "a | b\n\nc", "author": "ann", "at": at(5)}],
        [item],
        at(6),
    )


def test_durations_read_in_the_two_largest_units():
    assert [human(s) for s in (0, 0.25, 45, 270, 5400, 7 * 3600, 2 * 86400 + 4 * 3600 + 5)] == [
        "0 s",
        "0.2 s",
        "45 s",
        "4 min 30 s",
        "1 h 30 min",
        "7 h",
        "2 d 4 h",
    ]
    assert span(at(0), at(0.25)) == "2026-01-05 09:00–09:15 UTC (15 min)"
    assert span(at(10), at(26)) == "2026-01-05 19:00 → 2026-01-06 11:00 UTC (16 h)"
    assert span(at(0), None) == "2026-01-05 09:00 UTC → still going"


def test_the_severity_picture_steps_at_every_change_with_level_1_on_top():
    chart = charts.severity(doc(), {1: "Critical", 2: "Serious", 3: "Minor"})

    ys = {n: charts.TOP + charts.ROW * (n - 0.5) for n in (1, 2, 3)}
    x = [charts.LEFT + (charts.WIDTH - charts.LEFT - charts.RIGHT) * h / 4 for h in (0, 1, 3, 4)]
    assert chart.path == f"M {x[0]} {ys[2]} H {x[1]} V {ys[1]} H {x[2]} V {ys[3]} H {x[3]}"
    assert [label for _, label in chart.rows] == ["Level 1 · Critical", "Level 2 · Serious", "Level 3 · Minor"]
    assert [label for _, label in chart.ticks] == ["09:00", "10:00", "11:00", "12:00", "13:00"]


def test_the_tenure_picture_has_one_bar_per_interval_labelled_with_the_person():
    chart = charts.tenure(doc())

    assert [(bar["label"], bar["duration"]) for bar in chart.bars] == [("Ann", "2 h"), ("Bob", "2 h")]
    assert chart.bars[0]["x"] + chart.bars[0]["width"] == chart.bars[1]["x"]


def test_the_html_page_is_self_contained_and_escapes_what_people_wrote():
    page = render.html(doc())

    assert not re.search(r"""\b(src|href)\s*=|url\(|@import|<script|<link""", page, re.I)
    assert page.count("<svg") == 2 and "Disk | full" in page
    assert '<div class="narrative markdown"><p>a | b</p>\n<p>c</p>\n</div>' in page  # Markdown, rendered
    assert "<script>" not in render.html({**doc(), "title": "<script>alert(1)</script>"})


def test_markdown_tables_survive_pipes_and_line_breaks_in_peoples_text():
    markdown = render.markdown(doc())

    assert markdown.startswith("# Post-mortem: Disk | full\n")
    assert "a | b\n\nc" in markdown  # a narrative is Markdown, as written
    assert "| 1 | Split \\| the disk | Bob |" in markdown
    for table in re.findall(r"(?:^\|.*\n)+", markdown, re.M):  # every row has its header's columns
        rows = table.splitlines()
        assert {len(re.findall(r"(?<!\\)\|", row)) for row in rows} == {len(re.findall(r"(?<!\\)\|", rows[0]))}


def test_r14_a_step_not_done_or_not_due_reads_so_in_every_format_in_neutral_colours():
    process = {
        "levels": [
            *PROCESS["levels"][:2],
            {
                **PROCESS["levels"][2],
                "checklist": [
                    {"id": "ticket", "title": "File a ticket", "due_within": None},
                    {"id": "review", "title": "Review the alerts", "due_within": "PT10H"},
                ],
            },
        ]
    }
    entries = [
        Entry("inc-1", at(h), f"e{n}", n, f"warroom.incident.{kind}.v1", None, data)
        for n, (kind, data, h) in enumerate(
            [
                ("declared", {**DECLARED, "severity": 3}, 0),
                ("acknowledged", {"person": "ann"}, 0.05),
                ("resolved", {"resolution": "r", "test_plan": "t", "by": "ann"}, 1),
            ],
            start=1,
        )
    ]
    report = document(fold(entries), entries, process, {"ann": "Ann"}, [], [], at(2))

    markdown, page = render.markdown(report), render.html(report)

    assert [(i["what"], i["outcome"]) for i in report["adherence"] if i["kind"] == "checklist"] == [
        ("File a ticket", "not_done"),
        ("Review the alerts", "not_due"),
    ]
    assert "| **not done** | not done before the resolution (it has no deadline) |" in markdown
    assert "| **not due** | due after the resolution |" in markdown
    assert "- **Process adherence:** 1 met · 1 not due · 1 not done" in markdown
    assert '<span class="outcome not_done">not done</span>' in page
    neutral = re.search(r"^\s*(.*\.outcome\.not_done.*)$", page, re.M).group(1)
    assert ".outcome.not_due" in neutral and "var(--calm)" in neutral and "missed" not in neutral
