"""Settings read from the environment, typed: a bad value stops start-up with its name.

An empty value counts as unset (a systemd env file's `NAME=`), so the default applies.
Strings come as given (a password may end in a space); numbers and switches are stripped.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Counts, sizes and durations: none of them makes sense below zero."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bounds}, not {number}.")
    return number


def env_float(name: str, default: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None
    if not number > 0:
        raise ImproperlyConfigured(f"{name} must be above 0, not {value}.")
    return number


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks around and between the commas are dropped."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]
