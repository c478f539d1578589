"""python -m services.postmortem: serve the post-mortem service on its port (default 8083)."""
from shared.runtime import serve
from shared.settings import Settings

settings = Settings()
serve("services.postmortem.bootstrap:create_app", settings.postmortem_port, settings)
