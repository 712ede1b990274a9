from django.urls import path

from parta.structure import views

app_name = "structure"
urlpatterns = [
    path("<int:organization_id>/profile/", views.profile, name="profile"),
    path("<int:organization_id>/classes/", views.classes, name="classes"),
    path("<int:organization_id>/classes/<int:class_id>/", views.class_edit, name="class-edit"),
]
