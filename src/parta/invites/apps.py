from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvitesConfig(AppConfig):
    name = "parta.invites"
    verbose_name = _("Приглашения и заявки")
    default_auto_field = "django.db.models.BigAutoField"
