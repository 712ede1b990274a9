from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "parta.support"
    verbose_name = _("Служба поддержки")
    default_auto_field = "django.db.models.BigAutoField"
