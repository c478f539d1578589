"""The post-mortem service's settings: the shared ones, plus where the incident service listens."""

from shared.settings import Settings


class PostmortemSettings(Settings):
    # Applying a process refinement forwards the caller's own command there (R17), the one
    # synchronous call between services.
    incident_url: str = "http://127.0.0.1:8080"
    # Seconds to wait for the incident service before answering 503 (nothing changed here).
    incident_timeout: float = 10.0
