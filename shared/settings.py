"""Settings shared by every service, read from the environment (prefix WARROOM_)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARROOM_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:15432/warroom"
    nats_url: str = "nats://127.0.0.1:14222"
    admin_token: str | None = None
    webhook_allowlist: str = ""
    host: str = "127.0.0.1"
    # Behind a proxy or Ingress: the addresses whose X-Forwarded-For is believed (comma-separated, or
    # "*"), so failed-login limits (S7) count the real client, not the proxy. Empty: nobody's.
    forwarded_allow_ips: str = ""
    incident_port: int = 8080
    notifier_port: int = 8081
    timers_port: int = 8082
    postmortem_port: int = 8083
    # Where people can read things (links in notifications); defaults to the local ports.
    public_postmortem_url: str = ""
    # Where people reach the incident service: every service's problem bodies link the rule that
    # refused a request to {public_url}/rules#r05, the rules page the incident service serves.
    public_url: str = "http://127.0.0.1:8080"
    # Signed links in notifications (shared/links.py): comma-separated secrets, the first signs and
    # every one verifies (list the new one first to rotate); the same on every service. Empty: no
    # report or acknowledge link is made or opened. How long a link made now stays valid (ISO 8601).
    link_secrets: str = ""
    link_ttl: str = "P7D"
    # Secrets at rest (shared/sealing.py, S11): comma-separated Fernet keys, the first seals and every one
    # opens (list a new one first to rotate). The same on the incident service (it seals Apprise URLs and the
    # process's webhook URLs, and shows them to admins) and the notifier (it delivers to them). Empty: such a
    # secret cannot be stored (503), and sealed ones cannot be read.
    secrets_keys: str = ""
    # The post-mortem service's own address, for a service that calls it on a person's behalf (the console,
    # with the person's session token); empty: this host's postmortem_port.
    postmortem_url: str = ""
    # The web console: how long a browser session lasts before its person signs in again (ISO 8601).
    session_ttl: str = "PT12H"
    # Email through this SMTP server: the notifier's notifications to people, and the console's one-time
    # sign-in links. Empty host: no email (and the console offers no sign-in link).
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "warroom@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    log_level: str = "info"
    # OpenTelemetry: where every span (requests, saves, publications, consumers, deliveries, timers) is sent
    # over OTLP/HTTP protobuf, a collector's base URL (http://collector:4318; traces go to its /v1/traces).
    # Empty: no span is recorded or sent (shared/trace_export.py).
    otlp_endpoint: str = ""
    # How often background loops look for work they were not woken for (seconds).
    poll_interval: float = Field(default=0.5, gt=0)
    # The incident service's relay is told of every save, on any worker or replica (PostgreSQL's LISTEN);
    # it also looks for stored events this often (seconds), in case it was not told.
    relay_poll_interval: float = Field(default=5.0, gt=0)
    # Consumers: deliveries before a message is parked as poison.
    max_deliver: int = Field(default=8, ge=2)
    # Processes serving each service on its port, sharing nothing but PostgreSQL and NATS, as replicas do
    # (uvicorn's workers: a supervisor that restarts one that dies). More cores for one replica's commands.
    workers: int = Field(default=1, ge=1, le=32)
    # Threads running synchronous request handlers (the incident service's event store calls).
    command_threads: int = Field(default=16, ge=1, le=64)
    ack_wait: float = Field(default=30.0, gt=0)
    # S7: requests per second per token, sustained, and the bucket a caller may burst from.
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # S7: failed or missing authentications per client address (an IPv6 /64 counts as one address).
    auth_failures_per_second: float = Field(default=1.0, gt=0)
    auth_failure_burst: int = Field(default=30, ge=1)
    # Limits before work: the largest request body accepted (413 beyond), checked while it is read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Fail fast when PostgreSQL is gone (seconds): a new connection, a wait for a pooled one, a statement.
    db_connect_timeout: float = Field(default=2.0, gt=0)
    db_acquire_timeout: float = Field(default=1.5, gt=0)
    db_statement_timeout: float = Field(default=10.0, gt=0)
    # Logs of an outage (NATS or PostgreSQL away): one line per kind at most this often, with a count.
    log_repeat_seconds: float = Field(default=10.0, gt=0)
    # Live event streams (Server-Sent Events): a comment line this often keeps a quiet stream open through
    # proxies; at most this many open at once per token on each replica (429 beyond); and the events a slow
    # reader may fall behind by before its stream is ended (it resumes with Last-Event-ID, others go on).
    stream_keepalive_seconds: float = Field(default=15.0, gt=0)
    max_streams_per_token: int = Field(default=8, ge=1)
    stream_queue_size: int = Field(default=1000, ge=1)

    def allowlist(self) -> list[str]:
        return [item.strip() for item in self.webhook_allowlist.split(",") if item.strip()]

    def postmortem_internal_url(self) -> str:
        """Where a service calls the post-mortem service: WARROOM_POSTMORTEM_URL, else this host's port."""
        return (self.postmortem_url or f"http://{self.host}:{self.postmortem_port}").rstrip("/")

    def postmortem_base_url(self) -> str:
        """Where people read post-mortems: the public URL when set, else the local service."""
        return (self.public_postmortem_url or f"http://{self.host}:{self.postmortem_port}").rstrip("/")
