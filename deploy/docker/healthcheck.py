"""The image's health check: exit 0 when the Warroom service in this container answers /healthz.

The image runs any one of the four services, so this asks at each one's port (WARROOM_<NAME>_PORT,
else its default): only the one running answers.
"""

import os
import sys
import urllib.request

DEFAULT_PORTS = {"INCIDENT": 8080, "NOTIFIER": 8081, "TIMERS": 8082, "POSTMORTEM": 8083}
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a proxy setting must not apply to loopback


def healthy(port: int) -> bool:
    try:
        with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


ports = sorted({int(os.environ.get(f"WARROOM_{name}_PORT", port)) for name, port in DEFAULT_PORTS.items()})
sys.exit(0 if any(healthy(port) for port in ports) else 1)
