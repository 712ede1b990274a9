"""`parta check`: a Janus that is configured but does not answer is worth a warning (calls
then fail to reach their room; with no Janus configured every call is a mesh, no warning)."""

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from parta.calls.janus import JanusClient, JanusError, janus_config

# Its own tag, so the commands that serve no request (parta.commands.OFFLINE_CHECKS) skip it.
JANUS_TAG = "janus"


@register(JANUS_TAG)
def janus_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    config = janus_config()
    if config is None:
        return []
    missing = [
        name
        for name, value in (
            ("PARTA_JANUS_API_SECRET", config.api_secret),
            ("PARTA_JANUS_ADMIN_KEY", config.admin_key),
            ("PARTA_JANUS_TOKEN_SECRET", config.token_secret),
        )
        if not value
    ]
    if missing:
        return [
            Warning(
                f"PARTA_JANUS_URL is set but {', '.join(missing)} is not: Janus will refuse "
                "Parta's rooms or the browsers' tokens.",
                id="calls.W002",
            )
        ]
    try:
        JanusClient(config).info()
    except JanusError as failure:
        return [
            Warning(
                f"Janus at {config.url} does not answer ({failure}): calls on Janus will not "
                "connect.",
                hint="Start Janus (deploy/janus/) or unset PARTA_JANUS_URL to keep calls mesh.",
                id="calls.W001",
            )
        ]
    return []
