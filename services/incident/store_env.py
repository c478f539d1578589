"""The incident service's event store settings: eventsourcing's persistence settings from a PostgreSQL URL.
Apart from bootstrap.py so that the relay's own process (relay_process.py) reads the store without the web
application's imports."""

from urllib.parse import unquote, urlsplit

SCHEMA = "incident"


def event_store_env(database_url: str, schema: str = SCHEMA) -> dict[str, str]:
    """eventsourcing's persistence settings from a PostgreSQL URL."""
    url = urlsplit(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        # The library insists on a password even where the server trusts local connections.
        "POSTGRES_PASSWORD": unquote(url.password or "unused"),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_CONNECT_TIMEOUT": "2",
        "POSTGRES_POOL_SIZE": "8",
        "POSTGRES_MAX_OVERFLOW": "8",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        # No pre-ping: it costs a round trip per checkout (a quarter of a command here); the library
        # retries a statement on a broken connection, and the pool replaces it.
        "POSTGRES_PRE_PING": "n",
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": "services.incident.recorder:LockedInsertRecorder",
    }
