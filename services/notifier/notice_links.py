"""The links a notification to a person carries (``links`` in its webhook body and email).

- ``incident``: the incident's page in the console (``{WARROOM_PUBLIC_URL}/incidents/{id}``);
- ``report``: a signed link that opens the post-mortem's HTML without a token;
- ``acknowledge``: on a page (reasons ``paged`` and ``escalated``) only, a signed link naming the
  incident, the person paged and the page (the event that paged them); its GET shows a confirmation
  page, its POST acknowledges.

Each signed link is made for its recipient and expires after ``WARROOM_LINK_TTL``. Without
``WARROOM_LINK_SECRETS`` only ``incident`` is given, and the older ``link`` stays the report's
address, which asks for a token. Subscription copies (bare CloudEvents) carry no links.

Pure: the signer and the moment come in.
"""

from dataclasses import dataclass
from datetime import datetime

from shared import links
from shared.links import ACKNOWLEDGE, REPORT, LinkSigner

# The reasons that ask the recipient to acknowledge a page (R11).
PAGES = frozenset({"paged", "escalated"})


@dataclass(frozen=True)
class NoticeLinks:
    signer: LinkSigner | None = None
    # Where people reach the incident service's console, and the post-mortem service.
    public_url: str = "http://127.0.0.1:8080"
    postmortem_url: str = "http://127.0.0.1:8083"

    def unsigned_report(self, incident_id: str) -> str:
        """The report's address behind a token: the ``link`` of a published post-mortem without secrets."""
        return f"{self.postmortem_url.rstrip('/')}/v1/postmortems/{incident_id}/report.html"

    def for_notice(self, incident_id: str, person: str, reason: str, page: int | None, now: datetime) -> dict[str, str]:
        """The links for ``person``, told because of ``reason``; ``page`` is the paging event's sequence."""
        made = {"incident": links.incident_url(self.public_url, incident_id)}
        if self.signer is None:
            return made
        made["report"] = links.report_url(self.postmortem_url, self.signer.sign(REPORT, incident_id, person, now))
        if reason in PAGES and page is not None:
            value = self.signer.sign(ACKNOWLEDGE, incident_id, person, now, page=page)
            made["acknowledge"] = links.acknowledge_url(self.public_url, value)
        return made
