"""A property of policy back-testing: a process back-tested against itself — as a change that changes
nothing, or as the whole document — reports no difference, for histories Hypothesis generates and the
real incident service runs (the generators of test_process_kernel_agreement.py); and the replay under the
version an incident ran with sets the deadlines the adherence table shows."""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.postmortem.adherence import evaluate
from services.postmortem.backtest import judge, summary
from services.postmortem.domain import fold
from services.postmortem.proposals import ProposedProcess, proposed
from services.postmortem.replay import replay
from services.postmortem.time_on_incidents import TimeOnIncidents
from services.postmortem.timeline import entry_of
from shared.process.hours import hours_of
from shared.process.rules import Rules
from tests.unit.test_process_kernel_agreement import COMMANDS, InMemoryIncidents, hours, processes

# The rows both judge alike: the replay decides escalations, tenure and freshness from the rules instead
# of reading what the timers did, and a real escalation's page is judged by its end there.
SHARED_KINDS = ("checklist", "status_update", "public_update")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    process=processes(),
    sme_hours=hours(),
    data=st.data(),
    commands=COMMANDS,
    declared_minute=st.integers(0, 365 * 24 * 60),
    judged_later=st.integers(0, 24 * 60),
)
def test_r05_r06_r08_r11_r14_r19_a_process_back_tested_against_itself_reports_no_difference(
    process, sme_hours, data, commands, declared_minute, judged_later
):
    declared_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=declared_minute)
    history = InMemoryIncidents(process, sme_hours, declared_at)
    incident_id = history.run(data.draw(st.integers(1, len(process["levels"]))), commands, data)
    app = history.app
    document = app.incidents.process_of(app.incidents.incident(incident_id))
    people = {str(p.person_id): hours_of(app.people.person(p.person_id).hours()) for p in history.people.values()}
    story = fold([entry for e in history.envelopes() if (entry := entry_of(e)) and entry.incident_id == incident_id])
    assert story is not None
    now = history.clock.now() + timedelta(minutes=judged_later)
    time_on = TimeOnIncidents([story])
    versions = {story.process_version: document}
    before = replay(story, Rules.of(document), people, time_on, now)

    for proposal in (
        proposed(versions, {}, None),
        proposed(versions, None, ProposedProcess.model_validate(document)),
    ):
        after = replay(story, Rules.of(proposal.documents[story.process_version]), people, time_on, now)
        judged = judge(story, before, after, lambda p: p or "nobody")
        total = summary([judged], [Rules.of(proposal.documents[story.process_version])])
        assert judged.differences == ()
        assert after == before
        assert total["deviations_before"] == total["deviations_after"] and total["incidents_changed"] == 0

    table = evaluate(story, document, [], now, lambda p: p or "nobody", people)
    for kind in SHARED_KINDS:
        assert [(r.due_at, r.outcome, r.late_by) for r in before.rows if r.kind == kind] == [
            (r.due_at, r.outcome, r.late_by) for r in table if r.kind == kind
        ]
    assert [p.due_at for p in before.pages] == [r.due_at for r in table if r.kind == "acknowledgement"]
