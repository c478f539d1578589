"""python -m services.postmortem: serve the post-mortem service on its port (default 8083)."""

from services.postmortem.settings import PostmortemSettings
from shared.runtime import serve

if __name__ == "__main__":  # not again in a worker process, which imports what the factory names
    settings = PostmortemSettings()
    serve("services.postmortem.bootstrap:create_app", settings.postmortem_port, settings)
