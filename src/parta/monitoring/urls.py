from django.urls import path, re_path

from parta.monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.dashboard_home, name="home"),
    re_path(
        r"^(?P<level>organization|district|region|platform)/(?P<ref>[^/]+)/$",
        views.dashboard,
        name="dashboard",
    ),
    re_path(r"^report\.(?P<fmt>csv|xlsx)$", views.report_download, name="report-download"),
]
