"""python -m services.notifier: serve the notifier on WARROOM_NOTIFIER_PORT (8081)."""
from shared.runtime import serve
from shared.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve("services.notifier.bootstrap:create_app", settings.notifier_port, settings)
