"""python -m services.notifier: serve the notifier on WARROOM_NOTIFIER_PORT (8081)."""

from services.notifier.settings import NotifierSettings
from shared.runtime import serve

if __name__ == "__main__":
    settings = NotifierSettings()
    serve("services.notifier.bootstrap:create_app", settings.notifier_port, settings)
