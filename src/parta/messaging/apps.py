from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "parta.messaging"
    verbose_name = _("Сообщения")

    def ready(self) -> None:
        from parta.invites.signals import admitted
        from parta.messaging.services import on_admitted

        admitted.connect(on_admitted, dispatch_uid="parta.messaging.welcome")
