from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "parta.messaging"
    verbose_name = _("Сообщения")

    def ready(self) -> None:
        from parta.accounts.signals import class_moved, person_merged
        from parta.invites.signals import admitted
        from parta.messaging.services import on_admitted, on_class_moved, on_person_merged

        admitted.connect(on_admitted, dispatch_uid="parta.messaging.welcome")
        class_moved.connect(on_class_moved, dispatch_uid="parta.messaging.class_moved")
        person_merged.connect(on_person_merged, dispatch_uid="parta.messaging.person_merged")
