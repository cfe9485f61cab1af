#!/usr/bin/env python3
"""Fake ECS and EC2 instance metadata (IMDSv2) endpoints for test_credentials.

Binds 127.0.0.1 on an ephemeral port and prints the port as the first line of
stdout. Exits when its stdin closes (so it dies with the test that started
it) or after --lifetime seconds, whichever comes first.

Leading path segments change the behaviour; they combine, e.g.
/ttl-60/latest/api/token:
  /ttl-N    credentials expire N seconds from now (default: six hours)
  /norole   IMDS has no role attached (the role list is a 404)
  /hold     answer only when the client has not hung up after HOLD_S
            seconds: a client that honours its timeout never gets one

IMDSv2:
  PUT /latest/api/token            needs X-aws-ec2-metadata-token-ttl-seconds
                                   (1..21600), else 400; returns a token
  GET /latest/meta-data/iam/security-credentials/[ROLE]
                                   needs a valid X-aws-ec2-metadata-token,
                                   else 401
ECS:
  GET /ecs/creds                   Authorization must equal --ecs-token, else 401
  GET /ecs-open/creds              no authorization needed
  GET /ecs-badjson/creds           truncated JSON holding a secret
  GET /ecs-nosecret/creds          no SecretAccessKey
  GET /ecs-badexp/creds            an unreadable Expiration

Every credentials response has new keys (a counter), so that a test can tell
a refetch from a cached answer: ASIAFAKEECS0001, ASIAFAKEIMDS0002, ...
Secrets contain "S3CR3T", which tests look for in error messages.
"""

import argparse
import http.server
import json
import os
import re
import secrets
import select
import socket
import sys
import threading
import time

ROLE = "kvsp-test-role"
DEFAULT_TTL = 6 * 3600
HOLD_S = 30  # /hold: far beyond any timeout a test gives, short of its deadline

lock = threading.Lock()
counter = 0
tokens = {}  # token -> expiry (monotonic)


def next_number():
    global counter
    with lock:
        counter += 1
        return counter


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def credentials(kind, ttl):
    n = next_number()
    now = time.time()
    return {
        "AccessKeyId": "ASIAFAKE%s%04d" % (kind, n),
        "SecretAccessKey": "fake-S3CR3T-%s-%04d" % (kind.lower(), n),
        "Token": "fake-S3CR3T-session-%04d" % n,
        "Expiration": iso(now + ttl),
        "LastUpdated": iso(now),
    }


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "FakeMetadata/1"
    ecs_token = None

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_METADATA_VERBOSE"):
            sys.stderr.write("fake-metadata: " + fmt % args + "\n")

    def reply(self, status, body=b"", content_type="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, obj):
        self.reply(200, json.dumps(obj), "application/json")

    def modifiers(self):
        """Strips the leading modifier segments; returns (ttl, norole, path),
        or None when the client hung up during a /hold."""
        path = self.path.split("?", 1)[0]
        ttl, norole = DEFAULT_TTL, False
        while True:
            m = re.match(r"^/(ttl-(-?\d+)|norole|hold)(/.*)$", path)
            if not m:
                return ttl, norole, path
            if m.group(2) is not None:
                ttl = int(m.group(2))
            elif m.group(1) == "norole":
                norole = True
            elif self.hung_up_within(HOLD_S):
                self.close_connection = True
                return None
            path = m.group(3)

    def hung_up_within(self, seconds):
        """Waits until the client closes its end of the connection (True) or
        for seconds (False)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.connection], [], [], left)
            if ready:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return True
                except OSError:
                    return True
                time.sleep(0.01)  # bytes after the request: not a hang-up; look again

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parsed = self.modifiers()
        if parsed is None:
            return
        _, _, path = parsed
        if path != "/latest/api/token":
            return self.reply(404, "not found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400, "missing or invalid X-aws-ec2-metadata-token-ttl-seconds")
        token = "tok-" + secrets.token_hex(16)
        with lock:
            tokens[token] = time.monotonic() + int(ttl)
        self.reply(200, token)

    def token_ok(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        with lock:
            return token in tokens and tokens[token] > time.monotonic()

    def do_GET(self):
        parsed = self.modifiers()
        if parsed is None:
            return
        ttl, norole, path = parsed
        prefix = "/latest/meta-data/iam/security-credentials/"
        if path.startswith("/latest/"):
            if not self.token_ok():
                return self.reply(401, "unauthorized")
            if path == prefix:
                return self.reply(404, "not found") if norole else self.reply(200, ROLE + "\n")
            if path == prefix + ROLE and not norole:
                body = credentials("IMDS", ttl)
                body.update({"Code": "Success", "Type": "AWS-HMAC"})
                return self.reply_json(body)
            return self.reply(404, "not found")
        if path == "/ecs/creds":
            if self.headers.get("Authorization") != self.ecs_token:
                return self.reply(401, "bad authorization")
            return self.reply_json(credentials("ECS", ttl))
        if path == "/ecs-open/creds":
            return self.reply_json(credentials("ECS", ttl))
        if path == "/ecs-badjson/creds":
            text = json.dumps(credentials("ECS", ttl))
            return self.reply(200, text[: text.index("S3CR3T") + 12], "application/json")
        if path == "/ecs-nosecret/creds":
            body = credentials("ECS", ttl)
            del body["SecretAccessKey"]
            return self.reply_json(body)
        if path == "/ecs-badexp/creds":
            body = credentials("ECS", ttl)
            body["Expiration"] = "next tuesday S3CR3T"
            return self.reply_json(body)
        self.reply(404, "not found")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ecs-token", required=True)
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()
    Handler.ecs_token = args.ecs_token

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def watch_stdin():
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    timer = threading.Timer(args.lifetime, os._exit, (0,))
    timer.daemon = True
    timer.start()

    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
