"""Test settings: the production settings with a throwaway key and fast hashing."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "parta-tests-only")
os.environ.setdefault("PARTA_DATA_DIR", tempfile.mkdtemp(prefix="parta-tests-"))

from parta.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
