from django.urls import path

from parta.support import views

app_name = "support"
urlpatterns = [
    path("", views.help_page, name="help"),
    path("org/<int:organization_id>/admin-change/", views.file_request, name="file"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("desk/", views.desk, name="desk"),
    path("desk/<int:pk>/take/", views.take, name="take"),
    path("desk/<int:pk>/approve/", views.approve, name="approve"),
    path("desk/<int:pk>/reject/", views.reject, name="reject"),
]
