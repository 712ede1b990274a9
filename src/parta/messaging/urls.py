from django.urls import URLPattern, path

from parta.messaging import views

app_name = "messaging"
urlpatterns: list[URLPattern] = [
    path("", views.conversation_list, name="list"),
    path("new/", views.conversation_new, name="new"),
    path("letters/<int:organization_id>/", views.letter_to_heads, name="letter"),
    path("<int:pk>/", views.conversation_detail, name="conversation"),
    path("<int:pk>/join/", views.join_channel, name="join"),
    path("<int:pk>/direct/", views.direct_chat, name="direct"),
    path("<int:pk>/pin/", views.pin_chat, name="pin"),
    path("message/<int:pk>/", views.message_action, name="message-action"),
    path("file/<int:pk>/", views.attachment_file, name="attachment"),
    path("file/<int:pk>/preview/", views.attachment_preview, name="attachment-preview"),
]
