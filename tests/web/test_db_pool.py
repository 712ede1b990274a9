"""PostgreSQL as shipped: a server's connections come from a pool and go back to it. Under
ASGI each request runs in a thread of its own, so without the pool every request opened a
connection (and with DATABASE_CONN_MAX_AGE left one behind): a burst ran PostgreSQL out of
them («too many clients», HTTP 500 in the live-path benchmark)."""

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import make_person
from tests.realtime.servers import server_env, uvicorn_processes
from tests.realtime.sockets import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

POOL_SIZE = 4
BURST = 40
APP_NAME = "parta-pool-test"


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's: set DATABASE_URL")


def _server_connections() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s",
            [APP_NAME],
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_the_default_settings_pool_postgresql_connections():
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    assert pool["max_size"] == settings.DATABASE_POOL_SIZE == 10
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0


def test_a_burst_of_requests_shares_the_pools_few_connections(tmp_path):
    cookie = session_cookie(make_person())
    env = server_env(PARTA_DB_POOL_SIZE=str(POOL_SIZE), PGAPPNAME=APP_NAME)
    with uvicorn_processes(env, tmp_path, 1) as [(port, _process)]:

        def get(_: int) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/messaging/conversations",
                headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status

        with ThreadPoolExecutor(BURST) as clients:
            assert list(clients.map(get, range(BURST))) == [200] * BURST
            after_first = _server_connections()
            assert list(clients.map(get, range(BURST))) == [200] * BURST
            after_second = _server_connections()
    # The connections stayed open for the next requests, no more of them than the pool
    # holds, and the second burst was served by the same ones.
    assert 1 <= len(after_first) <= POOL_SIZE
    assert after_second == after_first
