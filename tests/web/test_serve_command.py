from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from parta.web.management.commands import serve


@pytest.fixture
def uvicorn_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_serve_collects_static_files_then_runs_the_asgi_app(uvicorn_calls):
    call_command("serve", stdout=StringIO(), stderr=StringIO())
    assert uvicorn_calls == [
        (
            "parta.asgi:application",
            {
                "host": "127.0.0.1",
                "port": 8000,
                "workers": 1,
                "lifespan": "on",
                "proxy_headers": True,
                "ws_per_message_deflate": False,
            },
        )
    ]
    assert (Path(settings.STATIC_ROOT) / "admin" / "css" / "base.css").is_file()


def test_several_workers_on_sqlite_without_redis_are_warned_about(uvicorn_calls):
    err = StringIO()
    with override_settings(REDIS_URL=""):
        call_command(
            "serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "3",  # noqa: S104
            stdout=StringIO(), stderr=err,
        )  # fmt: skip
    _app, options = uvicorn_calls[0]
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 9000, 3)  # noqa: S104
    # Each worker's lifespan starts its fan-out task.
    assert options["lifespan"] == "on"
    if connection.vendor == "sqlite":
        assert "SQLite is the embedded default for one process" in err.getvalue()
    assert "REDIS_URL" in err.getvalue()


def test_one_worker_gets_no_warning(uvicorn_calls):
    err = StringIO()
    call_command("serve", "--workers", "1", stdout=StringIO(), stderr=err)
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers"),
        (["--port", "0"], "--port"),
        (["--port", "70000"], "--port"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(uvicorn_calls, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("serve", *args, stdout=StringIO(), stderr=StringIO())
    assert uvicorn_calls == []
