from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "parta.monitoring"
    verbose_name = _("Мониторинг")

    def ready(self) -> None:
        from parta.messaging.signals import messages_written
        from parta.monitoring.tallies import on_messages_written

        messages_written.connect(on_messages_written, dispatch_uid="monitoring.tallies")
