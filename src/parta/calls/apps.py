from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "parta.calls"
    verbose_name = _("Звонки")

    def ready(self) -> None:
        from parta.calls import checks  # noqa: F401 — registers the Janus check
