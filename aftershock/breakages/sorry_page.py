"""The `sorry_page` breakage's server: answers every request 200, as nobody in particular.

    python -m aftershock.breakages.sorry_page HOST PORT

A router's fallback that answers for a region with no backend left: the
shopper gets a 200 with a friendly body, and no region served them (no
`X-Served-By`).
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = json.dumps({"message": "We are sorry: the shop is busy, please come back soon."}).encode()


class Sorry(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_POST = do_PUT = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


def main(argv: list[str]) -> None:
    host, port = argv[0], int(argv[1])
    server = ThreadingHTTPServer((host, port), Sorry)
    print(f"sorry page on {host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
