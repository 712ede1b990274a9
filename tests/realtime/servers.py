"""Real `uvicorn parta.asgi:application` processes on the test database, for the realtime tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

import parta


def database_url() -> str:
    """The live test database, as a DATABASE_URL another process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def server_env(**overrides: str) -> dict[str, str]:
    """The production settings on the test database, signed with the test key (the test
    process makes the session cookies)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "parta.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "",
        # The servers run the code under test, not whatever src the venv's .pth names
        # (a worktree shares its venv with the main checkout).
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(parta.__file__).parents[1]), os.environ.get("PYTHONPATH")])
        ),
        **overrides,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"uvicorn on {port} exited:\n{log.read()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"uvicorn on {port} did not start in 30 s")


@contextmanager
def uvicorn_processes(
    env: dict[str, str], logs: Path, count: int, ports: list[int] | None = None
) -> Iterator[list[tuple[int, subprocess.Popen]]]:
    """Start `count` uvicorn processes on free loopback ports (or on these `ports`), each
    with its process (to kill one); stop those still running on the way out."""
    env = {**env, "PARTA_DATA_DIR": str(logs)}
    with ExitStack() as stack:
        started = []
        for n in range(count):
            port = ports[n] if ports else _free_port()
            log = stack.enter_context(open(logs / f"uvicorn-{n}.log", "w+"))
            command = [sys.executable, "-m", "uvicorn", "parta.asgi:application"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            stack.callback(_stop, process)
            _wait_for_port(port, process, log)
            started.append((port, process))
        yield started


@contextmanager
def uvicorn_servers(
    env: dict[str, str], logs: Path, count: int, ports: list[int] | None = None
) -> Iterator[list[int]]:
    """Start `count` uvicorn processes on free loopback ports (or on these `ports`); stop
    them on the way out."""
    with uvicorn_processes(env, logs, count, ports) as started:
        yield [port for port, _process in started]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
