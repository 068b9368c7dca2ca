"""A local HTTP server for the webhook channel tests, on 127.0.0.1, port chosen by the system.

Paths:
  /hook...       200; the request is saved as JSON in the record folder, with both signatures
                 checked here with Python's hmac module (independently of the Rust side)
  /fail          500 with a short body
  /hang          accepts the request, then sleeps HANG_SECONDS before answering
  /redirect      302 to /hook

When it listens, {"port": N} is written to the ready file.

Usage: webhook_server.py RECORD_DIR READY_FILE SECRET
"""

import hashlib
import hmac
import http.server
import itertools
import json
import os
import sys
import time

HANG_SECONDS = 30

record_dir, ready_file, secret = sys.argv[1], sys.argv[2], sys.argv[3].encode()
counter = itertools.count()


def hex_hmac(message):
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/fail":
            return self.answer(500, "database unavailable")
        if self.path == "/hang":
            time.sleep(HANG_SECONDS)
            return self.answer(200, "too late")
        if self.path == "/redirect":
            return self.answer(302, "", [("Location", "/hook")])
        if not self.path.startswith("/hook"):
            return self.answer(404, "no such hook")

        timestamp = self.headers.get("X-Signature-Timestamp")
        signature = self.headers.get("X-Signature-SHA256")
        stamped = self.headers.get("X-Signature-Timestamp-SHA256")
        record = {
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body.decode("utf-8"),
            "signature_ok": signature is not None
            and hmac.compare_digest(signature, hex_hmac(body)),
            "timestamped_signature_ok": stamped is not None
            and timestamp is not None
            and hmac.compare_digest(stamped, hex_hmac(timestamp.encode() + b"." + body)),
            "timestamp_age": None if timestamp is None else time.time() - int(timestamp),
        }
        name = f"{os.getpid()}-{next(counter)}.json"
        with open(os.path.join(record_dir, "." + name), "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(os.path.join(record_dir, "." + name), os.path.join(record_dir, name))
        self.answer(200, "ok")


os.makedirs(record_dir, exist_ok=True)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(ready_file + ".tmp", "w", encoding="utf-8") as out:
    json.dump({"port": server.server_address[1]}, out)
os.replace(ready_file + ".tmp", ready_file)
server.serve_forever()
