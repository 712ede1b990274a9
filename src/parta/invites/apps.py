from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvitesConfig(AppConfig):
    name = "parta.invites"
    verbose_name = _("Приглашения и заявки")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from parta.accounts.signals import person_merged
        from parta.invites.joining import on_person_merged

        # A merged record's other invitations follow it to the account.
        person_merged.connect(on_person_merged, dispatch_uid="parta.invites.person_merged")
