from django.urls import path

from parta.schools import views

# The names these pages had when they lived in structure: links everywhere use them.
app_name = "structure"
urlpatterns = [
    path("<int:organization_id>/profile/", views.profile, name="profile"),
    path("<int:organization_id>/classes/", views.classes, name="classes"),
    path("<int:organization_id>/classes/<int:class_id>/", views.class_edit, name="class-edit"),
]
