from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RealtimeConfig(AppConfig):
    name = "parta.realtime"
    verbose_name = _("События в реальном времени")

    def ready(self) -> None:
        from parta.realtime.sessions import connect_signals

        connect_signals()
