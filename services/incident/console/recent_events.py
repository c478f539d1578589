"""The latest published events of the incidents the console shows, kept in memory.

A stored event never changes, so a page that shows an incident's last 200 events reads only those stored
since the page was last shown (usually none, or the one that made the page refresh) instead of reading
and translating all 200 again. Bounded: the incidents shown most recently, each with its last ``keep``
events; the rest are read again when asked for.
"""

import threading
from collections import OrderedDict

from services.incident import history
from services.incident.application import IncidentApplication
from shared.contract import Envelope

INCIDENTS_KEPT = 256


class RecentEvents:
    def __init__(self, keep: int, incidents: int = INCIDENTS_KEPT):
        self.keep, self.incidents = keep, incidents
        self._kept: OrderedDict[str, list[Envelope]] = OrderedDict()
        self._lock = threading.Lock()  # pages are built in worker threads

    def latest(self, application: IncidentApplication, incident_id: str, version: int) -> list[Envelope]:
        """The incident's events up to sequence ``version`` (its current version), the last ``keep`` of them,
        oldest first."""
        first = max(0, version - self.keep)
        with self._lock:
            kept = list(self._kept.get(incident_id, ()))
        if not kept or kept[0].sequence is None or kept[0].sequence > first + 1:
            kept = []  # nothing kept, or not far enough back: read them all
        last = (kept[-1].sequence or 0) if kept else first
        if last < version:
            kept += history.published(application, incident_id, last, version - last)
        kept = kept[-self.keep :]
        with self._lock:
            self._kept[incident_id] = kept
            self._kept.move_to_end(incident_id)
            while len(self._kept) > self.incidents:
                self._kept.popitem(last=False)
        return [event for event in kept if (event.sequence or 0) <= version]
