"""`parta check --deploy` is clean with deploy/systemd/parta.env.example, and nginx's
example sends the same HSTS as Parta's settings."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EXAMPLE_ENV = DEPLOY / "systemd" / "parta.env.example"


def example_env() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in EXAMPLE_ENV.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {key: value for key, value in pairs}


def check_deploy(env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    # Only the example's settings: nothing from the test run (DJANGO_SETTINGS_MODULE, DEBUG).
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir),
        **env,
        # What the operator does first, as the example says: a real key, their own data dir.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PARTA_DATA_DIR": str(data_dir),
    }
    command = [sys.executable, "-m", "parta.manage", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(  # noqa: S603
        command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_is_clean_with_the_production_example(tmp_path):
    env = example_env()
    assert env["PARTA_SSL_REDIRECT"] == "1"
    result = check_deploy(env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_an_env_without_https_settings_lacks(tmp_path):
    env = example_env()
    for name in ("PARTA_SSL_REDIRECT", "PARTA_HSTS_SECONDS", "PARTA_HSTS_INCLUDE_SUBDOMAINS"):
        del env[name]
    result = check_deploy(env, tmp_path)
    assert result.returncode == 1
    assert "security.W004" in result.stderr  # HSTS
    assert "security.W008" in result.stderr  # SSL redirect


def test_nginx_sends_the_same_hsts_on_every_https_response():
    conf = (DEPLOY / "nginx" / "parta.conf").read_text()
    env = example_env()
    max_age = env["PARTA_HSTS_SECONDS"]
    hsts = f'add_header Strict-Transport-Security "max-age={max_age}; includeSubDomains" always;'
    https_server = conf[conf.index("listen 443") :]
    # add_header in a location replaces the server's: each such location repeats HSTS.
    blocks = re.findall(r"location [^{]+\{[^}]*\}", https_server)
    assert https_server.count(hsts) == 1 + sum("add_header" in block for block in blocks)
    for block in blocks:
        if "add_header" in block:
            assert hsts in block
        if "proxy_pass" in block:
            # Parta's own copy is dropped, so a response carries one HSTS header.
            assert "proxy_hide_header Strict-Transport-Security;" in block
