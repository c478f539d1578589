from shared.runtime import serve
from shared.settings import Settings

settings = Settings()
serve("services.incident.bootstrap:create_app", settings.incident_port, settings)
