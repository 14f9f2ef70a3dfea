#!/usr/bin/env python3
"""Measures the HTTP-level abuse scenarios (README: "Abuse resistance")
against a `todos` binary and prints one line of figures per scenario, so
that two builds (before and after a change) can be compared side by side:

    scripts/abuse-http.py target/release/todos

Each scenario gets a fresh server (temporary SQLite file and mail folder,
in-process cache, a port picked by the server). Standard library only, so
it runs wherever python3 does. The pass/fail checks of the same behaviour
live in tests/tests/abuse_resistance.rs; this script reports numbers.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

SECRET = b"abuse-measurement-secret-at-least-32-bytes"
PASSWORD = "password123"


class Server:
    def __init__(self, binary, **env):
        self.dir = tempfile.TemporaryDirectory()
        self.mail = pathlib.Path(self.dir.name, "mail")
        environment = dict(
            os.environ,
            TODOS_ADDR="127.0.0.1:0",
            DATABASE_URL=f"sqlite://{self.dir.name}/todos.db?mode=rwc",
            TODOS_MAIL_DIR=str(self.mail),
            JWT_SECRET=SECRET.decode(),
            RUST_LOG="warn",
            **env,
        )
        environment.pop("REDIS_URL", None)
        self.log = open(pathlib.Path(self.dir.name, "server.log"), "wb")
        self.process = subprocess.Popen(
            [binary], env=environment, stdout=subprocess.PIPE, stderr=self.log
        )
        line = self.process.stdout.readline().decode()
        if not line.startswith("listening on http://"):
            raise SystemExit(f"server did not start: {line!r}")
        host, port = line.strip().removeprefix("listening on http://").rsplit(":", 1)
        self.host, self.port = host, int(port)

    def request(self, method, path, body=None, headers=None, source="127.0.0.1"):
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=60, source_address=(source, 0)
        )
        payload = None if body is None else json.dumps(body)
        all_headers = {"content-type": "application/json", **(headers or {})}
        started = time.monotonic()
        connection.request(method, path, payload, all_headers)
        response = connection.getresponse()
        data = response.read()
        took = time.monotonic() - started
        connection.close()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, data, took

    def sign_up(self, name, source="127.0.0.1"):
        return self.request(
            "POST", "/users/sign-up", {"username": name, "password": PASSWORD}, source=source
        )[0]

    def log_in(self, name, password, source="127.0.0.1"):
        return self.request(
            "POST", "/users/log-in", {"username": name, "password": password}, source=source
        )

    def token(self, name):
        self.sign_up(name)
        return json.loads(self.log_in(name, PASSWORD)[2])["access_token"]

    def emails(self):
        return list(self.mail.glob("*.eml")) if self.mail.exists() else []

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        self.dir.cleanup()


def at_once(count, work):
    """Runs work(i) in `count` threads released together; returns results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def tally(statuses):
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def throttle_race(binary):
    server = Server(binary)
    server.sign_up("victim")
    statuses = at_once(
        200,
        lambda i: server.log_in("victim", PASSWORD if i == 100 else f"wrong-{i}")[0],
    )
    server.stop()
    print(f"1 throttle race: 200 concurrent log-ins (1 right) -> {tally(statuses)}")


def lockout(binary):
    server = Server(binary)
    server.sign_up("owner")
    for _ in range(10):
        server.log_in("owner", "guess-guess", source="127.0.0.2")
    stranger = server.log_in("owner", PASSWORD, source="127.0.0.2")[0]
    owner = server.log_in("owner", PASSWORD, source="127.0.0.3")[0]
    server.stop()
    print(
        f"3 lockout: after 10 wrong from 127.0.0.2, right password from 127.0.0.2 -> "
        f"{stranger}, from 127.0.0.3 (the owner) -> {owner}"
    )


def hashing_flood(binary, clients=300, seconds=10):
    server = Server(binary, TODOS_SIGNUP_LIMIT="0")
    server.sign_up("probe")
    stop = time.monotonic() + seconds
    outcomes = []
    lock = threading.Lock()

    def flood(worker):
        n = 0
        while time.monotonic() < stop:
            n += 1
            try:
                status, _, _, took = server.request(
                    "POST",
                    "/users/sign-up",
                    {"username": f"flood-{worker}-{n}", "password": PASSWORD},
                )
            except OSError:
                status, took = "error", 0.0
            with lock:
                outcomes.append((status, took))

    threads = [threading.Thread(target=flood, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    probes = []
    while time.monotonic() < stop - 1:
        started = time.monotonic()
        while True:  # a client retries a 503
            status = server.log_in("probe", PASSWORD)[0]
            if status != 503:
                break
            time.sleep(0.05)
        probes.append((status, time.monotonic() - started))
        time.sleep(0.25)
    for thread in threads:
        thread.join()
    log_bytes = pathlib.Path(server.dir.name, "server.log").stat().st_size
    server.stop()
    refused = sorted(took for status, took in outcomes if status == 503)
    median_refusal = refused[len(refused) // 2] * 1000 if refused else float("nan")
    print(
        f"4 hashing flood: {clients} clients signing up for {seconds} s -> "
        f"{tally(s for s, _ in outcomes)}; median 503 took {median_refusal:.1f} ms; "
        f"probe log-ins {tally(s for s, _ in probes)}, slowest {max(t for _, t in probes):.2f} s "
        f"(with retries); server log {log_bytes} bytes"
    )


def sign_up_flood(binary):
    server = Server(binary)
    statuses = [server.sign_up(f"junk{n}") for n in range(100)]
    server.stop()
    print(f"4 sign-ups from one address (default settings): 100 tries -> {tally(statuses)}")


def mail_bomb(binary):
    # 50 accounts from one address: past the sign-up limit, which is not
    # what this scenario measures.
    server = Server(binary, TODOS_SIGNUP_LIMIT="0")
    tokens = [server.token(f"bomber{n}") for n in range(50)]
    started = time.monotonic()
    statuses = []
    for token in tokens:
        for _ in range(4):
            statuses.append(
                server.request(
                    "POST",
                    "/users/email/otp",
                    {"email": "target@example.com"},
                    {"authorization": f"Bearer {token}"},
                )[0]
            )
    took = time.monotonic() - started
    time.sleep(3)  # mail goes out in the background
    delivered = len(server.emails())
    server.stop()
    print(
        f"5 mail bomb: 50 accounts x 4 OTP requests to one address in {took:.1f} s -> "
        f"{tally(statuses)}, {delivered} emails delivered"
    )


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(claims):
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def smaller(binary):
    server = Server(binary)
    token = server.token("alice")
    now = int(time.time())
    jwt = {}
    for case, claims in {
        "future nbf": {"sub": "alice", "iat": now, "exp": now + 600, "nbf": now + 300},
        "future iat": {"sub": "alice", "iat": now + 300, "exp": now + 900},
        "exp u64::MAX": {"sub": "alice", "iat": now, "exp": 2**64 - 1},
    }.items():
        jwt[case] = server.request(
            "GET", "/users/me", headers={"authorization": f"Bearer {forge(claims)}"}
        )[0]
    request_id = "<b>" + "x" * 10_000
    _, headers, _, _ = server.request("GET", "/", headers={"x-request-id": request_id})
    echoed = headers.get("x-request-id") == request_id
    otp = {
        address: server.request(
            "POST", "/users/email/otp", {"email": address},
            {"authorization": f"Bearer {token}"},
        )[0]
        for address in ['"a b"@x.co', "a@[127.0.0.1]"]
    }
    _, docs, _, _ = server.request("GET", "/docs/")
    _, bundle, body, _ = server.request(
        "GET", "/docs/swagger-ui-bundle.js", headers={"accept-encoding": "gzip"}
    )
    server.stop()
    print(f"6 JWT re-signed tokens on /users/me -> {jwt}")
    print(f"6 X-Request-Id of 10 KB with markup echoed verbatim: {echoed}")
    print(f"6 OTP to quoted-local / IP-literal addresses -> {otp}")
    print(
        "6 /docs/ headers: "
        + ", ".join(
            f"{name}={docs.get(name, '-')!r}"
            for name in ["x-content-type-options", "x-frame-options"]
        )
        + f", CSP {'present' if 'content-security-policy' in docs else 'absent'}; "
        f"bundle with Accept-Encoding gzip: {len(body)} bytes, "
        f"Content-Encoding {bundle.get('content-encoding', '-')}"
    )


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binary = sys.argv[1]
    throttle_race(binary)
    lockout(binary)
    hashing_flood(binary)
    sign_up_flood(binary)
    mail_bomb(binary)
    smaller(binary)


if __name__ == "__main__":
    main()
