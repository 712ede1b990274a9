from django.urls import URLPattern, path

from parta.notifications import views

app_name = "notifications"

urlpatterns: list[URLPattern] = [
    path("sw.js", views.service_worker, name="service-worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("offline/", views.offline, name="offline"),
    path("notifications/settings/", views.settings_page, name="settings"),
    path(
        "notifications/conversations/<int:conversation_id>/",
        views.chat_notifications,
        name="chat",
    ),
]
