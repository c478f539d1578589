"""The incident service's rules, in memory (no PostgreSQL, no HTTP), time driven by a fake clock."""

from datetime import UTC, datetime, timedelta

import pytest

from services.incident.application import IncidentApplication
from services.incident.domain import Incident
from services.incident.errors import Conflict, Forbidden, Invalid
from services.incident.policy import Actor
from shared.clock import FakeClock
from shared.process.document import ProcessDocument

ADMIN_TOKEN = "unit-admin-token"
HOURS = {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}
ACK_WITHIN = timedelta(minutes=5)  # level 1 of the default process, paged at any hour


class World:
    def __init__(self):
        self.clock = FakeClock()
        self.app = IncidentApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=self.clock)
        self.app.people.ensure_admin(ADMIN_TOKEN)
        self.admin = self.app.people.authenticate(ADMIN_TOKEN)
        self.people = {}
        for name in ("sam", "tess", "wes", "pat", "olga", "prue"):
            self.register(name)
        self.app.organisation.set_aspect("servers", [self.id("sam"), self.id("tess")], self.admin)

    def register(self, name: str, **fields) -> str:
        person = self.app.people.register_person(
            {
                "name": name,
                "email": f"{name}@example.com",
                "timezone": "UTC",
                "phone": None,
                "groups": [],
                "working_hours": HOURS,
                "waking_hours": None,
                "webhook_url": None,
                "admin": False,
                **fields,
            },
            self.admin,
        )
        self.people[name] = Actor(str(person.id), admin=person.admin)
        return str(person.id)

    def id(self, name: str) -> str:
        return self.people[name].person_id

    def declare(self, by: str = "pat", **overrides):
        fields = {"title": "Site down", "description": "", "aspect": "servers", "severity": 1, "manager": None}
        return self.app.incidents.declare(**{**fields, **overrides}, actor=self.people[by])

    def do(self, incident, who: str, change):
        actor = self.admin if who == "admin" else self.people[who]
        return self.app.incidents.command(str(incident.id), None, actor, change)

    def process(self, **changes):
        _, document = self.app.organisation.process()
        self.app.organisation.put_process(ProcessDocument.model_validate({**document, **changes}), self.admin)


@pytest.fixture
def world():
    return World()


def test_r01_roles_are_per_incident_and_any_person_can_hold_any(world):
    first, second = world.declare(), world.declare(by="sam")
    world.do(first, "sam", lambda i, ctx: i.add_worker(world.id("pat"), 0, True, ctx))
    world.do(second, "sam", lambda i, ctx: i.add_member("observer", world.id("pat"), ctx))
    assert world.app.incidents.incident(str(first.id)).roles_of(world.id("pat")) == {"worker"}
    assert world.app.incidents.incident(str(second.id)).roles_of(world.id("pat")) == {"observer"}


def test_r02_anyone_may_declare_and_the_first_sme_manages(world):
    incident = world.declare()
    assert incident.manager == incident.paged == world.id("sam")
    assert incident.smes == [world.id("sam"), world.id("tess")] and incident.process_version == 1


def test_r02_a_named_manager_is_paged_instead(world):
    incident = world.declare(manager=world.id("wes"))
    assert incident.manager == incident.paged == world.id("wes")


def test_r03_the_manager_is_never_a_worker_and_taking_over_stops_working(world):
    incident = world.declare()
    with pytest.raises(Conflict) as refused:
        world.do(incident, "sam", lambda i, ctx: i.add_worker(world.id("sam"), 0, True, ctx))
    assert refused.value.rule == "R03"
    world.do(incident, "sam", lambda i, ctx: i.add_worker(world.id("wes"), 0, True, ctx))
    world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("wes"), "over to you", ctx))
    incident = world.do(incident, "wes", lambda i, ctx: i.accept_handover(ctx))
    assert incident.manager == world.id("wes") and incident.workers == []


def test_r04_the_manager_stays_in_charge_until_the_offer_is_accepted(world):
    incident = world.declare()
    with pytest.raises(Forbidden):
        world.do(incident, "wes", lambda i, ctx: i.offer_handover(world.id("wes"), "x", ctx))
    world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("wes"), "briefing", ctx))
    incident = world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("tess"), "rather you", ctx))
    assert incident.manager == world.id("sam") and incident.handover_offer["to"] == world.id("tess")
    with pytest.raises(Forbidden):
        world.do(incident, "wes", lambda i, ctx: i.accept_handover(ctx))
    incident = world.do(incident, "tess", lambda i, ctx: i.decline_handover(ctx))
    assert incident.manager == world.id("sam") and incident.handover_offer is None


def test_r04_only_an_admin_forces_a_handover_and_the_reason_is_kept(world):
    incident = world.declare()
    with pytest.raises(Forbidden):
        world.do(incident, "sam", lambda i, ctx: i.force_handover(world.id("wes"), "unreachable", ctx))
    incident = world.do(incident, "admin", lambda i, ctx: i.force_handover(world.id("wes"), "unreachable", ctx))
    assert incident.manager == world.id("wes") and incident.managers == [world.id("sam"), world.id("wes")]


def test_r05_past_the_shift_limit_only_the_handover_offer_remains(world):
    incident = world.declare()
    world.clock.advance(timedelta(hours=8, minutes=1))
    with pytest.raises(Conflict) as refused:
        world.do(incident, "sam", lambda i, ctx: i.change_severity(2, "better", [], ctx))
    assert refused.value.rule == "R05"
    world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("tess"), "I'm done", ctx))
    world.do(incident, "admin", lambda i, ctx: i.add_worker(world.id("wes"), 0, True, ctx))  # admins still act


def test_r05_tenure_runs_across_incidents_and_resets_only_after_a_break(world):
    first = world.declare()
    world.clock.advance(timedelta(hours=5))
    world.do(first, "sam", lambda i, ctx: i.resolve("fixed", "tests", ctx))
    world.clock.advance(timedelta(minutes=30))  # shorter than manager_min_break: still the same shift
    second = world.declare()
    world.clock.advance(timedelta(hours=3))
    with pytest.raises(Conflict):
        world.do(second, "sam", lambda i, ctx: i.change_severity(2, "x", [], ctx))
    world.do(second, "admin", lambda i, ctx: i.force_handover(world.id("tess"), "tired", ctx))
    world.clock.advance(timedelta(hours=1))  # a real break
    third = world.declare()
    world.do(third, "sam", lambda i, ctx: i.change_severity(2, "x", [], ctx))


def test_r05_a_rested_manager_may_reopen_after_the_shift_limit(world):
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.resolve("rolled back", "smoke tests", ctx))
    world.clock.advance(timedelta(hours=9))  # past the limit since the declaration, but rested since resolving
    incident = world.do(incident, "sam", lambda i, ctx: i.reopen("it came back", ctx))
    assert incident.status == "open" and incident.manager_since == world.clock.now()
    due = world.app.incidents.representation(incident)["due"]
    assert due["shift_limit_at"] == world.clock.now() + timedelta(hours=8)


def test_r05_a_manager_still_within_a_tenure_past_the_limit_may_not_reopen(world):
    first, _second = world.declare(), world.declare()  # Sam manages both
    world.do(first, "sam", lambda i, ctx: i.resolve("rolled back", "smoke tests", ctx))
    world.clock.advance(timedelta(hours=8, minutes=1))  # still managing the second: no break at all
    with pytest.raises(Conflict) as refused:
        world.do(first, "sam", lambda i, ctx: i.reopen("it came back", ctx))
    assert refused.value.rule == "R05"
    assert world.app.incidents.incident(str(first.id)).status == "resolved"


def test_r05_an_admin_who_manages_is_held_to_the_shift_limit(world):
    ann = world.register("ann", admin=True)
    incident = world.declare(manager=ann)
    world.clock.advance(timedelta(hours=8, minutes=1))
    for change in (
        lambda i, ctx: i.change_severity(2, "better", [], ctx),
        lambda i, ctx: i.add_worker(world.id("wes"), 0, True, ctx),
        lambda i, ctx: i.complete_step("announce", ctx),
        lambda i, ctx: i.resolve("fixed", "tests", ctx),
    ):
        with pytest.raises(Conflict) as refused:
            world.do(incident, "ann", change)
        assert refused.value.rule == "R05"
    assert world.app.incidents.incident(str(incident.id)).version == 1  # nothing changed
    world.do(incident, "ann", lambda i, ctx: i.offer_handover(world.id("tess"), "I am done", ctx))
    incident = world.do(incident, "ann", lambda i, ctx: i.force_handover(world.id("wes"), "nobody answers", ctx))
    assert incident.manager == world.id("wes")


def test_r05_the_shift_limit_is_never_shown_before_the_incident_was_taken_on(world):
    world.declare()  # Sam manages it from 09:00 without a break
    world.clock.advance(timedelta(hours=9))
    second = world.declare(by="pat", manager=world.id("tess"))
    second = world.do(second, "admin", lambda i, ctx: i.force_handover(world.id("sam"), "knows the system", ctx))
    due = world.app.incidents.representation(second)["due"]
    assert second.manager_since == second.declared_at - timedelta(hours=9)  # the tenure counts from 09:00
    assert due["shift_limit_at"] == due["handover_warning_at"] == world.clock.now()  # due at once, not in the past


def test_r06_a_status_update_names_every_missing_or_blank_part_at_once(world):
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.add_worker(world.id("wes"), 0, True, ctx))
    with pytest.raises(Invalid) as refused:
        world.do(incident, "wes", lambda i, ctx: i.post_status_update({"learned": "db", "tried": " "}, ctx))
    assert refused.value.rule == "R06"
    assert [e["field"] for e in refused.value.errors] == ["tried", "outcome", "working_on", "remaining"]
    parts = dict(learned="a", tried="b", outcome="c", working_on="d", remaining="e")
    with pytest.raises(Forbidden):
        world.do(incident, "tess", lambda i, ctx: i.post_status_update(parts, ctx))
    assert world.do(incident, "wes", lambda i, ctx: i.post_status_update(parts, ctx)).status_updates == 1


def test_r07_observers_give_severity_input_but_change_nothing_else(world):
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.add_member("observer", world.id("olga"), ctx))
    incident = world.do(incident, "olga", lambda i, ctx: i.give_severity_input(2, "customers calm", ctx))
    assert incident.severity_inputs[0]["level"] == 2
    with pytest.raises(Forbidden):
        world.do(incident, "olga", lambda i, ctx: i.change_severity(2, "x", [], ctx))
    with pytest.raises(Forbidden):
        world.do(incident, "olga", lambda i, ctx: i.add_worker(world.id("wes"), 0, True, ctx))


def test_r08_the_pr_manager_is_neither_manager_nor_worker_and_posts_public_updates(world):
    incident = world.declare()
    with pytest.raises(Conflict) as refused:
        world.do(incident, "sam", lambda i, ctx: i.assign_pr_manager(world.id("sam"), ctx))
    assert refused.value.rule == "R08"
    world.do(incident, "sam", lambda i, ctx: i.assign_pr_manager(world.id("prue"), ctx))
    with pytest.raises(Conflict):
        world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("prue"), "x", ctx))
    with pytest.raises(Conflict):
        world.do(incident, "sam", lambda i, ctx: i.add_worker(world.id("prue"), 0, True, ctx))
    with pytest.raises(Forbidden):
        world.do(incident, "prue", lambda i, ctx: i.change_severity(2, "x", [], ctx))
    world.do(incident, "prue", lambda i, ctx: i.post_public_update("We are on it", ctx))
    world.do(incident, "sam", lambda i, ctx: i.request_affected_info("Which region?", ctx))
    world.do(incident, "prue", lambda i, ctx: i.report_affected_info("EU only", ctx))


def test_r10_an_uncovered_aspect_pages_the_catch_all_and_flags_a_gap(world):
    with pytest.raises(Conflict) as refused:
        world.declare(aspect="office network")
    assert refused.value.rule == "R10"
    world.process(catch_all_sme=world.id("tess"))
    incident = world.declare(aspect="office network")
    assert incident.coverage_gap and incident.manager == world.id("tess")


def test_r10_a_typo_in_the_aspect_pages_the_catch_all_and_suggests_the_nearest_aspect(world):
    world.app.organisation.set_aspect("database", [world.id("wes")], world.admin)
    with pytest.raises(Conflict) as refused:  # no catch-all: nobody to page, but a hint
        world.declare(aspect="databse")
    assert refused.value.rule == "R10" and "did you mean 'database'" in refused.value.detail
    world.process(catch_all_sme=world.id("tess"))
    incident = world.declare(aspect="databse")
    assert incident.coverage_gap and incident.manager == incident.paged == world.id("tess")
    coverage = world.app.organisation.declaration_coverage(incident.aspect, incident.coverage_gap, incident.paged)
    assert coverage == {"gap": True, "aspect_known": False, "did_you_mean": ["database"], "paged": world.id("tess")}
    known = world.app.organisation.declaration_coverage("servers", False, world.id("sam"))
    assert known["aspect_known"] and known["did_you_mean"] == []


def test_r10_the_coverage_report_names_declared_aspects_without_smes_and_a_missing_catch_all(world):
    world.app.organisation.set_aspect("office network", [], world.admin)
    report = world.app.organisation.coverage({"servers", "databse", "office network"})
    assert report["uncovered"] == ["office network"]
    assert report["declared_without_sme"] == ["databse", "office network"]
    assert report["catch_all_sme"] is None and "R10" in report["warnings"][0]
    world.process(catch_all_sme=world.id("tess"))
    report = world.app.organisation.coverage(set())
    assert report["catch_all_sme"] == world.id("tess") and report["warnings"] == []


def test_r11_an_unanswered_page_escalates_to_the_next_sme_then_the_catch_all_then_observers(world):
    world.process(catch_all_sme=world.id("olga"))
    incident = world.declare()
    world.clock.advance(ACK_WITHIN)
    assert world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")
    assert not world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")  # the same timer twice
    incident = world.app.incidents.incident(str(incident.id))
    assert incident.manager == incident.paged == world.id("tess")
    world.clock.advance(ACK_WITHIN)
    world.app.consequences.escalate(str(incident.id), world.id("tess"), "t2")
    assert world.app.incidents.incident(str(incident.id)).manager == world.id("olga")
    world.clock.advance(ACK_WITHIN)
    world.app.consequences.escalate(str(incident.id), world.id("olga"), "t3")
    incident = world.app.incidents.incident(str(incident.id))
    assert incident.manager == world.id("olga") and "t3" in incident.handled_timers


def test_r11_an_acknowledged_page_does_not_escalate(world):
    incident = world.declare()
    with pytest.raises(Forbidden):
        world.do(incident, "tess", lambda i, ctx: i.acknowledge(ctx))
    world.do(incident, "sam", lambda i, ctx: i.acknowledge(ctx))
    world.clock.advance(ACK_WITHIN)
    assert not world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")
    assert world.app.incidents.incident(str(incident.id)).version == 2  # declared, acknowledged: nothing more


def test_r11_an_ack_due_before_the_page_is_due_changes_nothing(world):
    incident = world.declare()
    world.clock.advance(ACK_WITHIN - timedelta(seconds=2))  # the timer's clock ran ahead, or it fired early
    assert not world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")
    incident = world.app.incidents.incident(str(incident.id))
    assert incident.version == 1 and incident.manager == world.id("sam") and "t1" not in incident.handled_timers
    world.clock.advance(timedelta(seconds=1))  # within a second of the deadline: the deadline
    assert world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")
    assert world.app.incidents.incident(str(incident.id)).manager == world.id("tess")


def test_r11_a_night_page_is_not_escalated_before_waking_hours_begin(world):
    nora = world.register("nora", timezone="America/Los_Angeles")  # 09:00 UTC is 01:00 there
    incident = world.declare(severity=2, manager=nora)  # level 2 pages within waking hours, acknowledged in 15 min
    world.clock.advance(timedelta(minutes=15))
    assert not world.app.consequences.escalate(str(incident.id), nora, "t1")
    world.clock.advance(timedelta(hours=6))  # 07:15 in Los Angeles
    assert world.app.consequences.escalate(str(incident.id), nora, "t1")
    assert world.app.incidents.incident(str(incident.id)).manager == world.id("sam")


def test_r11_a_stale_ack_due_after_a_handover_changes_nothing(world):
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("wes"), "over to you", ctx))
    world.do(incident, "wes", lambda i, ctx: i.accept_handover(ctx))
    world.clock.advance(ACK_WITHIN)
    # Sam's page, before the handover
    assert not world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")
    incident = world.app.incidents.incident(str(incident.id))
    assert incident.manager == world.id("wes") and incident.version == 3 and "t1" not in incident.handled_timers
    assert world.app.incidents.representation(incident)["due"]["acknowledgement_due_at"] is None  # nobody is waited for


def test_r11_a_stale_ack_due_after_a_forced_handover_changes_nothing(world):
    incident = world.declare()
    world.do(incident, "admin", lambda i, ctx: i.force_handover(world.id("pat"), "unreachable", ctx))
    world.clock.advance(ACK_WITHIN)
    assert not world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")
    assert world.app.incidents.incident(str(incident.id)).manager == world.id("pat")


def test_r08_escalation_skips_the_pr_manager(world):
    world.app.organisation.set_aspect("servers", [world.id("sam"), world.id("prue"), world.id("tess")], world.admin)
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.assign_pr_manager(world.id("prue"), ctx))
    world.clock.advance(ACK_WITHIN)
    assert world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")
    incident = world.app.incidents.incident(str(incident.id))
    # the list's order, less Prue
    assert incident.manager == world.id("tess") and incident.pr_manager == world.id("prue")


def test_r08_escalation_never_pages_a_pr_manager_who_is_the_catch_all(world):
    world.process(catch_all_sme=world.id("prue"))
    world.app.organisation.set_aspect("servers", [world.id("sam")], world.admin)
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.assign_pr_manager(world.id("prue"), ctx))
    world.clock.advance(ACK_WITHIN)
    assert world.app.consequences.escalate(str(incident.id), world.id("sam"), "t1")  # observers are told: unanswered
    incident = world.app.incidents.incident(str(incident.id))
    assert incident.manager == world.id("sam") and incident.pages == [world.id("sam")]


def test_r08_the_pr_manager_cannot_accept_a_handover(world):
    incident = world.declare()
    incident = world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("prue"), "yours", ctx))
    # History written before the offeree could no longer be made PR manager: the offer, then the assignment.
    incident.trigger_event(Incident.PrManagerAssigned, person=world.id("prue"), previous=None, by=world.id("sam"))
    world.app.save(incident)
    with pytest.raises(Conflict) as refused:
        world.do(incident, "prue", lambda i, ctx: i.accept_handover(ctx))
    assert refused.value.rule == "R08"
    incident = world.app.incidents.incident(str(incident.id))
    assert incident.manager == world.id("sam") and incident.version == 3


def test_r08_the_offeree_of_a_pending_handover_cannot_be_made_pr_manager(world):
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.offer_handover(world.id("prue"), "yours", ctx))
    with pytest.raises(Conflict) as refused:
        world.do(incident, "sam", lambda i, ctx: i.assign_pr_manager(world.id("prue"), ctx))
    assert refused.value.rule == "R08"
    world.do(incident, "prue", lambda i, ctx: i.decline_handover(ctx))
    assert world.do(incident, "sam", lambda i, ctx: i.assign_pr_manager(world.id("prue"), ctx)).pr_manager == world.id(
        "prue"
    )


def test_r13_severity_changes_by_the_manager_only_with_a_reason_citing_input(world):
    incident = world.declare()
    with pytest.raises(Forbidden) as refused:
        world.do(incident, "tess", lambda i, ctx: i.change_severity(2, "better", [], ctx))
    assert refused.value.rule == "R13"
    incident = world.do(incident, "tess", lambda i, ctx: i.give_severity_input(2, "workaround holds", ctx))
    cited = incident.severity_inputs[0]["sequence"]
    with pytest.raises(Invalid):
        world.do(incident, "sam", lambda i, ctx: i.change_severity(2, "  ", [cited], ctx))
    with pytest.raises(Invalid):
        world.do(incident, "sam", lambda i, ctx: i.change_severity(2, "x", [99], ctx))
    incident = world.do(incident, "sam", lambda i, ctx: i.change_severity(2, "workaround deployed", [cited], ctx))
    assert incident.severity == 2


def test_r14_checklist_steps_of_the_current_level_are_done_once_by_the_manager(world):
    incident = world.declare()
    with pytest.raises(Forbidden):
        world.do(incident, "tess", lambda i, ctx: i.complete_step("announce", ctx))
    incident = world.do(incident, "sam", lambda i, ctx: i.complete_step("announce", ctx))
    assert incident.checklist_done["announce"]["level"] == 1
    with pytest.raises(Conflict):
        world.do(incident, "sam", lambda i, ctx: i.complete_step("announce", ctx))


def test_r15_resolve_needs_both_parts_reopen_is_possible_and_closing_ends_all_commands(world):
    incident = world.declare()
    with pytest.raises(Invalid) as refused:
        world.do(incident, "sam", lambda i, ctx: i.resolve("", "", ctx))
    assert [e["field"] for e in refused.value.errors] == ["resolution", "test_plan"]
    incident = world.do(incident, "sam", lambda i, ctx: i.resolve("rolled back", "smoke tests", ctx))
    assert incident.status == "resolved" and incident.resolved_at == world.clock.now()
    incident = world.do(incident, "sam", lambda i, ctx: i.reopen("it came back", ctx))
    assert incident.status == "open"
    world.do(incident, "sam", lambda i, ctx: i.resolve("really fixed", "soak test", ctx))
    assert world.app.consequences.close_incident(str(incident.id), world.id("sam"))
    with pytest.raises(Conflict):
        world.do(incident, "sam", lambda i, ctx: i.reopen("again", ctx))


def test_r17_a_refinement_from_the_post_mortem_publishes_a_new_version_at_once(world):
    incident = str(world.declare().id)
    change = {"worker_fresh_for": "PT10H"}
    recorded = {"kind": "process_refinement", "change": change}  # as the post-mortem stream told it
    with pytest.raises(Forbidden) as refused:
        world.app.refinements.apply_refinement(incident, 1, change, recorded, world.people["wes"])
    assert refused.value.rule == "R17"
    version, document = world.app.refinements.apply_refinement(incident, 1, change, recorded, world.people["sam"])
    assert version == 2 and document["worker_fresh_for"] == "PT10H"
    assert world.app.incidents.incident(incident).process_version == 1  # incidents keep their version
    with pytest.raises(Conflict) as twice:
        world.app.refinements.apply_refinement(incident, 1, change, recorded, world.people["sam"])
    assert twice.value.rule == "R17"
    with pytest.raises(Invalid):
        world.app.refinements.apply_refinement(
            incident, 2, {"levels": []}, {"kind": "process_refinement", "change": {"levels": []}}, world.people["sam"]
        )


def test_r18_any_past_state_is_reconstructed_from_the_history(world):
    incident = world.declare()
    world.do(incident, "sam", lambda i, ctx: i.change_severity(3, "partial fix", [], ctx))
    assert world.app.repository.get(incident.id, version=1).severity == 1
    assert world.app.incidents.incident(str(incident.id)).severity == 3


def test_r19_a_worker_on_incidents_too_long_in_the_last_day_is_flagged(world):
    first = world.declare()
    world.do(first, "sam", lambda i, ctx: i.add_worker(world.id("wes"), 0, True, ctx))
    world.clock.advance(timedelta(hours=13))
    second = world.declare(by="tess")
    worked, fresh = world.app.timekeeping.worker_freshness(world.id("wes"), second)
    assert worked == 13 * 3600 and not fresh
    second = world.do(second, "admin", lambda i, ctx: i.add_worker(world.id("wes"), worked, fresh, ctx))
    assert world.app.incidents.representation(second)["due"]["tired_workers"] == [world.id("wes")]


def test_r20_the_manager_sees_what_is_due_next(world):
    incident = world.declare()
    due = world.app.incidents.representation(incident)["due"]
    assert due["checklist"][0]["step"] == "pick-worker"
    assert due["shift_limit_at"] == incident.declared_at + timedelta(hours=8)
    assert due["handover_warning_at"] == incident.declared_at + timedelta(hours=7)
    assert due["acknowledgement_due_at"] == incident.declared_at + timedelta(minutes=5)
    assert due["pr_manager_needed"] is True


def test_r20_the_acknowledgement_is_shown_due_after_waking_hours_begin(world):
    nora = world.register("nora", timezone="America/Los_Angeles")  # 09:00 UTC is 01:00 there
    incident = world.declare(severity=2, manager=nora)  # level 2: waking hours, acknowledged within 15 minutes
    due = world.app.incidents.representation(incident)["due"]
    assert due["acknowledgement_due_at"] == datetime(2026, 1, 5, 15, 15, tzinfo=UTC)  # 07:15 there


def test_s1_a_revoked_token_no_longer_authenticates(world):
    token_id, secret = world.app.people.issue_token(world.id("wes"), world.admin)
    assert world.app.people.authenticate(secret) == world.people["wes"]
    world.app.people.revoke_token(token_id, world.admin)
    assert world.app.people.authenticate(secret) is None


def test_the_admin_token_rotates_when_the_setting_changes(world):
    world.app.people.ensure_admin("a-new-admin-token")
    assert world.app.people.authenticate("a-new-admin-token").admin
    assert world.app.people.authenticate(ADMIN_TOKEN) is None
