from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "parta.notifications"
    verbose_name = _("Уведомления")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from parta.invites.signals import rejected
        from parta.notifications import jobs, services
        from parta.realtime.services import listen

        listen(jobs.on_published)
        rejected.connect(jobs.on_rejected, dispatch_uid="parta.notifications.jobs.rejected")
        user_logged_out.connect(
            services.on_sign_out, dispatch_uid="parta.notifications.services.sign_out"
        )
