from django.urls import URLPattern, path

from parta.calls import views

app_name = "calls"
urlpatterns: list[URLPattern] = [
    path("", views.my_calls, name="mine"),
    path("start/", views.start, name="start"),
    path("broadcast/", views.start_broadcast, name="start-broadcast"),
    path("link/", views.link, name="link"),
    path("<int:pk>/", views.call_page, name="call"),
    path("<int:pk>/guest/", views.guest, name="guest"),
]
