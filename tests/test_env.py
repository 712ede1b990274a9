"""Environment settings are typed: a bad value stops start-up and names the variable."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from parta.env import env_bool, env_float, env_int, env_list, env_str


def test_unset_and_empty_values_take_the_default(monkeypatch):
    monkeypatch.delenv("PARTA_TEST_VALUE", raising=False)
    assert env_int("PARTA_TEST_VALUE", 7) == 7
    monkeypatch.setenv("PARTA_TEST_VALUE", "")
    assert env_int("PARTA_TEST_VALUE", 7) == 7
    assert env_bool("PARTA_TEST_VALUE", True) is True
    assert env_str("PARTA_TEST_VALUE", "parta") == "parta"
    assert env_list("PARTA_TEST_VALUE", "a,b") == ["a", "b"]
    assert env_float("PARTA_TEST_VALUE", 1.5) == 1.5


def test_values_are_read_as_their_type(monkeypatch):
    monkeypatch.setenv("PARTA_TEST_VALUE", " 42 ")
    assert env_int("PARTA_TEST_VALUE", 7) == 42
    assert env_float("PARTA_TEST_VALUE", 1.5) == 42.0
    monkeypatch.setenv("PARTA_TEST_VALUE", "Off")
    assert env_bool("PARTA_TEST_VALUE", True) is False
    monkeypatch.setenv("PARTA_TEST_VALUE", "yes")
    assert env_bool("PARTA_TEST_VALUE") is True
    monkeypatch.setenv("PARTA_TEST_VALUE", " RU, KZ,,BY ")
    assert env_list("PARTA_TEST_VALUE") == ["RU", "KZ", "BY"]
    # A password may begin or end with a space: strings come as given.
    monkeypatch.setenv("PARTA_TEST_VALUE", " secret ")
    assert env_str("PARTA_TEST_VALUE") == " secret "


@pytest.mark.parametrize(
    ("read", "value", "message"),
    [
        (lambda: env_int("PARTA_TEST_VALUE", 7), "ten", "PARTA_TEST_VALUE must be a whole number"),
        (lambda: env_int("PARTA_TEST_VALUE", 7), "-1", "PARTA_TEST_VALUE must be at least 0"),
        (
            lambda: env_int("PARTA_TEST_VALUE", 7, maximum=23),
            "24",
            "PARTA_TEST_VALUE must be from 0 to 23",
        ),
        (lambda: env_bool("PARTA_TEST_VALUE"), "maybe", "PARTA_TEST_VALUE must be one of"),
        (lambda: env_float("PARTA_TEST_VALUE", 1.5), "soon", "PARTA_TEST_VALUE must be a number"),
        (lambda: env_float("PARTA_TEST_VALUE", 1.5), "0", "PARTA_TEST_VALUE must be above 0"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch, read, value, message):
    monkeypatch.setenv("PARTA_TEST_VALUE", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        read()


def test_a_bad_setting_stops_start_up_with_its_name(tmp_path):
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DEBUG": "1",
        "PARTA_DATA_DIR": str(tmp_path),
        "PARTA_JOBS_WORKERS": "two",
    }
    result = subprocess.run(
        [sys.executable, "-m", "parta.manage", "check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "PARTA_JOBS_WORKERS must be a whole number, not 'two'." in result.stderr
