"""A webhook receiver for the tests: verifies every delivery with the `standardwebhooks` package
(PyPI), as a real receiver would, and records what it saw.

Usage: webhook_receiver.py PORT DIR. Each path is an endpoint of its own, named by its first
segment (`/ok` is `ok`):
- its secrets are read at every request from DIR/NAME.secrets (one `whsec_…` per line);
- every request is appended to DIR/NAME.jsonl as {id, timestamp, signature, body,
  verified_with (indexes of the secrets that verify it), status (what was answered)};
- it answers 401 when no secret verifies, 503 while DIR/NAME.closed exists, and, for a name
  starting with `flaky`, 500 to the first two attempts of each message, then 2xx.
Prints `ready` once it listens.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

PORT = int(sys.argv[1])
DIR = sys.argv[2]
LOCK = threading.Lock()
SEEN = {}


def secrets(name):
    try:
        with open(os.path.join(DIR, f"{name}.secrets")) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        name = self.path.strip("/").split("/")[0].split("?")[0] or "root"
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length).decode()
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = []
        for index, secret in enumerate(secrets(name)):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(index)
            except WebhookVerificationError:
                pass
        message = headers.get("webhook-id", "")
        with LOCK:
            SEEN[(name, message)] = SEEN.get((name, message), 0) + 1
            tries = SEEN[(name, message)]
            if os.path.exists(os.path.join(DIR, f"{name}.closed")):
                status = 503
            elif not verified:
                status = 401
            elif name.startswith("flaky") and tries <= 2:
                status = 500
            else:
                status = 204
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body
            record = {
                "id": message,
                "timestamp": headers.get("webhook-timestamp"),
                "signature": headers.get("webhook-signature"),
                "contentType": headers.get("content-type"),
                "body": parsed,
                "verified_with": verified,
                "status": status,
            }
            with open(os.path.join(DIR, f"{name}.jsonl"), "a") as f:
                f.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
