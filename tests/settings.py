"""Test settings: the production settings with a throwaway key and fast hashing."""

import os
import tempfile
import uuid

os.environ.setdefault("SECRET_KEY", "parta-tests-only")
os.environ.setdefault("PARTA_DATA_DIR", tempfile.mkdtemp(prefix="parta-tests-"))
# On Redis, the keys of this test run's own: its cache (tests.caches.clear_cache deletes only
# these), socket groups and job queue, in this process and in the servers and job runners it
# starts (they inherit the environment), apart from anyone else's on the same database.
RUN_PREFIX = f"parta-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
for variable in ("PARTA_CACHE_PREFIX", "PARTA_CHANNELS_PREFIX", "PARTA_JOBS_PREFIX"):
    os.environ[variable] = RUN_PREFIX

# A real Janus (.ci/run starts one and exports its PARTA_JANUS_* settings) is for the test
# that asks for it (tests/browser/test_janus_call.py passes these to its server); the rest
# of the suite keeps its mesh calls and its fake Janus, as on a machine without one.
JANUS_ENV = {
    name: os.environ.pop(name) for name in list(os.environ) if name.startswith("PARTA_JANUS_")
}

from parta.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

if DATABASES["default"]["ENGINE"] == "parta.sqlite":  # noqa: F405
    # A file, as in production: a second writer then waits (BEGIN IMMEDIATE + timeout)
    # instead of in-memory shared cache's instant "table is locked", so thread tests run.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.mkdtemp(prefix="parta-testdb-"), "test.sqlite3")
    }
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
