"""Load on the live path: Parta embedded, Parta PostgreSQL + Redis, Matrix Synapse, same run.

    .venv/bin/python bench/load.py                         # everything, 3 rounds
    .venv/bin/python bench/load.py --systems embedded,pg --workloads chat10,chat50 --rounds 3
    .venv/bin/python bench/load.py --scale 0.1 --duration 5 --rounds 1   # a smoke run

Systems (each started, measured and stopped in turn; in every round all of them, alternating):
  embedded  `parta serve`, SQLite in bench/out/, one process, in-memory channel layer
  pg        `parta serve --workers 2`, PostgreSQL database parta_bench_h6, Redis db 6
  synapse   Matrix Synapse (PyPI, pinned below) in its own virtualenv bench/out/synapse-venv,
            installed by this script, on PostgreSQL database synapse_bench_h6, one process,
            presence off, rate limits lifted for everyone (the benchmark users are all it has)
Each system gets a fresh database and its population once per run (bench/load_population.py
for Parta; the shared-secret registration API for Synapse); --reuse keeps what a previous
run made.

Workloads (clients are asyncio tasks in this process; traffic only to 127.0.0.1):
  chat10, chat50  a 30-member chat, 10 senders, 10 or 50 msg/s offered (open loop) for
                  --duration s; every member connected (Parta: /ws/events/, Synapse: /sync)
  channel         a 500-member channel, its owner posts 5 posts/s, every member connected
  ramp            idle connections 500 → 1,000 → 2,000 → 4,000 (Parta: sockets that ping every
                  25 s like the page; Synapse: /sync long-polls), 2 msg/s in the 30-member chat
                  among them; stops at the first unhealthy level
Per run of a workload: send latency (the HTTP answer), delivery-to-all (send start → the last
connected member has it), achieved msg/s (acknowledged sends / time from the first send to the
last answer), errors (non-2xx), timeouts (no answer in 10 s), drops (a live connection closed
by the server or failed), lost (acknowledged messages a member never received, counted per
member, after a 10 s drain) and duplicated ones (received twice by one member); Parta's events
also carry per-person sequence numbers, so gaps and repeats there are counted too. Healthy
(Mattermost's criteria): errors + timeouts + drops + failed connections < 0.025 % of requests
and connections, and send p99 < 2 s. RSS per idle connection = growth of the server processes'
VmRSS (children included) from the first level to this one, over the connections added.

--scale multiplies member counts, senders, rates and ramp levels (a smoke run); the results
(JSON) go to bench/out/load-<time>.json and a Markdown table is printed.
"""

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PARTA = Path(sys.executable).with_name("parta")
HOST = "127.0.0.1"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_DB = 6
SYNAPSE_VERSION = "1.163.2"
SYNAPSE_VENV = OUT / "synapse-venv"
SYNAPSE_DIR = OUT / "synapse"
SERVER_NAME = "bench.localhost"

SEND_TIMEOUT = 10.0
DRAIN_TIMEOUT = 10.0
CONNECT_TIMEOUT = 30.0
PING_EVERY = 25.0
RAMP_LEVELS = (500, 1000, 2000, 4000)
HEALTHY_ERROR_SHARE = 0.00025
HEALTHY_SEND_P99 = 2.0


def now() -> float:
    return time.monotonic()


# ---------------------------------------------------------------- a small HTTP/1.1 client


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection (Content-Length or chunked answers)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None  # noqa: S101
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError("connection closed before the answer")
        status = int(status_line.split()[1])
        answer_headers = []
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            answer_headers.append((name.strip().lower(), value.strip()))
        found = dict(answer_headers)
        if "content-length" in found:
            data = await self.reader.readexactly(int(found["content-length"]))
        elif found.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.read()
            self.close()
        if found.get("connection", "").lower() == "close":
            self.close()
        return status, answer_headers, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = None


class Client:
    """A browser-like client: up to `limit` keep-alive connections to one port."""

    def __init__(self, port: int, limit: int = 6) -> None:
        self.port = port
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(limit)

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
        timeout: float = SEND_TIMEOUT,
    ) -> tuple[int, list[tuple[str, str]], Any]:
        data = None if body is None else json.dumps(body).encode()
        sent = dict(headers or {})
        if data is not None:
            sent["Content-Type"] = "application/json"
        async with self.slots:
            deadline = now() + timeout
            while True:
                reused = bool(self.idle)
                connection = self.idle.pop() if reused else Connection(self.port)
                try:
                    status, answer_headers, raw = await asyncio.wait_for(
                        connection.request(method, path, sent, data), deadline - now()
                    )
                    break
                except (HttpError, ConnectionError):
                    connection.close()
                    # The server closed an idle keep-alive connection (uvicorn after 5 s)
                    # before it read the request: a browser retries on a new connection.
                    if not reused:
                        raise
                except BaseException:
                    connection.close()
                    raise
            self.idle.append(connection)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return status, answer_headers, parsed

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()


async def wait_http(port: int, path: str, limit: float) -> None:
    deadline = now() + limit
    while now() < deadline:
        client = Client(port)
        try:
            status, _, _ = await client.request("GET", path, timeout=5)
            if status == 200:
                return
        except (TimeoutError, OSError, EOFError, HttpError, ValueError):
            pass
        finally:
            client.close()
        await asyncio.sleep(0.5)
    raise RuntimeError(f"no answer on port {port} within {limit:.0f} s")


# ---------------------------------------------------------------- what the clients observed


@dataclass
class Tally:
    """One measured stretch of sending: what was sent and what each member received."""

    members: int
    sent_at: dict[str, float] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    received: dict[str, dict[int, list[float]]] = field(default_factory=lambda: defaultdict(dict))
    errors: int = 0
    timeouts: int = 0
    error_kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def got(self, member: int, marker: str, at: float) -> None:
        if marker in self.sent_at:
            self.received[marker].setdefault(member, []).append(at)

    def delivered_to_all(self) -> bool:
        return all(len(self.received.get(m, {})) >= self.members for m in self.answered_at)


@dataclass
class Hub:
    """What every open connection reports to: the current tally and the connection faults."""

    tally: Tally | None = None
    drops: int = 0
    connect_failures: int = 0
    seq_gaps: int = 0
    seq_repeats: int = 0

    def got(self, member: int | None, marker: str, at: float) -> None:
        if member is not None and self.tally is not None:
            self.tally.got(member, marker, at)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def tally_figures(tally: Tally, started: float, hub: Hub, rate: float) -> dict[str, Any]:
    """The figures of one stretch; msg/s over the offered schedule or, when the answers
    took longer than it, until the last answer."""
    delivery = []
    lost = duplicated = 0
    for marker in tally.answered_at:
        by_member = tally.received.get(marker, {})
        lost += tally.members - len(by_member)
        duplicated += sum(len(times) - 1 for times in by_member.values())
        if len(by_member) >= tally.members:
            delivery.append(max(times[0] for times in by_member.values()) - tally.sent_at[marker])
    last_answer = max(tally.answered_at.values(), default=started)
    return {
        "offered": len(tally.sent_at),
        "acknowledged": len(tally.answered_at),
        "achieved_per_s": round(
            len(tally.answered_at) / max(last_answer - started, len(tally.sent_at) / rate), 2
        ),
        "send_p50_ms": ms(percentile(tally.latencies, 0.5)),
        "send_p99_ms": ms(percentile(tally.latencies, 0.99)),
        "delivery_p50_ms": ms(percentile(delivery, 0.5)),
        "delivery_p99_ms": ms(percentile(delivery, 0.99)),
        "delivered_to_all": len(delivery),
        "lost": lost,
        "duplicated": duplicated,
        "errors": tally.errors,
        "error_kinds": dict(tally.error_kinds),
        "timeouts": tally.timeouts,
        "drops": hub.drops,
        "connect_failures": hub.connect_failures,
        "seq_gaps": hub.seq_gaps,
        "seq_repeats": hub.seq_repeats,
    }


# ---------------------------------------------------------------- server processes


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_kib(root: int) -> int:
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def run(command: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> None:
    subprocess.run(command, env=env, check=True, **kwargs)  # noqa: S603


def psql(sql: str) -> None:
    run(["psql", f"{PG_SERVER}/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])


def fresh_pg_database(name: str, *, c_collation: bool = False) -> None:
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    collation = " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
    psql(f'CREATE DATABASE "{name}"' + (collation if c_collation else ""))


def flush_redis_db(db: int) -> None:
    with socket.create_connection((HOST, 6379), timeout=5) as redis:
        redis.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
        if redis.recv(100).count(b"+OK") < 1:
            raise RuntimeError("Redis did not flush")


class Server:
    """A server process group this script started, and only that one."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


# ---------------------------------------------------------------- systems


@dataclass
class Population:
    people: list[dict[str, Any]]
    chat30: Any
    channel500: Any


class System:
    name = ""
    label = ""
    port = 0
    server: Server | None = None

    def prepare(self, people: int, reuse: bool) -> Population:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    async def session(self, person: dict[str, Any], client: Client) -> dict[str, str]:
        """Request headers of a signed-in client that may send."""
        raise NotImplementedError

    async def send(self, client: Client, headers: dict[str, str], room: Any, marker: str) -> int:
        raise NotImplementedError

    async def listen(
        self,
        person: dict[str, Any],
        member: int | None,
        hub: Hub,
        ready: asyncio.Event,
    ) -> None:
        """Stay connected as `person` until cancelled, reporting messages to the hub."""
        raise NotImplementedError


def lasting_secret(name: str) -> str:
    """A key kept in bench/out/, so that sessions made for --reuse stay valid across runs."""
    path = OUT / name
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(40))
    return path.read_text()


class Parta(System):
    def __init__(self, name: str, label: str, port: int, workers: int, env: dict[str, str]):
        self.name, self.label, self.port, self.workers = name, label, port, workers
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DEBUG": "0",
            "PARTA_ALLOW_DEV_SECRET": "1",
            "SECRET_KEY": lasting_secret(f"secret-{name}"),
            "ALLOWED_HOSTS": HOST,
            "PARTA_LOG_LEVEL": "WARNING",
            **env,
        }
        self.population_file = OUT / f"population-{name}.json"

    def prepare(self, people: int, reuse: bool) -> Population:
        if reuse and self.population_file.exists():
            data = json.loads(self.population_file.read_text())
            if len(data["people"]) >= people:
                return Population(data["people"], data["chat30"], data["channel500"])
        if "DATABASE_URL" in self.env:
            fresh_pg_database(self.env["DATABASE_URL"].rsplit("/", 1)[1])
        else:
            shutil.rmtree(self.env["PARTA_DATA_DIR"], ignore_errors=True)
        if "REDIS_URL" in self.env:
            flush_redis_db(REDIS_DB)
        run([str(PARTA), "migrate", "-v0"], env=self.env)
        run(
            [
                sys.executable,
                str(BENCH / "load_population.py"),
                "--people",
                str(people),
                "--out",
                str(self.population_file),
            ],
            env=self.env,
        )
        data = json.loads(self.population_file.read_text())
        return Population(data["people"], data["chat30"], data["channel500"])

    def start(self) -> None:
        command = [str(PARTA), "serve", "--host", HOST, "--port", str(self.port)]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        self.server = Server(command, self.env, OUT / f"server-{self.name}.log")
        asyncio.run(wait_http(self.port, "/api/accounts/sign-in/csrf", 120))

    async def session(self, person: dict[str, Any], client: Client) -> dict[str, str]:
        cookie = f"sessionid={person['session']}"
        status, headers, body = await client.request(
            "GET", "/api/accounts/sign-in/csrf", {"Cookie": cookie}
        )
        if status != 200:
            raise RuntimeError(f"CSRF token: HTTP {status}")
        token = body["csrf_token"]
        csrf_cookie = next(
            value.split(";")[0]
            for name, value in headers
            if name == "set-cookie" and value.startswith("csrftoken=")
        )
        return {"Cookie": f"{cookie}; {csrf_cookie}", "X-CSRFToken": token}

    async def send(self, client: Client, headers: dict[str, str], room: Any, marker: str) -> int:
        status, _, _ = await client.request(
            "POST",
            f"/api/messaging/conversations/{room}/messages",
            headers,
            {"text": marker, "idempotency_key": marker},
        )
        return status

    async def listen(
        self, person: dict[str, Any], member: int | None, hub: Hub, ready: asyncio.Event
    ) -> None:
        last: int | None = None
        for attempt in range(4):
            query = "" if last is None else f"?after={last}"
            try:
                async with websockets.connect(
                    f"ws://{HOST}:{self.port}/ws/events/{query}",
                    additional_headers={
                        "Cookie": f"sessionid={person['session']}",
                        "Origin": f"http://{HOST}:{self.port}",
                    },
                    ping_interval=None,  # the page's own pings, below
                    open_timeout=CONNECT_TIMEOUT,
                    max_queue=None,
                ) as socket_:
                    if last is None:
                        await socket_.send(json.dumps({"type": "resume", "after": None}))
                    pinger = asyncio.create_task(self._ping(socket_))
                    try:
                        async for raw in socket_:
                            at = now()
                            event = json.loads(raw)
                            kind = event.get("type")
                            if kind == "ready":
                                last = event["seq"] if last is None else last
                                ready.set()
                            elif kind == "event":
                                seq = event["seq"]
                                if last is not None and seq <= last:
                                    hub.seq_repeats += 1
                                elif last is not None and seq != last + 1:
                                    hub.seq_gaps += 1
                                last = max(seq, last or 0)
                                if event["kind"] == "message.created":
                                    hub.got(member, event["payload"]["message"]["text"], at)
                            elif kind == "resync":
                                hub.seq_gaps += 1
                                last = event["seq"]
                    finally:
                        pinger.cancel()
                hub.drops += 1  # closed by the server
            except asyncio.CancelledError:
                raise
            except ConnectionClosed:
                hub.drops += 1
            except (TimeoutError, OSError, EOFError, websockets.InvalidHandshake):
                if attempt == 0 and not ready.is_set():
                    hub.connect_failures += 1
                    ready.set()
                    return
                hub.drops += 1
            await asyncio.sleep(1 + attempt)

    async def _ping(self, socket_: Any) -> None:
        await asyncio.sleep(PING_EVERY * secrets.randbelow(1000) / 1000)
        while True:
            await socket_.send(json.dumps({"type": "ping"}))
            await asyncio.sleep(PING_EVERY)


SYNAPSE_LOG_CONFIG = """\
version: 1
formatters:
  plain: {format: '%(asctime)s %(name)s %(levelname)s %(message)s'}
handlers:
  file: {class: logging.FileHandler, filename: LOGFILE, formatter: plain}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
"""


def unlimited(*names: str) -> dict[str, Any]:
    lifted = {"per_second": 100000, "burst_count": 100000}
    return {name: lifted for name in names} if names else lifted


class Synapse(System):
    name, label, port = "synapse", f"Synapse {SYNAPSE_VERSION}, PostgreSQL", 18063
    database = "synapse_bench_h6"

    def __init__(self) -> None:
        self.python = SYNAPSE_VENV / "bin" / "python"
        self.config = SYNAPSE_DIR / "homeserver.yaml"
        self.population_file = OUT / "population-synapse.json"
        self.secret = ""

    def install(self) -> None:
        if self.python.exists():
            check = subprocess.run(  # noqa: S603
                [str(self.python), "-c", "import synapse; print(synapse.__version__)"],
                capture_output=True,
                text=True,
                check=False,
            )
            if check.stdout.startswith(SYNAPSE_VERSION):
                return
        run(["python3", "-m", "venv", str(SYNAPSE_VENV)])
        run(
            [
                str(SYNAPSE_VENV / "bin" / "pip"),
                "install",
                "-q",
                "--prefer-binary",
                f"matrix-synapse[postgres]=={SYNAPSE_VERSION}",
            ]
        )

    def write_config(self) -> None:
        SYNAPSE_DIR.mkdir(parents=True, exist_ok=True)
        self.secret = secrets.token_hex(32)
        log_config = SYNAPSE_DIR / "log.yaml"
        log_config.write_text(
            SYNAPSE_LOG_CONFIG.replace("LOGFILE", str(OUT / "server-synapse.log"))
        )
        config = {
            "server_name": SERVER_NAME,
            "report_stats": False,
            "pid_file": str(SYNAPSE_DIR / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": [HOST],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "psycopg2",
                "args": {
                    "user": "postgres",
                    "dbname": self.database,
                    "host": HOST,
                    "port": 5432,
                    "cp_min": 5,
                    "cp_max": 10,
                },
            },
            "log_config": str(log_config),
            "media_store_path": str(SYNAPSE_DIR / "media"),
            "signing_key_path": str(SYNAPSE_DIR / "signing.key"),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": secrets.token_hex(32),
            "form_secret": secrets.token_hex(32),
            "enable_registration": False,
            "bcrypt_rounds": 4,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "enable_metrics": False,
            "rc_message": unlimited(),
            "rc_registration": unlimited(),
            "rc_login": unlimited("address", "account", "failed_attempts"),
            "rc_joins": unlimited("local", "remote"),
            "rc_joins_per_room": unlimited(),
            "rc_invites": unlimited("per_room", "per_user", "per_issuer"),
            "rc_admin_redaction": unlimited(),
            "rc_room_creation": unlimited(),
            "rc_presence": unlimited("per_user"),
        }
        # JSON is YAML.
        self.config.write_text(json.dumps(config, indent=1))
        run(
            [
                str(self.python),
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.config),
                "--generate-keys",
            ],
            stdout=subprocess.DEVNULL,
        )

    def prepare(self, people: int, reuse: bool) -> Population:
        self.install()
        if reuse and self.population_file.exists() and self.config.exists():
            data = json.loads(self.population_file.read_text())
            if len(data["people"]) >= people:
                return Population(data["people"], data["chat30"], data["channel500"])
        fresh_pg_database(self.database, c_collation=True)
        shutil.rmtree(SYNAPSE_DIR, ignore_errors=True)
        self.write_config()
        self.start()
        try:
            data = asyncio.run(self._populate(max(people, 500)))
        finally:
            self.stop()
        self.population_file.write_text(json.dumps(data))
        return Population(data["people"], data["chat30"], data["channel500"])

    async def _populate(self, count: int) -> dict[str, Any]:
        client = Client(self.port, limit=8)

        async def register(number: int) -> dict[str, Any]:
            username, password = f"bench{number}", secrets.token_hex(8)
            _, _, body = await client.request("GET", "/_synapse/admin/v1/register")
            nonce = body["nonce"]
            mac = hmac.new(
                self.secret.encode(),
                b"\x00".join([nonce.encode(), username.encode(), password.encode(), b"notadmin"]),
                hashlib.sha1,
            ).hexdigest()
            status, _, body = await client.request(
                "POST",
                "/_synapse/admin/v1/register",
                body={"nonce": nonce, "username": username, "password": password, "mac": mac},
                timeout=60,
            )
            if status != 200:
                raise RuntimeError(f"register {username}: HTTP {status} {body}")
            return {"id": body["user_id"], "token": body["access_token"]}

        people = await gather_limited([lambda n=n: register(n) for n in range(count)], 8)

        async def room(creator: dict[str, Any], name: str, members: list[dict], channel: bool):
            content: dict[str, Any] = {"preset": "public_chat", "name": name}
            if channel:  # only the owner posts, like a Parta channel
                content["power_level_content_override"] = {"events_default": 50}
            status, _, body = await client.request(
                "POST", "/_matrix/client/v3/createRoom", bearer(creator), content, timeout=60
            )
            if status != 200:
                raise RuntimeError(f"createRoom: HTTP {status} {body}")
            room_id = body["room_id"]
            path = f"/_matrix/client/v3/join/{urllib.parse.quote(room_id)}"

            async def join(member: dict[str, Any]) -> None:
                status, _, body = await client.request("POST", path, bearer(member), {}, 60)
                if status != 200:
                    raise RuntimeError(f"join: HTTP {status} {body}")

            await gather_limited([lambda m=m: join(m) for m in members], 8)
            return room_id

        chat30 = await room(people[0], "chat30", people[1:30], False)
        channel500 = await room(people[0], "channel500", people[1:500], True)
        client.close()
        return {"people": people, "chat30": chat30, "channel500": channel500}

    def start(self) -> None:
        command = [str(self.python), "-m", "synapse.app.homeserver", "-c", str(self.config)]
        self.server = Server(command, dict(os.environ), OUT / "server-synapse.out")
        asyncio.run(wait_http(self.port, "/_matrix/client/versions", 180))
        if not self.secret:
            self.secret = json.loads(self.config.read_text())["registration_shared_secret"]

    async def session(self, person: dict[str, Any], client: Client) -> dict[str, str]:
        return bearer(person)

    async def send(self, client: Client, headers: dict[str, str], room: Any, marker: str) -> int:
        path = (
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/"
            + urllib.parse.quote(marker)
        )
        status, _, _ = await client.request(
            "PUT", path, headers, {"msgtype": "m.text", "body": marker}
        )
        return status

    async def listen(
        self, person: dict[str, Any], member: int | None, hub: Hub, ready: asyncio.Event
    ) -> None:
        client = Client(self.port, limit=1)
        sync_filter = urllib.parse.quote(
            json.dumps(
                {
                    "presence": {"types": []},
                    "account_data": {"types": []},
                    "room": {
                        "timeline": {"limit": 100, "types": ["m.room.message"]},
                        "state": {"lazy_load_members": True, "types": []},
                        "ephemeral": {"types": []},
                        "account_data": {"types": []},
                    },
                },
                separators=(",", ":"),
            )
        )
        since, failures = None, 0
        try:
            while failures < 4:
                query = f"filter={sync_filter}&timeout={0 if since is None else 30000}"
                if since is not None:
                    query += f"&since={since}"
                try:
                    status, _, body = await client.request(
                        "GET", f"/_matrix/client/v3/sync?{query}", bearer(person), timeout=60
                    )
                    if status != 200:
                        raise HttpError(f"sync: HTTP {status}")
                except (TimeoutError, OSError, EOFError, HttpError, ValueError):
                    if since is None and not ready.is_set():
                        hub.connect_failures += 1
                        ready.set()
                        return
                    hub.drops += 1
                    failures += 1
                    await asyncio.sleep(1)
                    continue
                at = now()
                if since is not None:
                    for joined in body.get("rooms", {}).get("join", {}).values():
                        for event in joined.get("timeline", {}).get("events", []):
                            marker = event.get("content", {}).get("body")
                            if isinstance(marker, str):
                                hub.got(member, marker, at)
                since = body["next_batch"]
                ready.set()
        finally:
            client.close()


def bearer(person: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {person['token']}"}


async def gather_limited(jobs: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    slots = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with slots:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


def systems() -> dict[str, System]:
    return {
        "embedded": Parta(
            "embedded",
            "Parta embedded (SQLite, 1 process)",
            18061,
            1,
            {"PARTA_DATA_DIR": str(OUT / "data-load-embedded")},
        ),
        "pg": Parta(
            "pg",
            "Parta PostgreSQL + Redis, 2 workers",
            18062,
            2,
            {
                "DATABASE_URL": f"{PG_SERVER}/parta_bench_h6",
                "REDIS_URL": f"redis://{HOST}:6379/{REDIS_DB}",
                "PARTA_CHANNELS_PREFIX": "bench6",
                "PARTA_CACHE_PREFIX": "bench6",
                "PARTA_JOBS_PREFIX": "bench6",
            },
        ),
        "synapse": Synapse(),
    }


# ---------------------------------------------------------------- workloads


@dataclass
class Shape:
    members: int
    senders: int
    rate: float
    room: str


def scaled(value: float, scale: float, least: int = 1) -> int:
    return max(least, round(value * scale))


async def connect_all(
    system: System,
    people: list[dict[str, Any]],
    members: int,
    hub: Hub,
    first: int = 0,
    limit: int = 25,
) -> list[asyncio.Task[None]]:
    """Open a connection for each person, who is number `first` + their index in `people`
    (numbers below `members` report what they receive), at most `limit` handshakes at a
    time; returns once all are ready or failed."""
    tasks, slots = [], asyncio.Semaphore(limit)

    async def one(index: int, person: dict[str, Any]) -> None:
        ready = asyncio.Event()
        member = first + index if first + index < members else None
        async with slots:
            task = asyncio.create_task(system.listen(person, member, hub, ready))
            tasks.append(task)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ready.wait(), CONNECT_TIMEOUT + 10)
            if not ready.is_set():
                hub.connect_failures += 1

    await asyncio.gather(*(one(i, p) for i, p in enumerate(people)))
    return tasks


async def drive(
    system: System,
    senders: list[tuple[Client, dict[str, str]]],
    room: Any,
    rate: float,
    duration: float,
    tally: Tally,
    label: str,
) -> float:
    """Send rate × duration messages, open loop, round-robin over the senders; returns the
    moment the first was sent."""
    count = max(1, round(rate * duration))
    started = now()
    tasks = []

    async def one(index: int) -> None:
        client, headers = senders[index % len(senders)]
        marker = f"{label}-{index}-{secrets.token_hex(3)}"
        tally.sent_at[marker] = at = now()
        try:
            status = await system.send(client, headers, room, marker)
        except TimeoutError:
            tally.timeouts += 1
            return
        except (OSError, EOFError, HttpError, ValueError) as failure:
            tally.errors += 1
            tally.error_kinds[type(failure).__name__] += 1
            return
        if 200 <= status < 300:
            tally.answered_at[marker] = done = now()
            tally.latencies.append(done - at)
        else:
            tally.errors += 1
            tally.error_kinds[f"HTTP {status}"] += 1

    for index in range(count):
        delay = started + index / rate - now()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    deadline = now() + DRAIN_TIMEOUT
    while not tally.delivered_to_all() and now() < deadline:
        await asyncio.sleep(0.1)
    return started


async def signed_in_senders(
    system: System, people: list[dict[str, Any]]
) -> list[tuple[Client, dict[str, str]]]:
    senders = []
    for person in people:
        client = Client(system.port)
        senders.append((client, await system.session(person, client)))
    return senders


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def chat_workload(
    system: System, population: Population, shape: Shape, duration: float, label: str
) -> dict[str, Any]:
    hub = Hub()
    people = population.people[: shape.members]
    listeners = await connect_all(system, people, shape.members, hub)
    senders = await signed_in_senders(system, people[: shape.senders])
    hub.tally = tally = Tally(members=shape.members)
    room = getattr(population, shape.room)
    try:
        started = await drive(system, senders, room, shape.rate, duration, tally, label)
    finally:
        await stop_tasks(listeners)
        for client, _ in senders:
            client.close()
    figures = tally_figures(tally, started, hub, shape.rate)
    figures.update(members=shape.members, senders=shape.senders, offered_rate=shape.rate)
    return figures


async def ramp_workload(
    system: System, population: Population, scale: float, duration: float, label: str
) -> dict[str, Any]:
    hub = Hub()
    members, rate = scaled(30, scale, 2), 2.0
    levels = [scaled(level, scale, members) for level in RAMP_LEVELS]
    tasks: list[asyncio.Task[None]] = []
    steps, healthy_count = [], 0
    senders = await signed_in_senders(system, population.people[: scaled(10, scale)])
    try:
        for level in levels:
            before_drops, before_failures = hub.drops, hub.connect_failures
            opened = now()
            tasks += await connect_all(
                system, population.people[len(tasks) : level], members, hub, first=len(tasks)
            )
            connect_s = now() - opened
            await asyncio.sleep(3)
            hub.tally = tally = Tally(members=members)
            started = await drive(
                system, senders, population.chat30, rate, duration, tally, f"{label}-{level}"
            )
            # Read after the sends, so that the first level's figure includes the server's
            # warm-up (workers import code and fill caches on their first requests); memory
            # per connection is the growth from there.
            rss = system.server.rss_kib() if system.server else 0
            first = steps[0] if steps else None
            figures = tally_figures(tally, started, hub, rate)
            failed = (
                figures["errors"]
                + figures["timeouts"]
                + hub.drops
                - before_drops
                + hub.connect_failures
                - before_failures
            )
            attempts = figures["offered"] + level
            send_p99 = figures["send_p99_ms"]
            healthy = (
                failed / attempts < HEALTHY_ERROR_SHARE
                and send_p99 is not None
                and send_p99 < HEALTHY_SEND_P99 * 1000
                and figures["lost"] == 0
            )
            figures.update(
                level=level,
                connect_s=round(connect_s, 1),
                rss_kib=rss,
                rss_per_connection_kib=(
                    round((rss - first["rss_kib"]) / (level - first["level"]), 1)
                    if first is not None
                    else None
                ),
                failure_share=round(failed / attempts, 6),
                healthy=healthy,
            )
            steps.append(figures)
            if not healthy:
                break
            healthy_count = level
    finally:
        await stop_tasks(tasks)
        for client, _ in senders:
            client.close()
    best = next((s for s in steps if s["level"] == healthy_count), None)
    return {
        "largest_healthy": healthy_count,
        "first_level_rss_kib": steps[0]["rss_kib"] if steps else None,
        "rss_per_connection_kib": best["rss_per_connection_kib"] if best else None,
        "send_p50_ms": best["send_p50_ms"] if best else None,
        "send_p99_ms": best["send_p99_ms"] if best else None,
        "delivery_p50_ms": best["delivery_p50_ms"] if best else None,
        "delivery_p99_ms": best["delivery_p99_ms"] if best else None,
        "lost": sum(s["lost"] for s in steps),
        "duplicated": sum(s["duplicated"] for s in steps),
        "steps": steps,
    }


def run_workload(
    system: System, population: Population, workload: str, args: argparse.Namespace, label: str
) -> dict[str, Any]:
    scale = args.scale
    load_before = os.getloadavg()
    if workload == "ramp":
        coroutine = ramp_workload(system, population, scale, args.duration, label)
    else:
        shapes = {
            "chat10": Shape(scaled(30, scale, 2), scaled(10, scale), 10 * scale, "chat30"),
            "chat50": Shape(scaled(30, scale, 2), scaled(10, scale), 50 * scale, "chat30"),
            "channel": Shape(scaled(500, scale, 2), 1, 5 * scale, "channel500"),
        }
        coroutine = chat_workload(system, population, shapes[workload], args.duration, label)
    started = time.time()
    figures = asyncio.run(asyncio.wait_for(coroutine, args.duration * 10 + 900))
    figures.update(
        wall_s=round(time.time() - started, 1),
        loadavg_before=load_before,
        loadavg_after=os.getloadavg(),
        server_rss_kib=system.server.rss_kib() if system.server else None,
    )
    return figures


# ---------------------------------------------------------------- report


KEYS = {
    "chat": [
        ("achieved_per_s", "msg/s"),
        ("send_p50_ms", "send p50 ms"),
        ("send_p99_ms", "send p99 ms"),
        ("delivery_p50_ms", "delivery-to-all p50 ms"),
        ("delivery_p99_ms", "delivery-to-all p99 ms"),
        ("lost", "lost"),
        ("duplicated", "dup"),
        ("errors", "errors"),
        ("timeouts", "timeouts"),
        ("drops", "drops"),
    ],
    "ramp": [
        ("largest_healthy", "largest healthy"),
        ("rss_per_connection_kib", "KiB RSS / idle conn."),
        ("send_p50_ms", "send p50 ms"),
        ("send_p99_ms", "send p99 ms"),
        ("delivery_p50_ms", "delivery p50 ms"),
        ("delivery_p99_ms", "delivery p99 ms"),
        ("lost", "lost"),
        ("duplicated", "dup"),
    ],
}


def spread(values: list[Any]) -> dict[str, Any]:
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(present), "min": min(present), "max": max(present)}


def summarize(results: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for system, workloads in results.items():
        for workload, rounds in workloads.items():
            keys = KEYS["ramp" if workload == "ramp" else "chat"]
            summary.setdefault(system, {})[workload] = {
                key: spread([r.get(key) for r in rounds]) for key, _ in keys
            }
    return summary


def cell(figure: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        if value is None:
            return "—"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"

    if figure["median"] is None:
        return "—"
    if figure["min"] == figure["max"]:
        return show(figure["median"])
    return f"{show(figure['median'])} ({show(figure['min'])}–{show(figure['max'])})"


def markdown(summary: dict[str, Any], labels: dict[str, str], rounds: int) -> str:
    lines = []
    for kind in ("chat", "ramp"):
        keys = KEYS[kind]
        rows = [
            (system, workload, figures)
            for system, workloads in summary.items()
            for workload, figures in workloads.items()
            if (workload == "ramp") == (kind == "ramp")
        ]
        if not rows:
            continue
        lines.append(f"\nMedians over {rounds} round(s), (min–max) when they differ:\n")
        lines.append("| system | workload | " + " | ".join(title for _, title in keys) + " |")
        lines.append("|---|---|" + "---|" * len(keys))
        for system, workload, figures in rows:
            values = " | ".join(cell(figures[key]) for key, _ in keys)
            lines.append(f"| {labels[system]} | {workload} | {values} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def raise_open_files() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def git(*command: str) -> str:
    done = subprocess.run(  # noqa: S603
        ["git", *command],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default="embedded,pg,synapse")
    parser.add_argument("--workloads", default="chat10,chat50,channel,ramp")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of sizes and rates")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of sending")
    parser.add_argument("--reuse", action="store_true", help="keep the populations made before")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (in bench/out/)")
    args = parser.parse_args()
    chosen = systems()
    names = [s for s in args.systems.split(",") if s]
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(names) - set(chosen) | set(workloads) - {"chat10", "chat50", "channel", "ramp"}
    if unknown or args.rounds < 1 or not 0 < args.scale <= 1 or not 1 <= args.duration <= 600:
        parser.error(f"bad arguments {sorted(unknown) or ''}")
    OUT.mkdir(exist_ok=True)
    out = args.out or OUT / f"load-{time.strftime('%Y%m%dT%H%M%S')}.json"
    raise_open_files()
    people = scaled(max(RAMP_LEVELS), args.scale, 500) if "ramp" in workloads else 500
    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git("rev-parse", "HEAD"),
        "dirty_paths": git("status", "--porcelain", "--untracked-files=no").splitlines(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }
    populations = {}
    for name in names:
        print(f"[{name}] preparing {people} people", flush=True)
        populations[name] = chosen[name].prepare(people, args.reuse)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {n: defaultdict(list) for n in names}
    try:
        for round_number in range(1, args.rounds + 1):
            # Alternate the order, so that no system always runs first after a pause.
            order = names if round_number % 2 else names[::-1]
            for name in order:
                system = chosen[name]
                system.start()
                try:
                    for workload in workloads:
                        label = f"r{round_number}-{name}-{workload}"
                        figures = run_workload(system, populations[name], workload, args, label)
                        results[name][workload].append(figures)
                        print(f"[{label}] {json.dumps(figures)[:400]}", flush=True)
                finally:
                    system.stop()
                out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    finally:
        for system in chosen.values():
            system.stop()
    meta["loadavg_end"] = os.getloadavg()
    summary = summarize(results)
    out.write_text(json.dumps({"meta": meta, "summary": summary, "results": results}, indent=1))
    print(markdown(summary, {n: chosen[n].label for n in names}, args.rounds))
    print(f"\nload average at start {meta['loadavg_start']}, at end {meta['loadavg_end']}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
