"""A webhook receiver for trying Warroom out: `python -m tools.receiver [PORT]` (default 9000).

It answers every POST 204 and prints its path, its Standard Webhooks headers and its JSON body, so
a newcomer sees what a person's webhook receives. For trying out only: it verifies nothing (the
README shows how a real receiver checks the signature).
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHOWN_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "traceparent")


class PrintingHandler(BaseHTTPRequestHandler):
    """Prints each POST and answers 204: the notifier counts any 2xx as delivered."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        print(f"POST {self.path}", flush=True)
        for name in SHOWN_HEADERS:
            if name in self.headers:
                print(f"  {name}: {self.headers[name]}")
        try:
            print(json.dumps(json.loads(body), indent=2))
        except ValueError:
            print(body.decode(errors="replace"))
        sys.stdout.flush()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the POSTs printed above say everything the access log would."""


def main(argv: list[str]) -> None:
    port = int(argv[0]) if argv else 9000
    server = ThreadingHTTPServer(("127.0.0.1", port), PrintingHandler)
    print(f"receiving webhooks on http://127.0.0.1:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
