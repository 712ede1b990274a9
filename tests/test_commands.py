"""Parta's commands that serve no request skip the URL checks, which import every URLconf
and the whole API (parta.commands.OFFLINE_CHECKS); the server keeps every check."""

from django.core.checks import Tags
from django.core.management import get_commands, load_command_class
from django.core.management.base import ALL_CHECKS

SERVING = {"serve"}


def _parta_commands() -> dict[str, str]:
    return {name: app for name, app in get_commands().items() if app.startswith("parta.")}


def test_offline_commands_run_every_check_but_the_url_ones():
    commands = _parta_commands()
    assert {"report", "import_activity", "send_digests", "serve"} <= commands.keys()
    for name, app in commands.items():
        checks = load_command_class(app, name).requires_system_checks
        if name in SERVING:
            assert checks == ALL_CHECKS, name
        else:
            assert Tags.urls not in checks, name
            assert {Tags.models, Tags.database, Tags.security, Tags.templates} <= set(checks), name
