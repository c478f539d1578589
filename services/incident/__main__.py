"""python -m services.incident: serve the incident service on WARROOM_INCIDENT_PORT (8080), with WARROOM_WORKERS
processes."""

from shared.runtime import serve
from shared.settings import Settings

if __name__ == "__main__":  # not again in a worker process, which imports what the factory names
    settings = Settings()
    serve("services.incident.bootstrap:create_app", settings.incident_port, settings)
