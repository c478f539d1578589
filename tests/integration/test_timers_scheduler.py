"""The scheduler on real PostgreSQL, with a clock the test drives: never early, exactly once, never ahead."""

import asyncio
import inspect
from datetime import datetime, timedelta

from services.timers import handlers
from services.timers.scheduler import Scheduler
from shared.clock import Clock, FakeClock
from shared.contract import Envelope
from tests.support.timers import IncidentEvents, process, timers_pool

# Only the R05 timers fall due within seconds; the level's deadlines are hours away.
DOCUMENT = process(handover_warning_after="PT2S", manager_shift_limit="PT4S")


async def apply(pool, clock: Clock, event: Envelope) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, event, clock=clock, versions=handlers.RulesByVersion())


async def publish_process(pool, clock: Clock, time: datetime) -> IncidentEvents:
    events = IncidentEvents(clock)
    for event in events.organisation(DOCUMENT, time=time):
        await apply(pool, clock, event)
    return events


async def declare(pool, clock: Clock, events: IncidentEvents, incident: str, time: datetime) -> None:
    await apply(pool, clock, events.declare(incident, time=time))


async def resolve(pool, clock: Clock, events: IncidentEvents, incident: str, time: datetime) -> None:
    await apply(pool, clock, events.resolve(incident, time=time))


async def always() -> bool:
    return True


async def never() -> bool:
    return False


async def states(pool) -> dict[str, str]:
    """The R05 timers' states (the level's hours-away deadlines stay pending throughout)."""
    rows = await pool.fetch("SELECT kind, state FROM timers WHERE kind IN ('handover_warning', 'shift_limit')")
    return {row["kind"]: row["state"] for row in rows}


async def fired_events(pool) -> list[dict]:
    return [row["event"] for row in await pool.fetch("SELECT event FROM outbox ORDER BY position")]


async def test_r05_a_timer_never_fires_before_its_due_time_and_fires_once_when_reached(database_url):
    clock = FakeClock()
    start = clock.now()
    async with timers_pool(database_url) as pool:
        events = await publish_process(pool, clock, start)
        await declare(pool, clock, events, "inc-1", start)
        scheduler = Scheduler(pool, clock, caught_up=always)

        clock.advance(timedelta(seconds=2) - timedelta(microseconds=1))
        await scheduler.tick()
        early = await fired_events(pool)
        clock.advance(timedelta(microseconds=1))
        await scheduler.tick()
        await scheduler.tick()
        fired = await fired_events(pool)
        after = await states(pool)

    assert early == []
    [warning] = fired
    assert warning["type"] == "warroom.timer.handover_warning.v1" and warning["subject"] == "inc-1"
    due = datetime.fromisoformat(warning["data"]["due_at"])
    assert due == datetime.fromisoformat(warning["data"]["fired_at"]) == start + timedelta(seconds=2)
    assert after == {"handover_warning": "fired", "shift_limit": "pending"}


async def test_the_scheduler_sleeps_until_the_earliest_due_time_capped_by_the_poll_interval(database_url):
    clock = FakeClock()
    async with timers_pool(database_url) as pool:
        events = await publish_process(pool, clock, clock.now())
        await declare(pool, clock, events, "inc-1", clock.now())
        patient = Scheduler(pool, clock, caught_up=always, poll_interval=60)
        eager = Scheduler(pool, clock, caught_up=always, poll_interval=0.5)

        assert await patient.tick() == 2.0
        assert await eager.tick() == 0.5
        clock.advance(timedelta(seconds=3))
        assert await patient.tick() == 1.0  # the warning fired; the shift limit is next


async def test_f7_two_schedulers_fire_each_timer_exactly_once(database_url):
    clock = FakeClock()
    async with timers_pool(database_url) as pool, timers_pool(database_url) as other_pool:
        events = await publish_process(pool, clock, clock.now())
        for n in range(40):
            await declare(pool, clock, events, f"inc-{n}", clock.now())
        # Each incident's page, handover warning and shift limit are due; its observers' summary (an hour) not yet.
        clock.advance(timedelta(minutes=30))
        replicas = [Scheduler(p, clock, caught_up=always, batch=7) for p in (pool, other_pool)]

        await asyncio.gather(*(replica.tick() for replica in replicas))
        events = await fired_events(pool)
        unfired = await pool.fetchval(
            "SELECT count(*) FROM timers WHERE state <> 'fired' AND due_at <= $1", clock.now()
        )

    assert len(events) == 120
    assert len({event["id"] for event in events}) == len({event["data"]["timer_id"] for event in events}) == 120
    assert unfired == 0


async def test_f6_while_the_stream_is_read_a_timer_waits_for_the_events_from_before_its_due_time(database_url):
    clock = FakeClock()
    start = clock.now()
    async with timers_pool(database_url) as pool:
        events = await publish_process(pool, clock, start - timedelta(seconds=1))
        await declare(pool, clock, events, "inc-1", start)
        clock.advance(timedelta(seconds=10))  # a replay: both timers are long overdue
        scheduler = Scheduler(pool, clock, caught_up=never)

        await scheduler.tick()
        held_back = await states(pool)
        # The resolution came after the warning fell due and before the shift limit did.
        await resolve(pool, clock, events, "inc-1", start + timedelta(seconds=3))
        await scheduler.tick()
        replayed = await states(pool)
        events = await fired_events(pool)

    assert held_back == {"handover_warning": "pending", "shift_limit": "pending"}
    assert replayed == {"handover_warning": "fired", "shift_limit": "cancelled"}
    assert [event["type"] for event in events] == ["warroom.timer.handover_warning.v1"]


async def _value(result):
    return await result if inspect.isawaitable(result) else result


class CountingScheduler(Scheduler):
    ticks = 0

    async def tick(self) -> float:
        delay = await super().tick()
        self.ticks += 1
        return delay


async def eventually(condition, timeout: float = 5.0) -> None:
    """Poll ``condition`` (plain or async) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await _value(condition()):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_newly_scheduled_timer_wakes_the_sleeping_scheduler(database_url):
    clock = Clock()
    async with timers_pool(database_url) as pool:
        events = await publish_process(pool, clock, clock.now() - timedelta(seconds=3))
        # Without a wake-up this scheduler would look again only after a minute.
        scheduler = CountingScheduler(pool, clock, caught_up=always, poll_interval=60)
        task = asyncio.create_task(scheduler.run())
        try:
            await eventually(lambda: scheduler.ticks >= 1)  # asleep on an empty table
            declared_at = clock.now() - timedelta(seconds=1.7)  # the warning falls due 0.3 s from now
            await declare(pool, clock, events, "inc-1", declared_at)
            await eventually(lambda: fired_events(pool))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        [warning] = await fired_events(pool)

    assert datetime.fromisoformat(warning["data"]["fired_at"]) >= declared_at + timedelta(seconds=2)


async def test_f7_a_batch_of_timers_queues_every_event_at_once_in_due_order_each_with_a_trace_of_its_own(database_url):
    clock = FakeClock()
    start = clock.now()
    async with timers_pool(database_url) as pool:
        events = await publish_process(pool, clock, start)
        for n in range(40):
            await declare(pool, clock, events, f"inc-{n}", start + timedelta(milliseconds=n))
        clock.advance(timedelta(minutes=30))  # 120 due: each incident's page, handover warning and shift limit

        await Scheduler(pool, clock, caught_up=always).tick()
        rows = await pool.fetch("SELECT position, event FROM outbox ORDER BY position")

    queued = [row["event"] for row in rows]
    assert len(queued) == 120 and [event["position"] for event in queued] == [row["position"] for row in rows]
    dues = [datetime.fromisoformat(event["data"]["due_at"]) for event in queued]
    assert dues == sorted(dues)
    assert len({event["traceparent"].split("-")[1] for event in queued}) == 120  # a trace per timer's firing
