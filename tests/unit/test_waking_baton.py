"""shared/waking.Baton: the notifier's delivery slots woken one at a time, not all at once for every page."""

import asyncio

from shared.waking import Baton


async def test_a_set_wakes_one_waiting_loop_and_not_the_others():
    baton, woken = Baton(), []

    async def slot(name: str) -> None:
        await baton.wait(5)
        woken.append(name)

    slots = [asyncio.create_task(slot(name)) for name in ("a", "b", "c")]
    await asyncio.sleep(0.01)
    baton.set()
    await asyncio.sleep(0.01)
    assert woken == ["a"]
    baton.set()  # passed on by the one that found work
    await asyncio.sleep(0.01)
    assert woken == ["a", "b"]
    for task in slots:
        task.cancel()
    await asyncio.gather(*slots, return_exceptions=True)


async def test_a_set_with_nobody_waiting_is_kept_for_the_next_wait_once():
    baton = Baton()
    baton.set()
    baton.set()
    await asyncio.wait_for(baton.wait(5), timeout=1)  # at once
    started = asyncio.get_running_loop().time()
    await baton.wait(0.05)  # the two sets were one: this one waits its time out
    assert asyncio.get_running_loop().time() - started >= 0.04


async def test_a_loop_that_gave_up_waiting_is_skipped_and_the_next_one_woken():
    baton, woken = Baton(), []
    await baton.wait(0.01)  # gave up: its waiter stays in the queue, done

    async def slot() -> None:
        await baton.wait(5)
        woken.append("late")

    task = asyncio.create_task(slot())
    await asyncio.sleep(0.01)
    baton.set()
    await asyncio.wait_for(task, timeout=1)
    assert woken == ["late"]
