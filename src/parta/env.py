"""Settings read from the environment, typed: a bad value stops start-up with its name.

An empty value counts as unset (a systemd env file's `NAME=`), so the default applies.
Strings come as given (a password may end in a space); numbers and switches are stripped.
"""

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_Number = TypeVar("_Number", int, float)


def _raw(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1, true, yes, on, 0, false, no, off.")


def _parsed(name: str, parse: Callable[[str], _Number], kind: str) -> _Number | None:
    value = _raw(name)
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind}, not {value!r}.") from None


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Counts, sizes and durations: none of them makes sense below zero."""
    number = _parsed(name, int, "a whole number")
    if number is None:
        return default
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bounds}, not {number}.")
    return number


def env_float(name: str, default: float) -> float:
    """Timeouts: zero would never wait."""
    number = _parsed(name, float, "a number")
    if number is None:
        return default
    if not number > 0:
        raise ImproperlyConfigured(f"{name} must be above 0, not {number}.")
    return number


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks around and between the commas are dropped."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]
