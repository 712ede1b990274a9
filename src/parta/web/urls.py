from django.urls import path

from parta.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("my/organizations/", views.my_organizations, name="my-organizations"),
]
