"""api/threaded.py: a synchronous endpoint run in the thread pool once, as a coroutine FastAPI sees with the
endpoint's own parameters (so it validates the answer on the event loop instead of a second trip)."""

import inspect
import threading

import pytest

from services.incident.api.threaded import in_thread


def change_severity(incident_id: str, level: int = 2) -> tuple[str, int, str]:
    """Raise or lower the severity."""
    return incident_id, level, threading.current_thread().name


async def test_an_endpoint_in_a_thread_is_a_coroutine_with_the_endpoints_own_signature_and_name():
    wrapped = in_thread(change_severity)
    assert inspect.iscoroutinefunction(wrapped)
    assert inspect.signature(wrapped) == inspect.signature(change_severity)
    assert (wrapped.__name__, wrapped.__doc__) == ("change_severity", "Raise or lower the severity.")
    incident, level, thread = await wrapped("inc-1", level=3)
    assert (incident, level) == ("inc-1", 3)
    assert thread != threading.current_thread().name  # ran in the pool, not on the event loop


async def test_an_endpoints_error_is_raised_to_the_caller():
    def refuse() -> None:
        raise LookupError("no such incident")

    with pytest.raises(LookupError, match="no such incident"):
        await in_thread(refuse)()
