"""Drives todos and the bare-axum floor with wrk on loopback and prints
requests/s, p50 and p99 per route, the todos/floor ratio, the SQL statements
each route sends, p99 of GET /todos with and without concurrent log-in load,
RSS, and start-up times.

Run through bench/run.sh (it builds the release binaries first).
  ROUTES="GET /todos,POST /todos"   only these routes (the rest still runs)
  PROFILE="GET /todos"              record that route's run with perf and
                                    write target/flamegraph-<route>.svg
  TODOS_BIN=path                    benchmark another build of todos"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
TODOS = os.environ.get("TODOS_BIN") or os.path.join(TARGET, "release", "todos")
FLOOR = os.path.join(TARGET, "release", "todos-floor")
ROUTES = [r.strip() for r in os.environ.get("ROUTES", "").split(",") if r.strip()]
PROFILE = os.environ.get("PROFILE", "")
DURATION = os.environ.get("DURATION", "10s")
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
THREADS = os.environ.get("THREADS", "2")
SECRET = "bench-secret-bench-secret-bench-secret-42"


class Server:
    started = []

    def __init__(self, argv, env):
        started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        Server.started.append(self)
        line = self.proc.stdout.readline()
        self.listening_ms = (time.perf_counter() - started) * 1000
        match = re.match(r"listening on (http://\S+)", line)
        if not match:
            sys.exit(f"unexpected first line from {argv[0]}: {line!r}")
        self.url = match.group(1)
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.001)
        self.ready_ms = (time.perf_counter() - started) * 1000

    def pid(self):
        return self.proc.pid

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def seed(url, username, todos):
    credentials = {"username": username, "password": "bench-password"}
    call("POST", url + "/users/sign-up", credentials)
    token = call("POST", url + "/users/log-in", credentials)["access_token"]
    ids = [call("POST", url + "/todos", {"contents": f"todo number {n}"}, token)["id"]
           for n in range(1, todos + 1)]
    return credentials, token, ids


def lua(method, body, token, directory):
    path = os.path.join(directory, f"{method}-{abs(hash((json.dumps(body), token)))}.lua")
    lines = [f'wrk.method = "{method}"', 'wrk.headers["Content-Type"] = "application/json"']
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    with open(path, "w") as script:
        script.write("\n".join(lines) + "\n")
    return path


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, script, connections=CONNECTIONS, duration=DURATION):
    out = subprocess.run(
        ["wrk", "-t", THREADS, "-c", str(connections), "-d", duration, "--latency", "-s", script, url],
        check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{url}: {errors.group(1)} failed responses\n{out}")
    return {"rps": rps, "p50": to_ms(*p50.groups()), "p99": to_ms(*p99.groups())}


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def profiled(name, pid, run):
    """Runs `run()` while perf samples process `pid`, then folds the samples
    into target/flamegraph-<route>.svg with inferno."""
    data = os.path.join(TARGET, f"perf-{slug(name)}.data")
    svg = os.path.join(TARGET, f"flamegraph-{slug(name)}.svg")
    # DWARF unwinding: release builds keep no frame pointers, and without
    # them the stacks stop at the first Rust frame.
    perf = subprocess.Popen(["perf", "record", "-F", "199", "--call-graph", "dwarf,16384",
                             "-p", str(pid), "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return run()
    finally:
        perf.send_signal(2)
        perf.wait(timeout=60)
        tools = os.path.join(TARGET, "tools", "bin")
        script = subprocess.run(["perf", "script", "-i", data], check=True, capture_output=True).stdout
        folded = subprocess.run([os.path.join(tools, "inferno-collapse-perf")], input=script,
                                check=True, capture_output=True).stdout
        with open(svg, "wb") as out:
            subprocess.run([os.path.join(tools, "inferno-flamegraph"), "--title", f"todos: {name}"],
                           input=folded, check=True, stdout=out)
        print(f"flamegraph: {svg}", flush=True)


def count_statements(url, env, routes):
    """Starts a second todos on the same database that logs every SQL
    statement (target `todos::sql`), sends each route once and counts the
    statements its request sent."""
    log_path = os.path.join(tempfile.mkdtemp(prefix="todos-sql-"), "sql.log")
    with open(log_path, "w") as log:
        counter = subprocess.Popen(
            [TODOS, "serve", "--addr", "127.0.0.1:0", "--database-url", url],
            env=dict(env, RUST_LOG="warn,todos::sql=trace"),
            stdout=subprocess.PIPE, stderr=log, text=True)
    line = counter.stdout.readline()
    base = re.match(r"listening on (http://\S+)", line).group(1)
    counts = {}

    def lines():
        time.sleep(0.3)  # the log writer runs on a thread of its own
        with open(log_path) as log:
            return sum(1 for entry in log if "todos::sql" in entry)

    for name, method, path, body, auth in routes:
        before = lines()
        call(method, base + path, body, auth)
        counts[name] = lines() - before
    counter.terminate()
    counter.wait(timeout=30)
    return counts


def main():
    tmp = tempfile.mkdtemp(prefix="todos-bench-")
    env = dict(os.environ, JWT_SECRET=SECRET, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    for name in ("DATABASE_URL", "REDIS_URL", "TODOS_MAIL_DIR", "SMTP_URL", "TODOS_ADDR"):
        env.pop(name, None)
    todos = Server([TODOS, "serve", "--addr", "127.0.0.1:0",
                    "--database-url", f"sqlite://{tmp}/bench.db?mode=rwc"], env)
    floor = Server([FLOOR], dict(env, TODOS_ADDR="127.0.0.1:0"))
    idle_rss = todos.rss_mib()

    reader, token, ids = seed(todos.url, "reader", 10)
    _, writer_token, _ = seed(todos.url, "writer", 0)
    # The log-ins beside GET /todos use an account of their own, untouched
    # by the log-in route's run.
    beside_credentials, _, _ = seed(todos.url, "beside", 0)
    credentials = reader
    routes = [
        ("GET /todos", "GET", "/todos", None, token),
        ("GET /todos/{id}", "GET", f"/todos/{ids[0]}", None, token),
        ("POST /todos", "POST", "/todos", {"contents": "benchmark"}, writer_token),
        ("PATCH /todos/{id}", "PATCH", f"/todos/{ids[1]}", {"is_done": True}, token),
        ("POST /users/log-in", "POST", "/users/log-in", credentials, None),
    ]
    results = []
    for name, method, path, body, auth in routes:
        if ROUTES and name not in ROUTES:
            continue
        script = lua(method, body, auth, tmp)
        # Log-ins beyond the hashing queue (16 on 2 cores) are refused
        # with 503 by design: drive them within it.
        connections = 8 if name == "POST /users/log-in" else CONNECTIONS
        if name == PROFILE:
            ours = profiled(name, todos.pid(), lambda: wrk(todos.url + path, script, connections))
        else:
            ours = wrk(todos.url + path, script, connections)
        base = wrk(floor.url + path, script, connections)
        results.append((name, ours, base))
        print(f"{name:20} todos {ours['rps']:9.0f} req/s p50 {ours['p50']:7.2f} ms p99 {ours['p99']:7.2f} ms"
              f" | floor {base['rps']:9.0f} req/s p50 {base['p50']:6.2f} ms p99 {base['p99']:6.2f} ms"
              f" | ratio {ours['rps'] / base['rps']:6.1%}", flush=True)

    list_script = lua("GET", None, token, tmp)
    alone = wrk(todos.url + "/todos", list_script)
    login_script = lua("POST", beside_credentials, None, tmp)
    beside = {}
    def log_ins():
        try:
            beside.update(wrk(todos.url + "/users/log-in", login_script, connections=4))
        except SystemExit as failed:  # wrk() exits on failed responses
            beside["failed"] = str(failed)
    login_load = threading.Thread(target=log_ins)
    login_load.start()
    time.sleep(0.5)
    under_load = wrk(todos.url + "/todos", list_script, duration=f"{max(1, int(DURATION.rstrip('s')) - 2)}s")
    login_load.join()
    if "failed" in beside:
        sys.exit(f"log-ins beside GET /todos: {beside['failed']}")
    loaded_rss = todos.rss_mib()
    todos.stop()
    floor.stop()
    statements = count_statements(f"sqlite://{tmp}/bench.db?mode=rwc", env, routes)

    print()
    print("| route | todos req/s | p50 ms | p99 ms | floor req/s | p50 ms | p99 ms | todos/floor | SQL statements |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, ours, base in results:
        print(f"| {name} | {ours['rps']:.0f} | {ours['p50']:.2f} | {ours['p99']:.2f} | "
              f"{base['rps']:.0f} | {base['p50']:.2f} | {base['p99']:.2f} | {ours['rps'] / base['rps']:.1%} | "
              f"{statements.get(name, '?')} |")
    print()
    print(f"| GET /todos p99 alone | {alone['p99']:.2f} ms ({alone['rps']:.0f} req/s) |")
    print(f"| GET /todos p99 beside log-in load (4 conns, {beside.get('rps', 0):.0f} log-ins/s) | "
          f"{under_load['p99']:.2f} ms ({under_load['rps']:.0f} req/s), {under_load['p99'] / alone['p99']:.2f}x alone |")
    print(f"| RSS idle / after load | {idle_rss:.1f} MiB / {loaded_rss:.1f} MiB |")
    print(f"| start to `listening on` / to first 200 | {todos.listening_ms:.0f} ms / {todos.ready_ms:.0f} ms |")
    print(f"\nwrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}; nproc {os.cpu_count()}; RUST_LOG={env['RUST_LOG']}")


if __name__ == "__main__":
    try:
        main()
    finally:
        for server in Server.started:
            if server.proc.poll() is None:
                server.proc.kill()
