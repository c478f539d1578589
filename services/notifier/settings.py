"""The notifier's own settings, beside the shared ones (all read from WARROOM_* variables)."""

from pydantic import Field

from shared.settings import Settings


class NotifierSettings(Settings):
    # Standard Webhooks secrets ("whsec_…", comma-separated) that sign people's webhooks and the
    # issue tracker's: every one listed signs, so during a rotation list the new and the old one.
    # Empty: the notifier generates one at its first start and keeps it in its database (so every
    # replica and every restart signs alike); an admin reads it at GET /v1/signing-secrets.
    notifier_signing_secrets: str = ""
    # Email to people (plain text + HTML): the SMTP settings are shared ones (shared/settings.py).
    # One attempt's budget: a receiver that has not answered by then is retried later.
    notifier_delivery_timeout: float = Field(default=10.0, gt=0)
    # Deliveries sent at once by one replica (F14): an endpoint takes at most two of them, and
    # endpoints that failed lately share half of them, so a page to a healthy one finds a free slot.
    notifier_concurrency: int = Field(default=8, ge=2, le=64)

    def signing_secrets(self) -> list[str]:
        return [item.strip() for item in self.notifier_signing_secrets.split(",") if item.strip()]


def notifier_settings(settings: Settings | None) -> NotifierSettings:
    """The notifier's settings from shared ones (tests and tools pass those); unset fields from the environment."""
    if settings is None:
        return NotifierSettings()
    if isinstance(settings, NotifierSettings):
        return settings
    return NotifierSettings(**settings.model_dump(exclude_unset=True))
