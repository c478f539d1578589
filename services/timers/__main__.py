"""Run the timers service: python -m services.timers"""

from shared.runtime import serve
from shared.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve("services.timers.bootstrap:create_app", settings.timers_port, settings)
