from django.urls import path

from parta.roster import views

app_name = "roster"
urlpatterns = [
    path("org/<int:organization_id>/roster/", views.upload, name="upload"),
    path("roster/<int:import_id>/", views.preview, name="preview"),
    path("roster/<int:import_id>/confirm/", views.confirm, name="confirm"),
]
